/// <reference types="node" />
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebhookResponse } from './webhook-request.js';

/**
 * Writes core's {@link WebhookResponse} to a Node `ServerResponse`. A request
 * whose body was left unread (refused before reading, or cut at the limit) is
 * answered with `connection: close`: the unread bytes are never drained, and the
 * connection is not reused for a next request they would corrupt.
 */
export function writeNodeResponse(
  req: IncomingMessage,
  res: ServerResponse,
  response: WebhookResponse,
): void {
  if (!req.complete) res.setHeader('connection', 'close');
  // With its length given, the answer is not sent chunked.
  const headers = {
    ...response.headers,
    'content-length': String(Buffer.byteLength(response.body)),
  };
  res.writeHead(response.status, headers).end(response.body);
}

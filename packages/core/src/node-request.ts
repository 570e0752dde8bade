/// <reference types="node" />
import type { IncomingMessage } from 'node:http';
import type { WebhookBody, WebhookRequest } from './webhook-request.js';
import { readBodyWithLimit } from './webhook-request.js';

/** Options for {@link fromNodeRequest}. */
export interface NodeRequestOptions {
  /** The socket peer's address. Defaults to `req.socket.remoteAddress`. */
  peerAddress?: string | null | undefined;
  /**
   * The body, when a framework's body parser already read it. Defaults to
   * reading `req` itself, lazily and within the limit.
   */
  body?: WebhookBody;
}

/**
 * Wraps a Node `IncomingMessage` as a {@link WebhookRequest}. The body is read
 * only when core asks for it (after the IP and credentials passed) and never past
 * the limit. A header sent several times is answered joined with `, `, so two
 * `Authorization` headers never pass as one.
 *
 * @example
 * const response = await webhooks.handle(fromNodeRequest(req));
 * writeNodeResponse(req, res, response);
 */
export function fromNodeRequest(
  req: IncomingMessage,
  options: NodeRequestOptions = {},
): WebhookRequest {
  const raw = req.rawHeaders;
  return {
    method: req.method ?? '',
    header: (name) => headerOf(raw, name),
    body: options.body ?? ((maxBytes) => readBodyWithLimit(unread(req), maxBytes)),
    peerAddress: 'peerAddress' in options ? options.peerAddress : req.socket?.remoteAddress,
  };
}

// Node's `req.headers` keeps only the first of some repeated headers (Authorization
// among them) and drops the rest; the raw list has every one.
function headerOf(raw: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i] as string;
    if (key.length === name.length && key.toLowerCase() === name) {
      const next = raw[i + 1] as string;
      value = value === undefined ? next : `${value}, ${next}`;
    }
  }
  return value;
}

// Node destroys a stream (and the socket the 413 goes out on) when a for-await loop
// stops early; an iterator without return() leaves it paused instead.
function unread(req: IncomingMessage): AsyncIterable<Uint8Array> {
  const chunks = req[Symbol.asyncIterator]();
  return { [Symbol.asyncIterator]: () => ({ next: () => chunks.next() }) };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { C2pError } from '@c2p/core';
import type { DeliveryHandler, WebhookBody } from '@c2p/core/kit';
import { fromNodeRequest, writeNodeResponse } from '@c2p/core/node';

type Request = IncomingMessage & {
  body?: unknown;
  path?: string;
  baseUrl?: string;
  originalUrl?: string;
  route?: { path?: unknown };
};
type Next = (error?: unknown) => void;

/** Options for {@link createExpressHandler}. */
export interface ExpressHandlerOptions {
  /** The socket peer. Defaults to `req.socket.remoteAddress`; never pass `req.ip` (see the README). */
  getPeerAddress?: (req: IncomingMessage) => string | undefined;
}

/** The request handler, then the handler for errors of body parsers that ran before it. */
export type ExpressWebhookHandler = [
  (req: Request, res: ServerResponse, next: Next) => void,
  (error: unknown, req: Request, res: ServerResponse, next: Next) => void,
];

/**
 * Express 4 and 5 middleware: hands each request to `webhooks` and writes out its answer.
 *
 * @example
 * app.all('/webhooks/clik2pay', createExpressHandler(webhooks)); // before app.use(express.json())
 */
export function createExpressHandler(
  webhooks: DeliveryHandler,
  options: ExpressHandlerOptions = {},
): ExpressWebhookHandler {
  const peer = options.getPeerAddress ?? ((req) => req.socket.remoteAddress);
  const answer = (req: Request, res: ServerResponse, next: Next, body?: WebhookBody) => {
    if (!isExactPath(req)) return next();
    // `handle` never rejects; a throw while writing (headers already sent) goes to Express.
    webhooks
      .handle(fromNodeRequest(req, { peerAddress: peer(req), body }))
      .then((response) => writeNodeResponse(req, res, response))
      .catch(next);
  };
  return [
    // Unread, core reads the stream itself (lazily, within the limit); else a body parser ran first.
    (req, res, next) => answer(req, res, next, req.readableEnded ? parsedBody(req) : undefined),
    (error, req, res, next) => {
      const type = (error as { type?: unknown } | null)?.type;
      if (type === 'entity.too.large') answer(req, res, next, tooLarge);
      else if (type === 'entity.parse.failed')
        answer(req, res, next, String((error as { body?: unknown }).body ?? ''));
      else next(error);
    },
  ];
}

// Express matches routes case-insensitively and with a trailing slash; c2p answers only
// the path as configured, and leaves any other spelling to the next route (a 404).
function isExactPath(req: Request): boolean {
  const route = req.route?.path;
  if (typeof route === 'string') return /[:*(]/.test(route) || req.path === route;
  // Mounted with app.use(path): the mount path itself, without a trailing slash.
  return req.path === '/' && req.originalUrl?.split('?')[0] === req.baseUrl;
}

// Bytes and text as they are, a parsed object re-serialised (express.json() turns an
// empty body into {}: zero bytes declared stay zero bytes).
function parsedBody(req: Request): WebhookBody {
  const { body } = req;
  if (req.headers['content-length'] === '0' || body === undefined) return '';
  if (body instanceof Uint8Array || typeof body === 'string') return body;
  try {
    return JSON.stringify(body);
  } catch {
    // Nested too deep to re-serialise: core answers it as a body it could not read (400).
    return unreadable;
  }
}

async function unreadable(): Promise<never> {
  throw new Error('the parsed body cannot be re-serialised');
}

async function tooLarge(): Promise<never> {
  throw new C2pError('PAYLOAD_TOO_LARGE');
}

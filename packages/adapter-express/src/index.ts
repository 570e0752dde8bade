import type { IncomingMessage, ServerResponse } from 'node:http';
import { C2pError, type WebhookRequest, type Webhooks } from '@c2p/core';
import { readBodyWithLimit } from '@c2p/core/kit';

type Request = IncomingMessage & { body?: unknown };
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
  webhooks: Webhooks,
  options: ExpressHandlerOptions = {},
): ExpressWebhookHandler {
  const peer = options.getPeerAddress ?? ((req) => req.socket.remoteAddress);
  const answer = (req: Request, res: ServerResponse, next: Next, body: WebhookRequest['body']) => {
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    webhooks
      .handle({ method: req.method ?? '', header, body, peerAddress: peer(req) })
      .then((response) => {
        // A body left unread (refused, or cut at the limit) is never drained: close once answered.
        if (!req.complete) res.setHeader('connection', 'close');
        res.writeHead(response.status, response.headers).end(response.body);
      }, next);
  };
  return [
    (req, res, next) => {
      if (!req.readableEnded)
        return answer(req, res, next, (max) => readBodyWithLimit(unread(req), max));
      // A body parser ran first: bytes and text as they are, a parsed object re-serialised
      // (express.json() turns an empty body into {}: zero bytes declared stay zero bytes).
      const { body } = req;
      if (req.headers['content-length'] === '0') return answer(req, res, next, '');
      const raw =
        body instanceof Uint8Array || typeof body === 'string' ? body : JSON.stringify(body);
      answer(req, res, next, raw ?? '');
    },
    (error, req, res, next) => {
      const type = (error as { type?: unknown } | null)?.type;
      if (type === 'entity.too.large') {
        answer(req, res, next, async () => {
          throw new C2pError('PAYLOAD_TOO_LARGE');
        });
      } else if (type === 'entity.parse.failed') {
        answer(req, res, next, String((error as { body?: unknown }).body ?? ''));
      } else next(error);
    },
  ];
}

// Node destroys a stream (and the socket the 413 goes out on) when a for-await loop
// stops early; an iterator without return() leaves it paused instead.
function unread(req: IncomingMessage): AsyncIterable<Uint8Array> {
  const chunks = req[Symbol.asyncIterator]();
  return { [Symbol.asyncIterator]: () => ({ next: () => chunks.next() }) };
}

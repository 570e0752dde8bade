/// <reference types="node" />
import type { IncomingMessage } from 'node:http';
import { C2pError } from './errors.js';
import type { WebhookBody, WebhookRequest } from './webhook-request.js';

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
    body: options.body ?? ((maxBytes) => readNodeBody(req, maxBytes)),
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

const encoder = new TextEncoder();

/**
 * Reads `req` within `maxBytes` from its events (an async iterator over a Node
 * stream costs several promises per chunk). Past the limit it stops reading and
 * leaves the stream paused, not destroyed, so the 413 can still go out on its
 * socket; a stream that fails or closes before its end rejects.
 */
function readNodeBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  if (req.readableEnded) return Promise.resolve(new Uint8Array(0));
  // Destroyed already, it will emit nothing more: waiting would never end.
  if (req.destroyed) return Promise.reject(new Error('the request closed before its body ended'));
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let settled = false;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      // The error listener stays, a no-op from now on: nothing can throw out of it later.
      if (error !== undefined) reject(error);
      else resolve(chunks.length === 1 ? (chunks[0] as Uint8Array) : concat(chunks, total));
    };
    const onData = (chunk: Uint8Array | string): void => {
      const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
      total += bytes.byteLength;
      if (total > maxBytes) {
        req.pause();
        settle(new C2pError('PAYLOAD_TOO_LARGE'));
      } else chunks.push(bytes);
    };
    const onEnd = (): void => settle();
    const onClose = (): void => settle(new Error('the request closed before its body ended'));
    req.on('error', settle);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('data', onData);
  });
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

import { C2pError } from './errors.js';
import type { RawBody } from './parse-events.js';

/**
 * A delivery body, or a function that reads it. Adapters that can stream pass
 * the function: the pipeline calls it only after the IP and credentials passed,
 * with the size limit, so an unauthenticated or oversized body is never buffered.
 * The reader throws `C2pError('PAYLOAD_TOO_LARGE')` past the limit.
 */
export type WebhookBody =
  | RawBody
  | undefined
  | ((maxBytes: number) => Promise<RawBody | undefined>);

/** The neutral request an adapter hands to core. */
export interface WebhookRequest {
  /** The HTTP method, any case. */
  method: string;
  /** Looks up one request header by lower-case name; several values joined by `, `. */
  header(name: string): string | null | undefined;
  body: WebhookBody;
  /** The socket peer's address (never a forwarded one; core applies the proxy rule). */
  peerAddress: string | null | undefined;
}

/** What core decided; the adapter writes it out as it is. */
export interface WebhookResponse {
  status: number;
  headers: Readonly<Record<string, string>>;
  /** JSON text. */
  body: string;
}

/**
 * Reads a byte stream (a Web `ReadableStream`, a Node request, any async
 * iterable of bytes) up to `maxBytes`, and throws `C2pError('PAYLOAD_TOO_LARGE')`
 * as soon as it would go past, without buffering the rest.
 */
export async function readBodyWithLimit(
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string> | null | undefined,
  maxBytes: number,
): Promise<Uint8Array> {
  if (source == null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const add = (chunk: Uint8Array | string): void => {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
    total += bytes.byteLength;
    if (total > maxBytes) throw new C2pError('PAYLOAD_TOO_LARGE');
    chunks.push(bytes);
  };
  if ('getReader' in source) {
    const reader = source.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        add(value);
      }
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error;
    }
  } else {
    for await (const chunk of source) add(chunk);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Wraps a Web `Request` (Hono, Bun, Deno, Workers) as a {@link WebhookRequest}.
 * The body is read lazily and within the limit.
 */
export function fromWebRequest(
  request: Request,
  peerAddress: string | null | undefined,
): WebhookRequest {
  return {
    method: request.method,
    header: (name) => request.headers.get(name),
    body: (maxBytes) => readBodyWithLimit(request.body, maxBytes),
    peerAddress,
  };
}

/** Turns core's {@link WebhookResponse} into a Web `Response`. */
export function toWebResponse(response: WebhookResponse): Response {
  return new Response(response.body, { status: response.status, headers: response.headers });
}

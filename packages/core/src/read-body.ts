import { isC2pError } from './errors.js';
import type { RawBody } from './parse-events.js';
import type { WebhookRequest } from './webhook-request.js';

/** The body within the limit, or the code that refuses it. */
export type ReadBodyResult =
  | { readonly ok: true; readonly body: RawBody }
  | { readonly ok: false; readonly code: 'PAYLOAD_TOO_LARGE' | 'INVALID_JSON' };

/**
 * Reads the body within `maxBytes`: a declared `Content-Length` over the limit is
 * refused before any byte is read, a lazy reader is given the limit, and a body
 * handed over whole is measured in UTF-8 bytes. A reader that fails otherwise
 * (the client went away, a broken stream) reads as no JSON.
 */
export async function readBody(request: WebhookRequest, maxBytes: number): Promise<ReadBodyResult> {
  const declared = request.header('content-length');
  if (declared && Number(declared) > maxBytes) return { ok: false, code: 'PAYLOAD_TOO_LARGE' };
  let body: RawBody | undefined;
  try {
    body = typeof request.body === 'function' ? await request.body(maxBytes) : request.body;
  } catch (error) {
    return {
      ok: false,
      code: isC2pError(error, 'PAYLOAD_TOO_LARGE') ? 'PAYLOAD_TOO_LARGE' : 'INVALID_JSON',
    };
  }
  if (body === undefined) return { ok: true, body: '' };
  return exceeds(body, maxBytes) ? { ok: false, code: 'PAYLOAD_TOO_LARGE' } : { ok: true, body };
}

/**
 * Did the request come with a body? A `Content-Length` other than 0, or a
 * `Transfer-Encoding` (chunked).
 */
export function hasBody(request: WebhookRequest): boolean {
  const declared = request.header('content-length');
  if (declared != null && declared !== '') return declared.trim() !== '0';
  return request.header('transfer-encoding') != null;
}

function exceeds(body: RawBody, maxBytes: number): boolean {
  if (typeof body !== 'string') return body.byteLength > maxBytes;
  // UTF-8 takes at least one byte and at most three per UTF-16 unit.
  if (body.length > maxBytes) return true;
  if (body.length * 3 <= maxBytes) return false;
  return new TextEncoder().encode(body).byteLength > maxBytes;
}

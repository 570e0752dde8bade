import { isC2pError } from './errors.js';
import type { RawBody } from './parse-events.js';
import type { WebhookBody, WebhookRequest } from './webhook-request.js';

/** The body within the limit, or the code that refuses it. */
export type ReadBodyResult =
  | { readonly ok: true; readonly body: RawBody }
  | { readonly ok: false; readonly code: 'PAYLOAD_TOO_LARGE' | 'INVALID_JSON' };

/**
 * Reads a lazily read body within `maxBytes`: a declared `Content-Length` over
 * the limit is refused before any byte is read, and the reader is given the
 * limit. A reader that fails otherwise (the client went away, a broken stream)
 * reads as no JSON. A body handed over whole goes to {@link checkBody} instead.
 */
export async function readBody(
  request: WebhookRequest & { body: Extract<WebhookBody, (maxBytes: number) => unknown> },
  maxBytes: number,
): Promise<ReadBodyResult> {
  if (declaredOver(request, maxBytes)) return tooLarge;
  let body: RawBody | undefined;
  try {
    body = await request.body(maxBytes);
  } catch (error) {
    return isC2pError(error, 'PAYLOAD_TOO_LARGE') ? tooLarge : { ok: false, code: 'INVALID_JSON' };
  }
  return measured(body, maxBytes);
}

/** {@link readBody} for a body handed over whole (not a reader): synchronous. */
export function checkBody(request: WebhookRequest, maxBytes: number): ReadBodyResult {
  if (declaredOver(request, maxBytes)) return tooLarge;
  return measured(request.body as RawBody | undefined, maxBytes);
}

const tooLarge: ReadBodyResult = { ok: false, code: 'PAYLOAD_TOO_LARGE' };

function declaredOver(request: WebhookRequest, maxBytes: number): boolean {
  const declared = request.header('content-length');
  return !!declared && Number(declared) > maxBytes;
}

function measured(body: RawBody | undefined, maxBytes: number): ReadBodyResult {
  if (body === undefined) return { ok: true, body: '' };
  return exceeds(body, maxBytes) ? tooLarge : { ok: true, body };
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

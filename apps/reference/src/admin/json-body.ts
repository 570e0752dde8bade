import type { IncomingMessage } from 'node:http';
import { badRequest, createAdminError } from './admin-error.js';

/** The largest JSON body an admin write route reads. */
export const jsonBodyLimit = 16 * 1024;

/**
 * Reads a write route's JSON body: `Content-Type: application/json`, at most
 * {@link jsonBodyLimit} bytes (413 beyond), valid JSON (400 otherwise).
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw createAdminError({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: 'The body must be JSON (Content-Type: application/json).',
    });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > jsonBodyLimit) {
      throw createAdminError({
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        message: `The body must be at most ${jsonBodyLimit} bytes.`,
      });
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('The body is not valid JSON.');
  }
}

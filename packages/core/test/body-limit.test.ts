import { expect, it } from 'vitest';
import { encodeBasicAuth } from '../src/basic-auth.js';
import { isC2pError } from '../src/errors.js';
import { createWebhooks } from '../src/index.js';
import { fromWebRequest, readBodyWithLimit } from '../src/kit.js';
import type { WebhookBody } from '../src/webhook-request.js';

// The limit is inclusive: a body of exactly maxBodyBytes is accepted, one byte more is
// refused, however the body arrives (text, bytes, a lazy reader, a stream, a declared length).

const credentials = { username: 'clik2pay', password: 's3cret' };
const LIMIT = 1_000;
const authorization = encodeBasicAuth(credentials.username, credentials.password);

/** A valid delivery padded with spaces to exactly `size` UTF-8 bytes. */
function bytesOf(size: number): Uint8Array {
  const json = JSON.stringify({
    eventType: 'PAYMENT-COMPLETED',
    resourceType: 'payment-request',
    resource: { id: `pr-${size}-${Math.random()}`, status: 'PAID' },
  });
  return new TextEncoder().encode(json + ' '.repeat(size - json.length));
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      // Two chunks: the limit is checked across chunks, not per chunk.
      controller.enqueue(bytes.slice(0, 500));
      controller.enqueue(bytes.slice(500));
      controller.close();
    },
  });
}

async function statusOf(body: WebhookBody, contentLength?: number): Promise<number> {
  const webhooks = createWebhooks({ credentials, allowedIps: ['loopback'], maxBodyBytes: LIMIT });
  const response = await webhooks.handle({
    method: 'POST',
    header: (name) =>
      name === 'authorization'
        ? authorization
        : name === 'content-length' && contentLength !== undefined
          ? String(contentLength)
          : undefined,
    body,
    peerAddress: '127.0.0.1',
  });
  return response.status;
}

const forms: Record<string, (bytes: Uint8Array) => Promise<number>> = {
  bytes: (bytes) => statusOf(bytes),
  text: (bytes) => statusOf(new TextDecoder().decode(bytes)),
  'a lazy reader of bytes': (bytes) => statusOf(async () => bytes),
  'a declared length and a lazy reader': (bytes) => statusOf(async () => bytes, bytes.byteLength),
  'a Web stream (fromWebRequest)': async (bytes) => {
    const webhooks = createWebhooks({ credentials, allowedIps: ['loopback'], maxBodyBytes: LIMIT });
    const request = new Request('http://localhost/hook', {
      method: 'POST',
      headers: { authorization },
      body: streamOf(bytes),
      duplex: 'half',
    } as RequestInit);
    return (await webhooks.handle(fromWebRequest(request, '127.0.0.1'))).status;
  },
};

for (const [name, send] of Object.entries(forms)) {
  it(`accepts exactly maxBodyBytes and refuses one byte more, as ${name}`, async () => {
    expect(await send(bytesOf(LIMIT))).toBe(200);
    expect(await send(bytesOf(LIMIT + 1))).toBe(413);
  });
}

it('reads a stream of exactly the limit, and throws PAYLOAD_TOO_LARGE one byte past it', async () => {
  expect((await readBodyWithLimit(streamOf(bytesOf(LIMIT)), LIMIT)).byteLength).toBe(LIMIT);
  const error = await readBodyWithLimit(streamOf(bytesOf(LIMIT + 1)), LIMIT).catch((e) => e);
  expect(isC2pError(error, 'PAYLOAD_TOO_LARGE')).toBe(true);
});

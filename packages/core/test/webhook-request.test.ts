import { describe, expect, it } from 'vitest';
import { encodeBasicAuth } from '../src/basic-auth.js';
import { createWebhooks } from '../src/create-webhooks.js';
import { isC2pError } from '../src/errors.js';
import { fromWebRequest, readBodyWithLimit, toWebResponse } from '../src/webhook-request.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function stream(chunks: Uint8Array[], pulled: { count: number; cancelled: boolean }) {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled.count++;
      const chunk = chunks[i++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
    cancel() {
      pulled.cancelled = true;
    },
  });
}

describe('readBodyWithLimit', () => {
  it('joins the chunks of a Web stream', async () => {
    const state = { count: 0, cancelled: false };
    const body = await readBodyWithLimit(stream([bytes('{"a"'), bytes(':1}')], state), 7);
    expect(new TextDecoder().decode(body)).toBe('{"a":1}');
  });

  it('stops at the first chunk past the limit and cancels the stream', async () => {
    const state = { count: 0, cancelled: false };
    const source = stream([bytes('12345'), bytes('6'), bytes('789')], state);
    const error = await readBodyWithLimit(source, 5).catch((e: unknown) => e);
    expect(isC2pError(error, 'PAYLOAD_TOO_LARGE')).toBe(true);
    expect(state.cancelled).toBe(true);
    expect(state.count).toBeLessThanOrEqual(3);
  });

  it('reads async iterables of bytes and strings, counting UTF-8 bytes', async () => {
    async function* chunks() {
      yield '€';
      yield bytes('ab');
    }
    expect(new TextDecoder().decode(await readBodyWithLimit(chunks(), 5))).toBe('€ab');
    const error = await readBodyWithLimit(chunks(), 4).catch((e: unknown) => e);
    expect(isC2pError(error, 'PAYLOAD_TOO_LARGE')).toBe(true);
  });

  it('answers empty bytes for no body', async () => {
    expect(await readBodyWithLimit(null, 10)).toEqual(new Uint8Array(0));
    expect(await readBodyWithLimit(undefined, 10)).toEqual(new Uint8Array(0));
  });
});

describe('fromWebRequest and toWebResponse', () => {
  const webhooks = createWebhooks({
    credentials: { username: 'u', password: 'p' },
    allowedIps: ['loopback'],
    maxBodyBytes: 300,
  });
  const event = { eventType: 'PAYMENT-COMPLETED', resource: { id: 'r1', status: 'PAID' } };

  it('carries a Web request through the pipeline and back', async () => {
    const request = new Request('https://example.com/webhooks', {
      method: 'POST',
      headers: { authorization: encodeBasicAuth('u', 'p'), 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    const response = toWebResponse(await webhooks.handle(fromWebRequest(request, '127.0.0.1')));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual({ received: 1, processed: 1, duplicates: 0 });
  });

  it('refuses a streamed body past the limit with 413', async () => {
    const request = new Request('https://example.com/webhooks', {
      method: 'POST',
      headers: { authorization: encodeBasicAuth('u', 'p') },
      body: 'x'.repeat(301),
    });
    const response = toWebResponse(await webhooks.handle(fromWebRequest(request, '127.0.0.1')));
    expect(response.status).toBe(413);
  });

  it('does not read the body of an unauthenticated request', async () => {
    const request = new Request('https://example.com/webhooks', {
      method: 'POST',
      body: JSON.stringify(event),
    });
    const response = toWebResponse(await webhooks.handle(fromWebRequest(request, '127.0.0.1')));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Basic realm="clik2pay", charset="UTF-8"',
    );
    expect(request.bodyUsed).toBe(false);
  });
});

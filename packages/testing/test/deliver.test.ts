import { setTimeout as delay } from 'node:timers/promises';
import { encodeBasicAuth, isC2pError } from '@c2p/core';
import { describe, expect, it } from 'vitest';
import { createBasicAuthorization } from '../src/create-basic-authorization.js';
import { createBody } from '../src/create-body.js';
import { createEvent } from '../src/create-event.js';
import type { DeliveryAttempt } from '../src/deliver.js';
import { deliver, deliverMany } from '../src/deliver.js';
import type { Listener } from './support/listener.js';
import {
  createSelfSignedCertificate,
  decodeBasic,
  freePort,
  listenClosingAfterEach,
  reply,
} from './support/listener.js';

const listen = listenClosingAfterEach();

const fast = { backoffMs: 1, timeoutMs: 2000 } as const;

describe('deliver', () => {
  it('POSTs JSON with a Basic header and stops at the first 2xx', async () => {
    const statuses = [503, 202, 200];
    const listener = await listen((_req, n, res) => reply(res, statuses[n] ?? 200));
    const body = createBody(createEvent());
    const result = await deliver({
      ...fast,
      url: listener.url,
      username: 'u',
      password: 'p',
      body,
    });

    expect(result.delivered).toBe(true);
    expect(result.attempts.map((a) => [a.attempt, a.outcome, a.status])).toEqual([
      [1, 'http-error', 503],
      [2, 'delivered', 202],
    ]);
    expect(listener.requests).toHaveLength(2);
    const [first] = listener.requests;
    expect(first?.method).toBe('POST');
    expect(first?.url).toBe('/webhooks/clik2pay');
    expect(first?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(first?.body ?? '')).toEqual(body);
    expect(decodeBasic(first?.headers.authorization)).toEqual({ username: 'u', password: 'p' });
    expect(result.attempts[0]?.responseBody).toBe('{"status":503}');
    expect(result.attempts[0]?.error).toBe('HTTP 503');
    expect(Date.parse(result.attempts[0]?.startedAt ?? '')).not.toBeNaN();
  });

  it('gives up after exactly three attempts in all', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 500));
    const seen: DeliveryAttempt[] = [];
    const result = await deliver({
      ...fast,
      url: listener.url,
      body: [createEvent()],
      onAttempt: (r) => seen.push(r),
    });
    expect(result.delivered).toBe(false);
    expect(result.attempts.map((a) => a.status)).toEqual([500, 500, 500]);
    expect(seen).toEqual(result.attempts);
    expect(listener.requests).toHaveLength(3);
  });

  it('treats a 3xx as not delivered', async () => {
    const listener = await listen((_req, n, res) => reply(res, n === 0 ? 301 : 204));
    const result = await deliver({ ...fast, url: listener.url, body: [createEvent()] });
    expect(result.attempts.map((a) => a.status)).toEqual([301, 204]);
  });

  it('retries after a timeout', async () => {
    const listener = await listen(async (_req, n, res) => {
      if (n === 0) await delay(1000);
      reply(res, 200);
    });
    const result = await deliver({ url: listener.url, body: '[]', backoffMs: 1, timeoutMs: 150 });
    expect(result.delivered).toBe(true);
    expect(result.attempts.map((a) => a.outcome)).toEqual(['timeout', 'delivered']);
    expect(result.attempts[0]?.error).toBe('timed out after 150 ms');
    expect(result.attempts[0]?.durationMs).toBeLessThan(900);
  });

  it('retries a refused connection, and delivers once the receiver is up', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/webhooks/clik2pay`;
    const refused = await deliver({ ...fast, url, body: '{}' });
    expect(refused.delivered).toBe(false);
    expect(refused.attempts.map((a) => a.outcome)).toEqual([
      'network-error',
      'network-error',
      'network-error',
    ]);
    expect(refused.attempts[0]?.error).toMatch(/^ECONNREFUSED/);

    let started: Promise<Listener> | undefined;
    const recovered = await deliver({
      url,
      body: '{}',
      backoffMs: 300,
      onAttempt: () => {
        started ??= listen((_req, _n, res) => reply(res, 200), { port });
      },
    });
    await started;
    expect(recovered.attempts.map((a) => a.outcome)).toEqual(['network-error', 'delivered']);
  });

  it('sends a string body byte for byte', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const raw = '[ {"eventType":"PAYMENT-COMPLETED", "resource":{"id":"x"}} ]\n';
    await deliver({ ...fast, url: listener.url, body: raw });
    expect(listener.requests[0]?.body).toBe(raw);
  });

  it('encodes usernames and passwords with colons and non-ASCII characters as UTF-8', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const username = 'clik2pay-café-支付';
    const password = 'pa:ss:wörd 🔑:';
    await deliver({ ...fast, url: listener.url, username, password, body: [] });
    const header = listener.requests[0]?.headers.authorization;
    expect(decodeBasic(header)).toEqual({ username, password });
    expect(header).toBe(
      `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`,
    );
    expect(createBasicAuthorization('Aladdin', 'open sesame')).toBe(
      'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==', // RFC 7617, section 2
    );
  });

  it('refuses a username with a colon, which Basic cannot carry', () => {
    expect(() => createBasicAuthorization('a:b', 'c')).toThrow(/cannot contain ":"/);
  });

  it("encodes exactly as core's encodeBasicAuth, NFC included, so sender and receiver agree", () => {
    const decomposed = { username: 'cafe\u0301', password: 'Mu\u0308nchen:🔑' };
    const header = createBasicAuthorization(decomposed.username, decomposed.password);
    expect(header).toBe(encodeBasicAuth(decomposed.username, decomposed.password));
    expect(decodeBasic(header)).toEqual({ username: 'caf\u00e9', password: 'M\u00fcnchen:🔑' });
  });

  it('sends no Authorization header without credentials, and X-Forwarded-For when asked', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    await deliver({ ...fast, url: listener.url, body: [], forwardedFor: '3.99.39.224, 10.0.0.1' });
    expect(listener.requests[0]?.headers.authorization).toBeUndefined();
    expect(listener.requests[0]?.headers['x-forwarded-for']).toBe('3.99.39.224, 10.0.0.1');
  });

  it('throws C2pError INVALID_OPTIONS carrying the option path and the problem apart', async () => {
    const error = await deliverMany({ url: 'http://x', bodies: [], order: 'sideways' as 'reverse' })
      .then(() => undefined)
      .catch((caught: unknown) => caught);
    expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
    expect(error).toMatchObject({
      path: 'options.order',
      problem: '"sideways" is not "as-given", "reverse" or "shuffle"',
      message: '[@c2p/testing] options.order: "sideways" is not "as-given", "reverse" or "shuffle"',
    });
    expect(() => createBasicAuthorization('a:b', 'c')).toThrow(
      expect.objectContaining({ path: 'username', code: 'INVALID_OPTIONS' }),
    );
    await expect(deliver({ url: 'http://x', body: [], username: 'a:b' })).rejects.toThrow(
      expect.objectContaining({ path: 'options.username' }),
    );
  });

  it('rejects bad options with a message naming the option', async () => {
    await expect(deliver({ url: 'ftp://x', body: [] })).rejects.toThrow(/options\.url/);
    await expect(deliver({ url: 'not a url', body: [] })).rejects.toThrow(/options\.url/);
    await expect(deliver({ url: 'http://x', body: [], attempts: 0 })).rejects.toThrow(
      /options\.attempts/,
    );
  });
});

describe('deliverMany', () => {
  it('sends duplicates, several at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const listener = await listen(async (_req, _n, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await delay(100);
      inFlight--;
      reply(res, 200);
    });
    const body = createBody(createEvent());
    const run = await deliverMany({
      ...fast,
      url: listener.url,
      bodies: [body],
      times: 3,
      concurrency: 3,
    });
    expect(run).toMatchObject({ ok: true, delivered: 3, failed: 0 });
    expect(peak).toBe(3);
    expect(new Set(listener.requests.map((r) => r.body))).toEqual(new Set([JSON.stringify(body)]));
  });

  it('sends out of order, and reports each delivery', async () => {
    const listener = await listen((req, _n, res) => reply(res, req.body === '"b"' ? 500 : 200));
    const run = await deliverMany({
      ...fast,
      url: listener.url,
      bodies: ['a', 'b', 'c'].map((s) => JSON.stringify(s)),
      order: 'reverse',
    });
    expect(listener.requests.map((r) => r.body)).toEqual(['"c"', '"b"', '"b"', '"b"', '"a"']);
    expect(run).toMatchObject({ ok: false, delivered: 2, failed: 1 });
    expect(
      run.deliveries.map((d) => [d.index, d.bodyIndex, d.delivered, d.attempts.length]),
    ).toEqual([
      [0, 2, true, 1],
      [1, 1, false, 3],
      [2, 0, true, 1],
    ]);

    const shuffled = await deliverMany({
      ...fast,
      url: listener.url,
      bodies: [1, 2, 3, 4],
      order: 'shuffle',
      random: () => 0,
    });
    expect(shuffled.deliveries.map((d) => d.bodyIndex)).toEqual([1, 2, 3, 0]);
  });
});

describe('deliver over HTTPS', () => {
  const tls = createSelfSignedCertificate();

  it('refuses a self-signed certificate unless told otherwise', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200), { tls });
    const result = await deliver({ ...fast, url: listener.url, body: [] });
    expect(result.delivered).toBe(false);
    expect(result.attempts).toHaveLength(3);
    expect(result.attempts[0]?.error).toMatch(/self[- ]signed/i);
    expect(listener.requests).toHaveLength(0);
  });

  it('trusts a given CA', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200), { tls });
    const result = await deliver({ ...fast, url: listener.url, body: [], ca: tls.cert });
    expect(result.attempts.map((a) => a.outcome)).toEqual(['delivered']);
    expect(listener.requests).toHaveLength(1);
  });

  it('skips verification only when asked', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200), { tls });
    const result = await deliver({ ...fast, url: listener.url, body: [], insecure: true });
    expect(result.delivered).toBe(true);
    expect(listener.requests[0]?.headers['content-type']).toBe('application/json');
  });
});

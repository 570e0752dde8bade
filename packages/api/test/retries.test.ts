import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createClik2payClient } from '../src/index.js';
import { errorText } from './support/client-conformance.js';
import type { FakeClik2pay, SeenRequest } from './support/fake-clik2pay.js';
import { startFakeClik2pay } from './support/fake-clik2pay.js';

// The retry proofs of issue 20, on the independent fake, in real time: every request's
// arrival is recorded by the server, so "never sooner than told" is measured where it counts.

let fake: FakeClik2pay;
afterEach(async () => {
  await fake?.close();
});

function clientOn(
  target: FakeClik2pay,
  options: Parameters<typeof createClik2payClient>[0]['retry'] = {},
  timeoutMs = 10_000,
) {
  return createClik2payClient({
    username: target.username,
    password: target.password,
    apiKey: target.apiKey,
    baseUrl: target.baseUrl,
    tokenUrl: target.tokenUrl,
    retry: { baseDelayMs: 20, maxDelayMs: 200, ...options },
    timeoutMs,
  });
}

async function createMany(client: ReturnType<typeof clientOn>, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { id } = await client.createPaymentRequest({
      amount: 1 + i,
      merchantTransactionId: `retry-proof-${i}`,
      type: 'EBILL',
      deliveryMode: 'EMAIL',
      payer: { email: 'payer@example.com' },
    });
    ids.push(id);
  }
  return ids;
}

const reply = (res: ServerResponse, status: number, headers: Record<string, string> = {}) => {
  res.writeHead(status, headers).end();
  return true;
};

describe('retries', () => {
  it('429 with Retry-After: 2 and 5xx bursts: no read lost, none made sooner than told', async () => {
    fake = await startFakeClik2pay();
    const client = clientOn(fake, { attempts: 6 });
    const ids = await createMany(client, 20);
    // Per read: 429 (Retry-After: 2), 503 (Retry-After: 1), then a burst of 500, 502, 504, then 200.
    const plan: [number, Record<string, string>][] = [
      [429, { 'retry-after': '2' }],
      [503, { 'retry-after': '1' }],
      [500, {}],
      [502, {}],
      [504, {}],
    ];
    const seenBy = new Map<string, SeenRequest[]>();
    fake.script = (seen, res) => {
      if (seen.method !== 'GET') return false;
      const list = seenBy.get(seen.path) ?? [];
      list.push(seen);
      seenBy.set(seen.path, list);
      const step = plan[list.length - 1];
      return step === undefined ? false : reply(res, step[0], step[1]);
    };
    const reads = await Promise.all(ids.map((id) => client.getPaymentRequest(id)));
    expect(reads.map((r) => r.id)).toEqual(ids);
    let after429 = Number.POSITIVE_INFINITY;
    let after503 = Number.POSITIVE_INFINITY;
    for (const list of seenBy.values()) {
      expect(list).toHaveLength(6);
      const [first, second, third] = list as [SeenRequest, SeenRequest, SeenRequest];
      expect(second.at - first.at).toBeGreaterThanOrEqual(2000);
      expect(third.at - second.at).toBeGreaterThanOrEqual(1000);
      after429 = Math.min(after429, second.at - first.at);
      after503 = Math.min(after503, third.at - second.at);
    }
    console.log(
      `[api proof] ${ids.length} reads through 429 (Retry-After 2) + 503 (Retry-After 1) + 3 more 5xx: ${reads.length} answered, ${[...seenBy.values()].flat().length} requests, soonest retry ${Math.round(after429)} ms after a 429 (told 2000), ${Math.round(after503)} ms after a 503 (told 1000)`,
    );
  }, 30_000);

  it('a Retry-After longer than maxRetryAfterMs is not waited for: RATE_LIMITED with retryAfterMs', async () => {
    fake = await startFakeClik2pay();
    const client = clientOn(fake, { maxRetryAfterMs: 5000 });
    const [id] = await createMany(client, 1);
    fake.script = (seen, res) => seen.method === 'GET' && reply(res, 429, { 'retry-after': '120' });
    const started = performance.now();
    await expect(client.getPaymentRequest(id as string)).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      status: 429,
      retryAfterMs: 120_000,
    });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(fake.requests.filter((r) => r.method === 'GET')).toHaveLength(1);
  });

  it('an HTTP-date Retry-After is honoured too', async () => {
    fake = await startFakeClik2pay();
    const client = clientOn(fake);
    const [id] = await createMany(client, 1);
    let first: number | undefined;
    fake.script = (seen, res) => {
      if (seen.method !== 'GET' || first !== undefined) return false;
      first = seen.at;
      return reply(res, 503, { 'retry-after': new Date(Date.now() + 2000).toUTCString() });
    };
    await client.getPaymentRequest(id as string);
    const [, second] = fake.requests.filter((r) => r.method === 'GET');
    // An HTTP-date has whole seconds: at least one second later, however the date rounded.
    expect((second?.at ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it('times out each attempt; a read is tried again, a create is not (it may have arrived)', async () => {
    fake = await startFakeClik2pay();
    const client = clientOn(fake, { attempts: 2 }, 300);
    const [id] = await createMany(client, 1);
    fake.script = () => true; // never answers
    const read = await client.getPaymentRequest(id as string).catch((e: unknown) => e);
    expect(read).toMatchObject({ code: 'TIMEOUT' });
    expect(fake.requests.filter((r) => r.method === 'GET')).toHaveLength(2);
    const posts = fake.requests.filter(
      (r) => r.method === 'POST' && r.path !== '/auth/token',
    ).length;
    const create = client.createPaymentRequest({
      amount: 5,
      merchantTransactionId: 'timeout-create',
      type: 'FLEX',
      deliveryMode: 'SMS',
      payer: { mobileNumber: '4165550123' },
    });
    await expect(create).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(
      fake.requests.filter((r) => r.method === 'POST' && r.path !== '/auth/token'),
    ).toHaveLength(posts + 1);
    expect(errorText(read)).not.toContain(fake.apiKey);
  });

  it('an aborted call stops waiting at once', async () => {
    fake = await startFakeClik2pay();
    const client = clientOn(fake);
    const [id] = await createMany(client, 1);
    fake.script = (seen, res) => seen.method === 'GET' && reply(res, 429, { 'retry-after': '30' });
    const controller = new AbortController();
    const call = client.getPaymentRequest(id as string, { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const started = performance.now();
    await expect(call).rejects.toMatchObject({ code: 'ABORTED' });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('an answer of the wrong shape is INVALID_RESPONSE, and no error holds a secret or token', async () => {
    fake = await startFakeClik2pay();
    const client = clientOn(fake);
    const [id] = await createMany(client, 1);
    fake.script = (seen, res) => {
      if (seen.method !== 'GET') return false;
      res.writeHead(200, { 'content-type': 'application/json' });
      // Echoes the request's credentials back: none of them may reach the error.
      res.end(JSON.stringify({ id: 42, echoed: seen.headers }));
      return true;
    };
    const error = await client.getPaymentRequest(id as string).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE', status: 200 });
    const text = errorText(error);
    for (const secret of [fake.password, fake.apiKey, ...fake.tokens])
      expect(text).not.toContain(secret);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { createClik2payClient } from '../src/index.js';
import type { FakeClik2pay } from './support/fake-clik2pay.js';
import { startFakeClik2pay } from './support/fake-clik2pay.js';

// The token proofs of issue 20, on the independent fake with the client's clock injected.

let fake: FakeClik2pay;
afterEach(async () => {
  await fake.close();
});

function clientOn(target: FakeClik2pay, now: () => number) {
  return createClik2payClient({
    username: target.username,
    password: target.password,
    apiKey: target.apiKey,
    baseUrl: target.baseUrl,
    tokenUrl: target.tokenUrl,
    now,
  });
}

const tokenCalls = () => fake.requests.filter((r) => r.path === '/auth/token');

async function created(client: ReturnType<typeof clientOn>): Promise<string> {
  const { id } = await client.createPaymentRequest({
    amount: 10,
    merchantTransactionId: 'token-proof-1',
    type: 'ECOMM',
    deliveryMode: 'NONE',
    payer: {},
  });
  return id;
}

describe('tokens', () => {
  it('sends the documented token call: Basic, form body, client_credentials, payment_request/all', async () => {
    fake = await startFakeClik2pay();
    const client = clientOn(fake, Date.now);
    await created(client);
    const [call] = tokenCalls();
    expect(call?.method).toBe('POST');
    expect(call?.headers.authorization).toBe(
      `Basic ${Buffer.from('api-user:api:pässword').toString('base64')}`,
    );
    expect(call?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(call?.body).toBe('grant_type=client_credentials&scope=payment_request%2Fall');
    const [api] = fake.requests.filter((r) => r.path !== '/auth/token');
    expect(api?.headers['x-api-key']).toBe(fake.apiKey);
    expect(api?.headers.authorization).toBe(`Bearer ${fake.tokens[0]}`);
  });

  it('200 reads in 60 s make 1 token call; an expired token is renewed once with 50 calls waiting', async () => {
    fake = await startFakeClik2pay({ expiresInS: 3600 });
    let now = 1_000_000;
    const client = clientOn(fake, () => now);
    const id = await created(client);
    for (let i = 0; i < 200; i++) {
      now += 300; // 200 reads over 60 s
      await client.getPaymentRequest(id);
    }
    console.log(
      `[api proof] 200 reads over 60 s (client clock): ${tokenCalls().length} token call(s)`,
    );
    expect(tokenCalls()).toHaveLength(1);

    now += 3600 * 1000; // past expires_in
    const waiting = await Promise.all(
      Array.from({ length: 50 }, () => client.getPaymentRequest(id)),
    );
    console.log(`[api proof] 50 calls on an expired token: ${tokenCalls().length - 1} renewal(s)`);
    expect(waiting.every((r) => r.id === id)).toBe(true);
    expect(tokenCalls()).toHaveLength(2);
    const lastFifty = fake.requests.slice(-50);
    expect(lastFifty.every((r) => r.headers.authorization === `Bearer ${fake.tokens[1]}`)).toBe(
      true,
    );
  });

  it('renews before expiry: a minute before by default, half the life of a short token', async () => {
    fake = await startFakeClik2pay({ expiresInS: 3600 });
    let now = 0;
    const client = clientOn(fake, () => now);
    const id = await created(client);
    now = 3600_000 - 60_001;
    await client.getPaymentRequest(id);
    expect(tokenCalls()).toHaveLength(1);
    now = 3600_000 - 60_000;
    await client.getPaymentRequest(id);
    expect(tokenCalls()).toHaveLength(2);
    await fake.close();

    fake = await startFakeClik2pay({ expiresInS: 10 });
    now = 0;
    const short = clientOn(fake, () => now);
    const other = await created(short);
    now = 4_999;
    await short.getPaymentRequest(other);
    expect(tokenCalls()).toHaveLength(1);
    now = 5_000;
    await short.getPaymentRequest(other);
    expect(tokenCalls()).toHaveLength(2);
  });

  it('a 401 renews once for 50 calls waiting; a second 401 is UNAUTHORIZED', async () => {
    fake = await startFakeClik2pay();
    const client = clientOn(fake, Date.now);
    const id = await created(client);
    fake.revokeTokens(); // the API now refuses the cached token, which the client thinks valid
    const before = fake.requests.length;
    const reads = await Promise.all(Array.from({ length: 50 }, () => client.getPaymentRequest(id)));
    console.log(
      `[api proof] 50 calls answered 401: ${tokenCalls().length - 1} renewal(s), ${fake.requests.length - before - (tokenCalls().length - 1)} API calls`,
    );
    expect(reads.every((r) => r.id === id)).toBe(true);
    expect(tokenCalls()).toHaveLength(2);
    expect(fake.requests.length - before).toBe(101); // 50 refused, 1 token call, 50 again

    fake.script = (seen, res) => {
      res.writeHead(401).end();
      return seen.path !== '';
    };
    const calls = fake.requests.length;
    await expect(client.getPaymentRequest(id)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      status: 401,
    });
    expect(fake.requests.length - calls).toBe(3); // 401, one renewal, 401
  });

  it('a failed token call is not cached: the next call tries again', async () => {
    fake = await startFakeClik2pay();
    const client = clientOn(fake, Date.now);
    let refuse = true;
    fake.tokenScript = (_seen, res) => {
      if (!refuse) return false;
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
      return true;
    };
    const failed = await created(client).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'AUTH_FAILED', status: 400 });
    refuse = false;
    await created(client).catch(() => undefined);
    expect(tokenCalls()).toHaveLength(2);
  });
});

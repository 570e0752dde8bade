import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { run as runCli } from '../src/cli/run.js';
import type { Clik2payMock, Clik2payMockOptions } from '../src/create-clik2pay-mock.js';
import { createClik2payMock } from '../src/create-clik2pay-mock.js';
import { decodeBasic, listenClosingAfterEach, reply } from './support/listener.js';

const listen = listenClosingAfterEach();
const mocks: Clik2payMock[] = [];
afterEach(async () => {
  await Promise.all(mocks.splice(0).map((m) => m.close()));
});

async function startMock(options: Clik2payMockOptions = {}): Promise<Clik2payMock> {
  const mock = await createClik2payMock({ port: 0, webhookBackoffMs: 5, ...options });
  mocks.push(mock);
  return mock;
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const tokenBody = 'grant_type=client_credentials&scope=payment_request%2Fall';

async function token(url: string, authorization = basic('u', 'p')): Promise<Response> {
  return fetch(`${url}/oauth2/token`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: tokenBody,
  });
}

/** A token, then a created payment request: its id and the headers to call the API with. */
async function createOne(url: string, apiKey = 'any-key') {
  const { access_token } = (await (await token(url)).json()) as { access_token: string };
  const headers = { authorization: `Bearer ${access_token}`, 'x-api-key': apiKey };
  const created = await fetch(`${url}/open/v1/payment-requests`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({
      amount: 12.34,
      merchantTransactionId: `order-${Math.random().toString(36).slice(2, 12)}`,
      type: 'ECOMM',
      deliveryMode: 'NONE',
      payer: { name: 'Ada' },
    }),
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  return { id, headers };
}

const control = (url: string, path: string, body?: unknown) =>
  fetch(`${url}/_mock/${path}`, {
    method: 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe('c2p mock (the command)', () => {
  it('serves until stopped, and settling delivers the webhook with C2P_WEBHOOK_* credentials', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const stop = new AbortController();
    let stdout = '';
    const running = runCli(
      ['mock', '--port', '0', '--webhook-url', listener.url, '--api-key', 'k-1'],
      {
        env: { C2P_WEBHOOK_USERNAME: 'clik2pay', C2P_WEBHOOK_PASSWORD: 'hook:secret' },
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: () => true },
        stdin: Readable.from([]),
        signal: stop.signal,
      } as Parameters<typeof runCli>[1],
    );
    await expect.poll(() => /on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1]).toBeTruthy();
    const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1] as string;
    const { id, headers } = await createOne(url, 'k-1');
    const paid = await control(url, `payment-requests/${id}/pay`);
    expect(paid.status).toBe(200);
    expect(listener.requests).toHaveLength(1);
    const [delivery] = listener.requests;
    expect(decodeBasic(delivery?.headers.authorization)).toEqual({
      username: 'clik2pay',
      password: 'hook:secret',
    });
    const [event] = JSON.parse(delivery?.body ?? '[]') as {
      eventType: string;
      resource: Record<string, unknown>;
    }[];
    expect(event).toMatchObject({
      eventType: 'PAYMENT-COMPLETED',
      resourceType: 'payment-request',
    });
    expect(event?.resource).toMatchObject({ id, status: 'PAID', amount: 12.34 });
    const read = await fetch(`${url}/open/v1/payment-requests/${id}`, { headers });
    expect(await read.json()).toMatchObject({ id, status: 'PAID' });
    expect(stdout).toContain(`webhook PAYMENT-COMPLETED ${id}: attempt 1 delivered 200`);
    stop.abort();
    expect(await running).toBe(0);
    await expect(fetch(`${url}/_mock/stats`)).rejects.toThrow();
  });

  it('refuses a bad flag with exit 2, naming it', async () => {
    const io = () => {
      const out = { stderr: '' };
      return [
        out,
        {
          env: {},
          stdout: { write: () => true },
          stderr: { write: (t: string) => (out.stderr += t) },
          stdin: Readable.from([]),
        },
      ] as const;
    };
    for (const [args, flag] of [
      [['--port', 'abc'], '--port'],
      [['--webhook-url', 'not a url'], '--webhook-url'],
      [['--token-ttl', '0'], '--token-ttl'],
      [['--api-username', 'a:b'], '--api-username'],
    ] as const) {
      const [out, cliIo] = io();
      expect(await runCli(['mock', '--port', '0', ...args], cliIo)).toBe(2);
      expect(out.stderr).toMatch(new RegExp(`^c2p: ${flag}: `));
    }
  });
});

describe('c2p mock: webhooks as Clik2pay sends them', () => {
  it('three attempts in all, stopping at the first 2xx', async () => {
    const failing = await listen((_req, _n, res) => reply(res, 500));
    const mock = await startMock({ webhookUrl: failing.url });
    const { id } = await createOne(mock.url);
    const result = await (await control(mock.url, `payment-requests/${id}/pay`)).json();
    expect(result.webhook.delivered).toBe(false);
    expect(failing.requests).toHaveLength(3);

    const flaky = await listen((_req, n, res) => reply(res, n === 0 ? 503 : 200));
    const second = await startMock({ webhookUrl: flaky.url });
    const other = await createOne(second.url);
    const settled = await second.settle(other.id, 'fail');
    expect(settled).toMatchObject({
      event: { eventType: 'PAYMENT-FAILED' },
      webhook: { delivered: true },
    });
    expect(flaky.requests).toHaveLength(2);
  });

  it('drops the webhook when told, in the body or for every settlement', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const mock = await startMock({ webhookUrl: listener.url });
    const { id, headers } = await createOne(mock.url);
    const dropped = await (
      await control(mock.url, `payment-requests/${id}/pay`, { dropWebhook: true })
    ).json();
    expect(dropped.webhook).toBe('dropped');
    expect(listener.requests).toHaveLength(0);
    const read = await fetch(`${mock.url}/open/v1/payment-requests/${id}`, { headers });
    expect(await read.json()).toMatchObject({ status: 'PAID' });

    const dropAll = await startMock({ webhookUrl: listener.url, dropWebhooks: true });
    const other = await createOne(dropAll.url);
    expect(await dropAll.settle(other.id, 'pay')).toMatchObject({ webhook: 'dropped' });
    expect(listener.requests).toHaveLength(0);
    expect(
      (await control(mock.url, `payment-requests/${id}/refund`, { dropWebhook: 'yes' })).status,
    ).toBe(400);
  });

  it('refunds only what was paid, and never settles twice', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const mock = await startMock({ webhookUrl: listener.url });
    const { id } = await createOne(mock.url);
    expect((await control(mock.url, `payment-requests/${id}/refund`)).status).toBe(409);
    expect((await control(mock.url, `payment-requests/${id}/pay`)).status).toBe(200);
    expect((await control(mock.url, `payment-requests/${id}/pay`)).status).toBe(409);
    expect((await control(mock.url, `payment-requests/${id}/fail`)).status).toBe(409);
    expect((await control(mock.url, 'payment-requests/unknown/pay')).status).toBe(404);
    const refund = await (await control(mock.url, `payment-requests/${id}/refund`)).json();
    expect(refund.event).toMatchObject({
      eventType: 'PAYMENT-COMPLETED',
      resourceType: 'payment',
      resource: { status: 'ACCEPTED', amount: 12.34, paymentRequestId: id },
    });
    expect(refund.paymentRequest).toMatchObject({ id, status: 'PAID' });
    expect(listener.requests).toHaveLength(2);
  });
});

describe('c2p mock: the token endpoint and the API', () => {
  it('issues tokens only for the configured credentials and the documented grant', async () => {
    const mock = await startMock({ apiUsername: 'user', apiPassword: 'pa:ss', tokenTtlS: 60 });
    const ok = await token(mock.url, basic('user', 'pa:ss'));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      expires_in: 60,
      token_type: 'Bearer',
      access_token: expect.any(String),
    });
    expect((await token(mock.url, basic('user', 'wrong'))).status).toBe(401);
    const wrongGrant = await fetch(mock.tokenUrl, {
      method: 'POST',
      headers: {
        authorization: basic('user', 'pa:ss'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=password&scope=payment_request%2Fall',
    });
    expect(wrongGrant.status).toBe(400);
    const anyone = await startMock();
    expect((await token(anyone.url, basic('x', 'y'))).status).toBe(200);
    expect((await token(anyone.url, basic('x', ''))).status).toBe(401);
  });

  it('needs x-api-key (403) and a live token (401); expired tokens are refused', async () => {
    const mock = await startMock({ apiKey: 'the-key', tokenTtlS: 1 });
    const { id, headers } = await createOne(mock.url, 'the-key');
    const read = (h: Record<string, string>) =>
      fetch(`${mock.url}/open/v1/payment-requests/${id}`, { headers: h });
    expect((await read(headers)).status).toBe(200);
    expect((await read({ authorization: headers.authorization })).status).toBe(403);
    expect((await read({ ...headers, 'x-api-key': 'other' })).status).toBe(403);
    expect((await read({ 'x-api-key': 'the-key' })).status).toBe(401);
    mock.expireTokens();
    expect((await read(headers)).status).toBe(401);
    const { headers: fresh } = await createOne(mock.url, 'the-key');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await read(fresh)).status).toBe(401);
  });

  it('validates a create as documented and answers unknown reads 404', async () => {
    const mock = await startMock();
    const { headers } = await createOne(mock.url);
    const bad = await fetch(`${mock.url}/open/v1/payment-requests`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        amount: 10_001,
        merchantTransactionId: 'short',
        type: 'SMART',
        deliveryMode: 'FAX',
      }),
    });
    expect(bad.status).toBe(400);
    const { errors } = (await bad.json()) as { errors: string[] };
    expect(errors.map((e) => e.split(':')[0])).toEqual([
      'amount',
      'merchantTransactionId',
      'type',
      'deliveryMode',
      'payer',
    ]);
    expect((await fetch(`${mock.url}/open/v1/payment-requests/nope`, { headers })).status).toBe(
      404,
    );
  });

  it('answers switched-on faults with Retry-After, then serves again', async () => {
    const mock = await startMock();
    const { id, headers } = await createOne(mock.url);
    expect(
      (await control(mock.url, 'faults', { status: 429, times: 2, retryAfterS: 2 })).status,
    ).toBe(200);
    expect((await control(mock.url, 'faults', { status: 404 })).status).toBe(400);
    const read = () => fetch(`${mock.url}/open/v1/payment-requests/${id}`, { headers });
    for (let i = 0; i < 2; i++) {
      const limited = await read();
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('2');
    }
    expect((await read()).status).toBe(200);
    mock.fault({ status: 503, target: 'token' });
    expect((await token(mock.url)).status).toBe(503);
    expect((await token(mock.url)).status).toBe(200);
    expect(mock.stats()).toMatchObject({ faults: 3 });
  });
});

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBody, createEvent, deliver } from '@c2p/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  credentials,
  getJson,
  type OrderBody,
  type RunningReference,
  startReference,
  tempDir,
} from './support/reference.js';

/** The merchant's order system, as a real HTTP server the app calls. */
interface Downstream {
  url: string;
  mode: 'ok' | 'fail' | 'hang';
  /** The status of a `fail` answer. Defaults to 503. */
  failStatus: number;
  calls: Array<{ headers: IncomingHttpHeaders; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

async function startDownstream(): Promise<Downstream> {
  const hung: Array<() => void> = [];
  const downstream: Downstream = {
    url: '',
    mode: 'ok',
    failStatus: 503,
    calls: [],
    close: async () => {
      for (const release of hung) release();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (c: string) => {
      text += c;
    });
    req.on('end', () => {
      downstream.calls.push({
        headers: req.headers,
        body: JSON.parse(text) as Record<string, unknown>,
      });
      if (downstream.mode === 'hang') {
        hung.push(() => res.destroy());
        return;
      }
      res.writeHead(downstream.mode === 'ok' ? 201 : downstream.failStatus).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  downstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders/fulfil`;
  return downstream;
}

// Sync mode: the call's failure is the delivery's (500). Inbox mode's retries are in inbox.test.ts.
describe('C2P_FULFIL_URL, the merchant order system, with the SQLite store in sync mode', () => {
  const dir = tempDir();
  let downstream: Downstream;
  let app: RunningReference;
  beforeAll(async () => {
    downstream = await startDownstream();
    app = await startReference({
      C2P_STORE: `sqlite:${dir.path}/reference.db`,
      C2P_MODE: 'sync',
      C2P_FULFIL_URL: downstream.url,
    });
  });
  afterAll(async () => {
    if (app) expect(await app.stop()).toBe(0);
    await downstream?.close();
    dir.remove();
  });
  beforeEach(() => {
    downstream.mode = 'ok';
    downstream.failStatus = 503;
    downstream.calls.length = 0;
  });
  const order = async (id: string) =>
    (await getJson<OrderBody>(new URL(`api/orders/${id}`, app.adminUrl).href)).body;
  const send = (url: string, event: ReturnType<typeof createEvent>) =>
    deliver({ url, ...credentials, body: createBody(event), attempts: 1, timeoutMs: 30_000 });

  it('is POSTed once per order, on its first fulfilment, with orderId, merchantTransactionId and the Idempotency-Key', async () => {
    const id = crypto.randomUUID();
    const paid = createEvent({ id, resource: { merchantTransactionId: 'INV-42' } });
    expect((await send(app.webhookUrls.express, paid)).attempts[0]?.status).toBe(200);
    expect(downstream.calls).toHaveLength(1);
    const [call] = downstream.calls;
    expect(call?.headers['idempotency-key']).toBe(`payment-request:${id}:PAYMENT-COMPLETED:PAID`);
    expect(call?.headers['content-type']).toBe('application/json');
    expect(call?.body).toMatchObject({ orderId: id, merchantTransactionId: 'INV-42', amount: 1 });

    // A duplicate, a second paid event, later events and a refund call it no more.
    expect((await send(app.webhookUrls.hono, paid)).attempts[0]?.status).toBe(200);
    await send(app.webhookUrls.fastify, createEvent({ id, status: 'paid' }));
    await send(app.webhookUrls.fastify, createEvent({ id, eventType: 'PAYMENT-LINK-FOLLOWED' }));
    await send(
      app.webhookUrls.fastify,
      createEvent({ kind: 'payment', resource: { paymentRequestId: id } }),
    );
    expect(downstream.calls).toHaveLength(1);
    expect(await order(id)).toMatchObject({ state: 'refunded', fulfilments: 1 });
  });

  it('is not called for events that do not fulfil', async () => {
    const id = crypto.randomUUID();
    for (const eventType of [
      'PAYMENT-LINK-FOLLOWED',
      'PAYMENT-PROCESSING',
      'PAYMENT-FAILED',
    ] as const) {
      expect(
        (await send(app.webhookUrls.express, createEvent({ id, eventType }))).attempts[0]?.status,
      ).toBe(200);
    }
    await send(app.webhookUrls.express, createEvent({ kind: 'payment', status: 'PAID' }));
    expect(downstream.calls).toHaveLength(0);
  });

  it('treats a non-2xx as a handler failure: 500, nothing recorded, and the retry calls again with the same key', async () => {
    const id = crypto.randomUUID();
    const paid = createEvent({ id });
    downstream.mode = 'fail';
    const refused = await send(app.webhookUrls.fastify, paid);
    expect(refused.attempts[0]?.status).toBe(500);
    expect(JSON.parse(refused.attempts[0]?.responseBody ?? '')).toMatchObject({
      error: { code: 'HANDLER_FAILED' },
    });
    expect((await getJson(new URL(`api/orders/${id}`, app.adminUrl).href)).status).toBe(404);
    downstream.mode = 'ok';
    expect((await send(app.webhookUrls.fastify, paid)).attempts[0]?.status).toBe(200);
    expect(await order(id)).toMatchObject({ state: 'paid', fulfilments: 1 });
    expect(downstream.calls.map((c) => c.headers['idempotency-key'])).toEqual([
      `payment-request:${id}:PAYMENT-COMPLETED:PAID`,
      `payment-request:${id}:PAYMENT-COMPLETED:PAID`,
    ]);
  });

  it.each([400, 404, 409])(
    'treats a %i from the order system as a handler failure: 500, nothing recorded, no fulfilment',
    async (status) => {
      const id = crypto.randomUUID();
      downstream.mode = 'fail';
      downstream.failStatus = status;
      const refused = await send(app.webhookUrls.express, createEvent({ id }));
      expect(refused.attempts[0]?.status).toBe(500);
      expect(JSON.parse(refused.attempts[0]?.responseBody ?? '')).toMatchObject({
        error: { code: 'HANDLER_FAILED' },
      });
      expect(downstream.calls).toHaveLength(1);
      expect((await getJson(new URL(`api/orders/${id}`, app.adminUrl).href)).status).toBe(404);
    },
  );

  it('gives two keys, one holding `%`, two different Idempotency-Key headers', async () => {
    // Unencoded, `%C3%A9` would read as the encoding of `é`: the `%` must be encoded too.
    const ids = ['order-\u00e9', 'order-%C3%A9', 'order-%41', 'order-A'];
    for (const id of ids) {
      expect((await send(app.webhookUrls.hono, createEvent({ id }))).attempts[0]?.status).toBe(200);
    }
    const headers = downstream.calls.map((c) => c.headers['idempotency-key']);
    expect(headers).toEqual([
      'payment-request%3Aorder-%C3%A9%3APAYMENT-COMPLETED%3APAID',
      'payment-request%3Aorder-%25C3%25A9%3APAYMENT-COMPLETED%3APAID',
      'payment-request%3Aorder-%2541%3APAYMENT-COMPLETED%3APAID',
      'payment-request:order-A:PAYMENT-COMPLETED:PAID',
    ]);
    expect(new Set(headers).size).toBe(ids.length);
  });

  it('treats no answer within 10 s as a handler failure, while other deliveries are answered at once (no lock held)', async () => {
    const id = crypto.randomUUID();
    downstream.mode = 'hang';
    const started = Date.now();
    const slow = send(app.webhookUrls.express, createEvent({ id }));
    // Wait until the call is in flight, then deliver other events to the same SQLite file.
    while (downstream.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const other = crypto.randomUUID();
    const meanwhile = Date.now();
    for (const eventType of ['PAYMENT-LINK-FOLLOWED', 'PAYMENT-FAILED'] as const) {
      const answer = await send(app.webhookUrls.hono, createEvent({ id: other, eventType }));
      expect(answer.attempts[0]?.status).toBe(200);
    }
    const otherMs = Date.now() - meanwhile;
    expect(await order(other)).toMatchObject({ state: 'failed', fulfilments: 0 });
    const result = await slow;
    const elapsed = Date.now() - started;
    console.log(
      `fulfil timeout: answered 500 after ${elapsed} ms; two other deliveries took ${otherMs} ms meanwhile`,
    );
    expect(result.attempts[0]?.status).toBe(500);
    expect(elapsed).toBeGreaterThanOrEqual(9_900);
    expect(elapsed).toBeLessThan(15_000);
    expect(otherMs).toBeLessThan(2_000);
    expect((await getJson(new URL(`api/orders/${id}`, app.adminUrl).href)).status).toBe(404);
  });
});

describe('C2P_FULFIL_URL that is not a URL', () => {
  it('stops start-up naming the setting', async () => {
    const { runToExit } = await import('./support/reference.js');
    const { code, stderr } = await runToExit({
      C2P_STORE: 'memory',
      C2P_FULFIL_URL: 'ftp://orders',
    });
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('C2P_FULFIL_URL: is not an http:// or https:// URL');
  });
});

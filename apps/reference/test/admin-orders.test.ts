/**
 * The order view from outside, on SQLite and on PostgreSQL: the app started as
 * a user starts it (`node dist/main.js`), everything over HTTP. An order exists
 * as soon as Clik2pay's delivery is stored, so a paid order whose order system
 * refuses it is listed (fulfilment `retrying`, then `dead`) before any handler
 * succeeds; 1,000 orders are found by merchant reference, exactly the one, and
 * paged by cursor with no gap and no repeat; on PostgreSQL an order accepted
 * through one process is read through another.
 */
import { readFileSync } from 'node:fs';
import { createBody, createEvent, deliver, type documentedExample } from '@c2p/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type Downstream, startDownstream } from './support/downstream.js';
import {
  createDatabase,
  credentials,
  getJson,
  type OrderBody,
  type RunningReference,
  serviceUrl,
  startReference,
  tempDir,
  waitFor,
} from './support/reference.js';

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/documented-example.json', import.meta.url), 'utf8'),
) as ReturnType<typeof documentedExample>;
const exampleId = fixture[0]?.resource.id as string;

interface OrderList {
  orders: OrderBody[];
  next: string | null;
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A store of its own for one app: a fresh SQLite file or a fresh PostgreSQL database. */
async function freshStore(kind: 'SQLite' | 'PostgreSQL'): Promise<string> {
  if (kind === 'SQLite') {
    const dir = tempDir();
    cleanups.push(dir.remove);
    return `sqlite:${dir.path}/reference.db`;
  }
  const database = await createDatabase(serviceUrl('C2P_TEST_POSTGRES_URL'));
  cleanups.push(database.drop);
  return database.url;
}

async function start(env: Record<string, string | undefined>): Promise<RunningReference> {
  const app = await startReference(env);
  cleanups.push(() => app.stop());
  return app;
}

const api = (app: RunningReference, path: string): string => new URL(path, app.adminUrl).href;
const order = async (app: RunningReference, id: string) =>
  getJson<OrderBody>(api(app, `api/orders/${encodeURIComponent(id)}`));

/** Every page of `GET /api/orders?limit=`, following `next`, at most 100 pages. */
async function everyPage(app: RunningReference, limit: number): Promise<OrderBody[][]> {
  const pages: OrderBody[][] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const query: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
    const { status, body } = await getJson<OrderList>(
      api(app, `api/orders?limit=${limit}${query}`),
    );
    expect(status).toBe(200);
    pages.push(body.orders);
    if (body.next === null) return pages;
    after = body.next;
  }
  throw new Error('more than 100 pages');
}

const reference = (i: number): string => `ORD-${String(i).padStart(6, '0')}`;

/** 1,000 PAID events, 100 to a delivery, each with its own merchant reference and amount. */
async function deliverThousand(app: RunningReference): Promise<string[]> {
  const ids: string[] = [];
  for (let d = 0; d < 10; d++) {
    const events = Array.from({ length: 100 }, (_, j) => {
      const i = d * 100 + j;
      const event = createEvent({
        amount: 10 + i / 100,
        resource: { merchantTransactionId: reference(i) },
      });
      ids.push(event.resource.id);
      return event;
    });
    const result = await deliver({
      url: app.webhookUrls.fastify,
      ...credentials,
      body: createBody(events),
      attempts: 1,
    });
    expect(result.delivered).toBe(true);
  }
  return ids;
}

describe.each(['SQLite', 'PostgreSQL'] as const)('orders on %s, from outside', (kind) => {
  let downstream: Downstream;

  it('lists the documented example with its amount and reference, and a paid order the order system refuses as retrying then dead, before any handler succeeds', async () => {
    downstream = await startDownstream();
    cleanups.push(downstream.close);
    downstream.mode = 'fail';
    const app = await start({
      C2P_STORE: await freshStore(kind),
      C2P_FULFIL_URL: downstream.url,
      C2P_RETRY_MAX_ATTEMPTS: '3',
      C2P_RETRY_BASE_MS: '300',
    });
    const hostileRef = `<img src=x onerror="alert(1)">&"'${crypto.randomUUID().slice(0, 8)}`;
    const withRef = createEvent({
      amount: 1234.5,
      resource: { merchantTransactionId: hostileRef },
    });
    for (const body of [fixture, createBody(withRef)]) {
      const result = await deliver({
        url: app.webhookUrls.express,
        ...credentials,
        body,
        attempts: 1,
      });
      expect(result.delivered).toBe(true);
    }
    // At once after the 2xx: the order exists, though no handler has succeeded.
    const first = await order(app, exampleId);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      id: exampleId,
      amount: 1,
      merchantTransactionId: null,
      fulfilments: 0,
    });
    expect(['pending', 'retrying']).toContain(first.body.fulfilment);
    expect(first.body.inbox).toHaveLength(1);
    expect(downstream.fulfilled()).toEqual([]);

    const dead = await waitFor(
      'the example order fulfilment dead',
      async () => (await order(app, exampleId)).body,
      (o) => o.fulfilment === 'dead',
    );
    expect(dead).toMatchObject({ amount: 1, fulfilments: 0, state: 'new' });
    expect(downstream.fulfilled()).toEqual([]);
    expect(downstream.received).toBeGreaterThanOrEqual(3);
    const listed = await getJson<OrderList>(api(app, `api/orders?q=${exampleId}`));
    expect(listed.body.orders.map((o) => [o.id, o.fulfilment])).toEqual([[exampleId, 'dead']]);
    const inboxEntry = await getJson<{ id: string; state: string }>(
      api(app, `api/inbox/${dead.inbox[0]}`),
    );
    expect(inboxEntry.body.state).toBe('dead');

    // The merchant reference as sent, in the API (JSON) and found by it.
    const byRef = await getJson<OrderList>(
      api(app, `api/orders?q=${encodeURIComponent(hostileRef)}`),
    );
    expect(byRef.body.orders.map((o) => [o.id, o.amount, o.merchantTransactionId])).toEqual([
      [withRef.resource.id, 1234.5, hostileRef],
    ]);
    // On the page as served: shown as text, escaped, never as markup.
    const html = await (await fetch(app.adminUrl)).text();
    expect(html).not.toContain('<img');
    expect(html).toContain('&#60;img src=x onerror=&#34;alert(1)&#34;&#62;&#38;&#34;&#39;');
    expect(html).toContain('<td class="amount">1234.50</td>');
    expect(html).toContain('<td class="amount">1.00</td>');
    expect(html).toContain('<td class="fulfilment dead">dead</td>');

    // Registering an expected payment: same-origin only, once, with its fields checked.
    const expected = {
      paymentRequestId: crypto.randomUUID(),
      amount: 42,
      merchantTransactionId: 'EXP-1',
    };
    const register = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(api(app, 'api/orders'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    expect((await register(expected, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await order(app, expected.paymentRequestId)).status).toBe(404);
    const created = await register(expected, { origin: new URL(app.adminUrl).origin });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({
      id: expected.paymentRequestId,
      amount: 42,
      merchantTransactionId: 'EXP-1',
      state: 'awaiting-payment',
      fulfilment: 'none',
    });
    expect((await register(expected)).status).toBe(409);
    expect((await register({ paymentRequestId: exampleId })).status).toBe(409);
    for (const bad of [
      {},
      { paymentRequestId: '' },
      { paymentRequestId: 'x', amount: -1 },
      { paymentRequestId: 'x', extra: 1 },
    ]) {
      const refused = await register(bad);
      expect(refused.status, JSON.stringify(bad)).toBe(400);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
        'BAD_REQUEST',
      );
    }
    const awaiting = await getJson<OrderList>(api(app, 'api/orders?state=awaiting-payment'));
    expect(awaiting.body.orders.map((o) => o.id)).toEqual([expected.paymentRequestId]);

    // The cause fixed, the dead event replayed: fulfilled once, done.
    downstream.mode = 'ok';
    const replay = await fetch(api(app, `api/inbox/${dead.inbox[0]}/replay`), { method: 'POST' });
    expect(replay.status).toBe(200);
    const done = await waitFor(
      'the example order fulfilled',
      async () => (await order(app, exampleId)).body,
      (o) => o.fulfilment === 'done',
    );
    expect(done).toMatchObject({ state: 'paid', fulfilments: 1 });
    // (The other order's last retry may have met the order system back too.)
    expect(downstream.fulfilled().filter((key) => key.includes(exampleId))).toHaveLength(1);
  });

  it('finds 1,000 orders by merchant reference, exactly the one, and pages them by cursor with no gap', async () => {
    const store = await freshStore(kind);
    // A listener alone: nothing changes the orders while they are paged.
    const listener = await start({
      C2P_STORE: store,
      C2P_ROLE: 'listener',
      C2P_ADAPTERS: 'fastify',
    });
    const started = Date.now();
    const ids = await deliverThousand(listener);
    const deliveredMs = Date.now() - started;
    for (const i of [0, 499, 500, 999]) {
      const found = await getJson<OrderList>(api(listener, `api/orders?q=${reference(i)}`));
      expect(
        found.body.orders.map((o) => [o.id, o.merchantTransactionId, o.amount, o.fulfilment]),
      ).toEqual([[ids[i], reference(i), 10 + i / 100, 'pending']]);
      expect(found.body.next).toBeNull();
    }
    expect((await getJson<OrderList>(api(listener, 'api/orders?q=ORD-00050'))).body.orders).toEqual(
      [],
    );
    for (const limit of [150, 500]) {
      const pages = await everyPage(listener, limit);
      const listed = pages.flat().map((o) => o.id);
      expect(pages).toHaveLength(Math.ceil(1000 / limit));
      expect(listed).toHaveLength(1000);
      expect(new Set(listed)).toEqual(new Set(ids));
      const times = pages.flat().map((o) => (o as OrderBody & { updatedAt: string }).updatedAt);
      expect([...times].sort().reverse()).toEqual(times);
    }
    // No handler ran: accepted, not paid yet.
    const paid = await getJson<OrderList>(api(listener, 'api/orders?state=paid'));
    expect(paid.body.orders).toEqual([]);
    console.log(
      `${kind}: 1,000 orders accepted in ${deliveredMs} ms (10 deliveries of 100 events); searched by reference and paged by 150 and 500`,
    );
    for (const [query, name] of [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['state=shipped', 'state'],
      ['after=not-a-cursor', 'after'],
      ['sort=id', '"sort"'],
    ]) {
      const refused = await getJson<{ error: { code: string; message: string } }>(
        api(listener, `api/orders?${query}`),
      );
      expect(refused.status, query).toBe(400);
      expect(refused.body.error.code).toBe('BAD_REQUEST');
      expect(refused.body.error.message).toContain(name);
    }

    if (kind !== 'PostgreSQL') return;
    // Another process on the same PostgreSQL: it reads what the listener accepted, and its worker fulfils it.
    const ok = await startDownstream();
    cleanups.push(ok.close);
    const worker = await start({
      C2P_STORE: store,
      C2P_ROLE: 'worker',
      C2P_FULFIL_URL: ok.url,
      C2P_WEBHOOK_USERNAME: undefined,
      C2P_WEBHOOK_PASSWORD: undefined,
    });
    const seen = await getJson<OrderList>(api(worker, `api/orders?q=${reference(500)}`));
    expect(seen.body.orders.map((o) => o.id)).toEqual([ids[500]]);
    const late = createEvent({ resource: { merchantTransactionId: 'LATE-1' } });
    await deliver({
      url: listener.webhookUrls.fastify,
      ...credentials,
      body: createBody(late),
      attempts: 1,
    });
    expect((await order(worker, late.resource.id)).body.merchantTransactionId).toBe('LATE-1');
    for (const id of [late.resource.id, ids[0], ids[500], ids[999]] as string[]) {
      const done = await waitFor(
        `order ${id} fulfilled by the other process`,
        async () => (await order(listener, id)).body,
        (o) => o.fulfilment === 'done',
        120_000,
      );
      expect(done).toMatchObject({ state: 'paid', fulfilments: 1 });
    }
  }, 240_000);
});

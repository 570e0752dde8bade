/**
 * Inbox mode (the default), from outside: the built app as a child process,
 * real HTTP, a real order system (`C2P_FULFIL_URL`) that the tests slow down or
 * break, and real SQLite, PostgreSQL (a database of each test's own) and Redis.
 */
import { createBody, createEvent, deliver } from '@c2p/testing';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Downstream, startDownstream } from './support/downstream.js';
import {
  createDatabase,
  credentials,
  type DeliveryBody,
  getJson,
  type InboxEventBody,
  inboxEvent,
  type OrderBody,
  type RunningReference,
  serviceUrl,
  startReference,
  tempDir,
  waitFor,
} from './support/reference.js';

const paidKey = (id: string): string => `payment-request:${id}:PAYMENT-COMPLETED:PAID`;

const readOrder = async (app: RunningReference, id: string) =>
  getJson<OrderBody>(new URL(`api/orders/${encodeURIComponent(id)}`, app.adminUrl).href);

/** The order is listed with its fulfilment failing (`retrying`), nothing fulfilled. */
const orderRetrying = (app: RunningReference, id: string) =>
  waitFor(
    `order ${id} retrying`,
    async () => (await readOrder(app, id)).body,
    (order) => order.fulfilment === 'retrying' && order.fulfilments === 0,
  );

const send = (url: string, body: unknown) =>
  deliver({ url, ...credentials, body, attempts: 1, timeoutMs: 10_000 });

const post = async (app: RunningReference, path: string) => {
  const response = await fetch(new URL(path, app.adminUrl), { method: 'POST' });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const settledEvent = (app: RunningReference, key: string, state: InboxEventBody['state']) =>
  waitFor(
    `inbox event ${key} ${state}`,
    () => inboxEvent(app, key),
    (e) => e?.state === state,
  ) as Promise<InboxEventBody>;

/** Where the app keeps its state: a SQLite file, a PostgreSQL database or a Redis database of the test's own. */
type StoreName = 'sqlite' | 'postgres' | 'redis';
interface Place {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}
async function place(store: StoreName): Promise<Place> {
  if (store === 'sqlite') {
    const dir = tempDir();
    return {
      env: { C2P_STORE: `sqlite:${dir.path}/reference.db` },
      cleanup: async () => dir.remove(),
    };
  }
  if (store === 'postgres') {
    const database = await createDatabase();
    return { env: { C2P_STORE: database.url }, cleanup: () => database.drop() };
  }
  // Redis database 9: no other test's worker leases these events. The test
  // Redis runs appendfsync everysec, so the app is told to trust it, explicitly.
  const url = new URL(serviceUrl('C2P_TEST_REDIS_URL'));
  url.pathname = '/9';
  return {
    env: { C2P_STORE: url.href, C2P_REDIS_DURABILITY: 'trust' },
    cleanup: async () => {},
  };
}

describe.each(['sqlite', 'postgres', 'redis'] as const)('inbox mode with %s', (store) => {
  let downstream: Downstream;
  let where: Place;
  let app: RunningReference;
  beforeAll(async () => {
    downstream = await startDownstream();
    where = await place(store);
    app = await startReference({
      ...where.env,
      C2P_FULFIL_URL: downstream.url,
      C2P_RETRY_BASE_MS: '300',
      // These tests fail the order system one after another in one process: the
      // breaker (test/handler-rate.test.ts) would pause the worker between them.
      C2P_BREAKER: 'off',
    });
  });
  afterAll(async () => {
    if (app) expect(await app.stop()).toBe(0);
    await downstream?.close();
    await where?.cleanup();
  });
  afterEach(() => {
    downstream.mode = 'ok';
    downstream.failStatus = 503;
    downstream.delayMs = 0;
  });

  it('answers 200 once the event is stored, before its handler ran; then processes it; a redelivery is a duplicate', async () => {
    expect(app.stdout()).toMatch(/mode {5}inbox: a 2xx means the events are/);
    const id = crypto.randomUUID();
    const body = createBody(createEvent({ id, resource: { merchantTransactionId: 'INV-7' } }));
    downstream.delayMs = 1_500;
    const started = Date.now();
    const first = await send(app.webhookUrls.express, body);
    const answeredMs = Date.now() - started;
    expect(first.attempts[0]?.status).toBe(200);
    expect(JSON.parse(first.attempts[0]?.responseBody ?? '')).toEqual({
      received: 1,
      accepted: 1,
      duplicates: 0,
    });
    // The order system takes 1.5 s: the answer did not wait for it, and nothing is fulfilled yet.
    expect(answeredMs).toBeLessThan(1_000);
    // The order exists from acceptance: its reference, and a fulfilment not done yet.
    expect((await readOrder(app, id)).body).toMatchObject({
      id,
      state: 'new',
      fulfilments: 0,
      fulfilment: 'pending',
      merchantTransactionId: 'INV-7',
    });
    expect(downstream.fulfilled()).not.toContain(paidKey(id));
    const waiting = await inboxEvent(app, paidKey(id));
    expect(waiting).toMatchObject({
      eventType: 'PAYMENT-COMPLETED',
      resource: `payment-request:${id}`,
      state: 'pending',
      processedAt: null,
    });

    // A redelivery while it runs, and another after: duplicates, answered at once.
    const again = await send(app.webhookUrls.hono, body);
    expect(JSON.parse(again.attempts[0]?.responseBody ?? '')).toEqual({
      received: 1,
      accepted: 0,
      duplicates: 1,
    });
    const processed = await settledEvent(app, paidKey(id), 'processed');
    expect(processed.attempts).toBe(1);
    expect((await readOrder(app, id)).body).toMatchObject({ state: 'paid', fulfilments: 1 });
    const late = await send(app.webhookUrls.fastify, body);
    expect(JSON.parse(late.attempts[0]?.responseBody ?? '')).toMatchObject({ duplicates: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(downstream.calls.filter((c) => c.key === paidKey(id))).toMatchObject([
      { status: 201, body: { orderId: id, merchantTransactionId: 'INV-7' } },
    ]);

    const log = (await getJson<DeliveryBody[]>(new URL('api/events', app.adminUrl).href)).body
      .filter((d) => d.events.some((e) => e.resourceId === id))
      .map((d) => [d.listener, d.outcome]);
    expect(log).toEqual([
      ['fastify', 'duplicate'],
      ['hono', 'duplicate'],
      ['express', 'accepted'],
    ]);
  });

  it('fails the fulfilment on a 4xx from the order system (400, 404, 409): retrying, nothing fulfilled', async () => {
    const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    downstream.mode = 'fail';
    for (const [i, status] of [400, 404, 409].entries()) {
      const id = ids[i] as string;
      downstream.failStatus = status;
      const answer = await send(app.webhookUrls.hono, createBody(createEvent({ id })));
      expect(answer.attempts[0]?.status).toBe(200);
      const retrying = await settledEvent(app, paidKey(id), 'retrying');
      expect(retrying.lastError).toContain(`C2P_FULFIL_URL: answered ${status}`);
      await orderRetrying(app, id);
    }
    const keys = ids.map(paidKey);
    expect(downstream.calls.filter((c) => keys.includes(c.key)).map((c) => c.status)).toEqual(
      expect.arrayContaining([400, 404, 409]),
    );
    expect(downstream.fulfilled().filter((key) => keys.includes(key))).toEqual([]);
  });

  it('retries a handler that failed (the order system answered 503) on its own, and processes it once the order system is back', async () => {
    const id = crypto.randomUUID();
    downstream.mode = 'fail';
    const answer = await send(app.webhookUrls.fastify, createBody(createEvent({ id })));
    expect(answer.attempts[0]?.status).toBe(200);
    const retrying = await settledEvent(app, paidKey(id), 'retrying');
    expect(retrying.lastError).toContain('C2P_FULFIL_URL: answered 503');
    expect(retrying.nextAttemptAt).not.toBeNull();
    await orderRetrying(app, id);
    // Clik2pay is out of the picture now: no redelivery, only c2p's own retries.
    await waitFor(
      'two failed attempts',
      async () => downstream.calls.filter((c) => c.key === paidKey(id)).length,
      (n) => n >= 2,
    );
    downstream.mode = 'ok';
    const processed = await settledEvent(app, paidKey(id), 'processed');
    expect(processed.attempts).toBeGreaterThanOrEqual(3);
    expect((await readOrder(app, id)).body).toMatchObject({ state: 'paid', fulfilments: 1 });
    const calls = downstream.calls.filter((c) => c.key === paidKey(id));
    expect(calls.filter((c) => c.status === 201)).toHaveLength(1);
    expect(calls.at(-1)?.status).toBe(201);
    console.log(
      `${store}: ${calls.length - 1} attempts failed with 503, then processed at attempt ${processed.attempts}`,
    );
  });

  it('answers /healthz with 200 naming the mode, on a listener and the admin', async () => {
    for (const url of [
      new URL('/healthz', app.webhookUrls.hono),
      new URL('healthz', app.adminUrl),
    ]) {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok', store, mode: 'inbox' });
    }
  });
});

describe.each(['sqlite', 'postgres'] as const)(
  'dead events, replay and retry-now with %s',
  (store) => {
    let downstream: Downstream;
    let where: Place;
    let app: RunningReference;
    beforeAll(async () => {
      downstream = await startDownstream();
      where = await place(store);
      // Two attempts in all, 300 ms apart: an event fails for good within a second or two.
      app = await startReference({
        ...where.env,
        C2P_FULFIL_URL: downstream.url,
        C2P_RETRY_MAX_ATTEMPTS: '2',
        C2P_RETRY_BASE_MS: '300',
        C2P_BREAKER: 'off',
      });
    });
    afterAll(async () => {
      if (app) expect(await app.stop()).toBe(0);
      await downstream?.close();
      await where?.cleanup();
    });

    it('keeps an event whose retries are spent as dead, and replays it through the admin API', async () => {
      const id = crypto.randomUUID();
      downstream.mode = 'fail';
      expect((await send(app.webhookUrls.express, createBody(createEvent({ id })))).delivered).toBe(
        true,
      );
      const dead = await settledEvent(app, paidKey(id), 'dead');
      expect(dead).toMatchObject({ attempts: 2, nextAttemptAt: null, processedAt: null });
      expect(dead.lastError).toContain('503');
      const counts = await getJson<{ counts: Record<string, number> }>(
        new URL('api/inbox', app.adminUrl).href,
      );
      expect(counts.body.counts.dead).toBeGreaterThanOrEqual(1);
      expect(Object.keys(counts.body.counts).sort()).toEqual([
        'dead',
        'pending',
        'processed',
        'resolved',
        'retrying',
      ]);
      // Nothing but credentials-free fields, and never the body.
      expect(Object.keys(dead).sort()).toEqual([
        'attempts',
        'eventType',
        'id',
        'key',
        'lastError',
        'nextAttemptAt',
        'processedAt',
        'receivedAt',
        'resource',
        'state',
      ]);
      expect(JSON.stringify(counts.body)).not.toContain(credentials.password);

      // Refused: retry-now of a dead event, another origin, an unknown id, a GET.
      expect(await post(app, `api/inbox/${dead.id}/retry-now`)).toMatchObject({
        status: 409,
        body: { error: { code: 'WRONG_STATE' } },
      });
      const foreign = await fetch(new URL(`api/inbox/${dead.id}/replay`, app.adminUrl), {
        method: 'POST',
        headers: { origin: 'http://evil.example' },
      });
      expect(foreign.status).toBe(403);
      expect((await post(app, 'api/inbox/999999999/replay')).status).toBe(404);
      expect((await fetch(new URL(`api/inbox/${dead.id}/replay`, app.adminUrl))).status).toBe(405);
      expect((await inboxEvent(app, paidKey(id)))?.state).toBe('dead');

      downstream.mode = 'ok';
      const replayed = await post(app, `api/inbox/${dead.id}/replay`);
      expect(replayed.status).toBe(200);
      expect(replayed.body).toMatchObject({ id: dead.id, state: 'pending' });
      const processed = await settledEvent(app, paidKey(id), 'processed');
      expect(processed.attempts).toBe(1);
      expect((await readOrder(app, id)).body).toMatchObject({ state: 'paid', fulfilments: 1 });
      expect(downstream.fulfilled().filter((key) => key === paidKey(id))).toHaveLength(1);
      expect((await post(app, `api/inbox/${dead.id}/replay`)).status).toBe(409);
    });

    it('lists by state with a limit, and refuses a bad state or limit', async () => {
      const url = (query: string) => new URL(`api/inbox${query}`, app.adminUrl).href;
      const listed = await getJson<{ events: InboxEventBody[]; next: string | null }>(
        url('?state=processed&limit=1'),
      );
      expect(listed.status).toBe(200);
      expect(listed.body.events.map((e) => e.state)).toEqual(['processed']);
      expect(listed.body).toHaveProperty('next');
      for (const query of [
        '?state=lost',
        '?state=dead&limit=0',
        '?state=dead&limit=501',
        '?limit=x',
        '?resourceId=x',
        '?receivedSince=yesterday',
        '?after=nonsense',
        '?state=dead&state=retrying',
      ]) {
        expect((await getJson(url(query))).status, query).toBe(400);
      }
    });
  },
);

describe('retry-now', () => {
  it('runs a retrying event at once instead of at its next attempt', async () => {
    const downstream = await startDownstream();
    const dir = tempDir();
    const app = await startReference({
      C2P_STORE: `sqlite:${dir.path}/reference.db`,
      C2P_FULFIL_URL: downstream.url,
      C2P_RETRY_BASE_MS: '600000',
    });
    try {
      const id = crypto.randomUUID();
      downstream.mode = 'fail';
      await send(app.webhookUrls.hono, createBody(createEvent({ id })));
      const retrying = await settledEvent(app, paidKey(id), 'retrying');
      // Due again in about ten minutes (jitter ±20%).
      expect(Date.parse(retrying.nextAttemptAt as string) - Date.now()).toBeGreaterThan(400_000);
      downstream.mode = 'ok';
      const started = Date.now();
      expect(await post(app, `api/inbox/${retrying.id}/retry-now`)).toMatchObject({
        status: 200,
        body: { id: retrying.id, state: 'retrying' },
      });
      await settledEvent(app, paidKey(id), 'processed');
      console.log(`retry-now: processed ${Date.now() - started} ms after the request`);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await readOrder(app, id)).body).toMatchObject({ state: 'paid', fulfilments: 1 });
    } finally {
      expect(await app.stop()).toBe(0);
      await downstream.close();
      dir.remove();
    }
  });
});

describe.each(['sqlite', 'postgres'] as const)('a restart with %s', (store) => {
  it('finishes the running attempts on SIGTERM, and the next start processes what was still pending', async () => {
    const downstream = await startDownstream();
    const where = await place(store);
    const env = { ...where.env, C2P_FULFIL_URL: downstream.url };
    try {
      const first = await startReference(env);
      // Each call takes 1.5 s: the worker runs 4 events at once, the other 4 wait.
      downstream.delayMs = 1_500;
      const ids = Array.from({ length: 8 }, () => crypto.randomUUID());
      for (const id of ids) {
        expect(
          (await send(first.webhookUrls.express, createBody(createEvent({ id })))).delivered,
        ).toBe(true);
      }
      await waitFor(
        'four calls under way',
        async () => downstream.received,
        (n) => n >= 4,
      );
      expect(await first.stop('SIGTERM')).toBe(0);
      const finished = downstream.fulfilled();
      expect(finished.length).toBeGreaterThanOrEqual(1);
      expect(finished.length).toBeLessThan(ids.length);
      if (store === 'sqlite') {
        const file = (where.env.C2P_STORE as string).slice('sqlite:'.length);
        const db = new Database(file, { readonly: true });
        const states = db
          .prepare<[], { state: string; n: number }>(
            'SELECT state, count(*) AS n FROM reference_inbox GROUP BY state',
          )
          .all();
        db.close();
        expect(Object.fromEntries(states.map((s) => [s.state, s.n]))).toEqual({
          processed: finished.length,
          pending: ids.length - finished.length,
        });
      }

      downstream.delayMs = 0;
      const second = await startReference(env);
      try {
        for (const id of ids) {
          await waitFor(
            `order ${id} paid`,
            async () => (await readOrder(second, id)).body,
            (order) => order.fulfilments === 1,
          );
        }
        // Every order's call once: the attempts running at SIGTERM finished, none ran twice.
        expect(downstream.fulfilled().sort()).toEqual(ids.map(paidKey).sort());
        console.log(
          `${store} restart: ${finished.length} processed before SIGTERM, ${ids.length - finished.length} after the restart`,
        );
      } finally {
        expect(await second.stop()).toBe(0);
      }
    } finally {
      await downstream.close();
      await where.cleanup();
    }
  });
});

describe('sync mode', () => {
  it('answers /api/inbox with 404 INBOX_OFF, and runs the handlers before answering', async () => {
    const downstream = await startDownstream();
    const app = await startReference({
      C2P_STORE: 'memory',
      C2P_MODE: 'sync',
      C2P_FULFIL_URL: downstream.url,
    });
    try {
      expect(app.stdout()).toContain('mode     sync: a 2xx means the handlers ran');
      const inbox = await getJson<{ error: { code: string } }>(
        new URL('api/inbox', app.adminUrl).href,
      );
      expect(inbox).toEqual({
        status: 404,
        body: {
          error: {
            code: 'INBOX_OFF',
            message: 'The inbox is off: the app runs with C2P_MODE=sync.',
          },
        },
      });
      expect((await post(app, 'api/inbox/1/replay')).status).toBe(404);
      const id = crypto.randomUUID();
      downstream.mode = 'fail';
      const refused = await send(app.webhookUrls.express, createBody(createEvent({ id })));
      expect(refused.attempts[0]?.status).toBe(500);
      downstream.mode = 'ok';
      const answer = await send(app.webhookUrls.express, createBody(createEvent({ id })));
      expect(JSON.parse(answer.attempts[0]?.responseBody ?? '')).toEqual({
        received: 1,
        processed: 1,
        duplicates: 0,
      });
      // Processed before the answer: the order is paid at once.
      expect((await readOrder(app, id)).body).toMatchObject({ state: 'paid', fulfilments: 1 });
      const health = await fetch(new URL('/healthz', app.webhookUrls.fastify));
      expect(await health.json()).toEqual({ status: 'ok', store: 'memory', mode: 'sync' });
    } finally {
      expect(await app.stop()).toBe(0);
      await downstream.close();
    }
  });
});

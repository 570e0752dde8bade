import { readFileSync } from 'node:fs';
import { createBody, createEvent, deliver, deliverMany, documentedExample } from '@c2p/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  credentials,
  type DeliveryBody,
  getJson,
  type OrderBody,
  type RunningReference,
  serviceUrl,
  startReference,
  tempDir,
  waitFor,
} from './support/reference.js';

const listeners = ['express', 'fastify', 'hono'] as const;
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/documented-example.json', import.meta.url), 'utf8'),
) as ReturnType<typeof documentedExample>;

const order = (app: RunningReference, id: string) =>
  getJson<OrderBody>(new URL(`api/orders/${id}`, app.adminUrl).href);

describe('the documented example, in sync mode', () => {
  let app: RunningReference;
  beforeAll(async () => {
    app = await startReference({ C2P_STORE: 'memory', C2P_MODE: 'sync' });
  });
  afterAll(async () => {
    expect(await app.stop()).toBe(0);
  });

  it('is the body Clik2pay documents, as the testing kit builds it', () => {
    expect(fixture).toEqual(documentedExample());
  });

  it('pays and fulfils its order once, whichever listener it reaches', async () => {
    const id = fixture[0]?.resource.id as string;
    for (const name of listeners) {
      const result = await deliver({
        url: app.webhookUrls[name],
        ...credentials,
        body: fixture,
        attempts: 1,
      });
      expect(result.attempts[0]?.status, name).toBe(200);
      const { status, body } = await order(app, id);
      expect(status).toBe(200);
      expect(body).toMatchObject({ id, state: 'paid', fulfilments: 1 });
      expect(body.events).toHaveLength(1);
    }
    const deliveries = (await getJson<DeliveryBody[]>(new URL('api/events', app.adminUrl).href))
      .body;
    expect(deliveries.map((d) => [d.listener, d.outcome])).toEqual([
      ['hono', 'duplicate'],
      ['fastify', 'duplicate'],
      ['express', 'processed'],
    ]);
  });

  it('is processed by each listener on its own (a fresh payment request id per listener)', async () => {
    for (const name of listeners) {
      const body = documentedExample();
      const id = `${name}-${crypto.randomUUID()}`;
      (body[0] as { resource: { id: string } }).resource.id = id;
      const result = await deliver({
        url: app.webhookUrls[name],
        ...credentials,
        body,
        attempts: 1,
      });
      expect(result.attempts[0]?.status, name).toBe(200);
      expect(JSON.parse(result.attempts[0]?.responseBody ?? '')).toEqual({
        received: 1,
        processed: 1,
        duplicates: 0,
      });
      expect((await order(app, id)).body).toMatchObject({ state: 'paid', fulfilments: 1 });
    }
  });

  it('is refused without the credentials, and the refusal is listed with its reason', async () => {
    const result = await deliver({
      url: app.webhookUrls.fastify,
      username: credentials.username,
      password: 'wrong',
      body: fixture,
      attempts: 1,
    });
    expect(result.attempts[0]?.status).toBe(401);
    const [latest] = (await getJson<DeliveryBody[]>(new URL('api/events', app.adminUrl).href)).body;
    expect(latest).toMatchObject({
      listener: 'fastify',
      outcome: 'rejected',
      code: 'UNAUTHORIZED',
      step: 'auth',
    });
    expect(JSON.stringify(latest)).not.toContain('wrong');
    expect(app.stdout()).not.toContain(credentials.password);
  });

  it('answers an unknown order with 404', async () => {
    expect((await order(app, 'no-such-order')).status).toBe(404);
  });
});

/**
 * 50 copies of one PAID event at once, spread over the three listeners, each
 * retried by the simulator like Clik2pay (three attempts, on any non-2xx).
 * Sync mode: one delivery processes it. Inbox mode: one stores it, and the
 * worker fulfils the order soon after.
 */
async function fiftyDuplicates(app: RunningReference, mode: 'sync' | 'inbox'): Promise<void> {
  const id = crypto.randomUUID();
  const body = createBody(createEvent({ id }));
  const runs = await Promise.all(
    listeners.map((name, i) =>
      deliverMany({
        url: app.webhookUrls[name],
        ...credentials,
        bodies: [body],
        times: i === 0 ? 18 : 16,
        concurrency: 18,
        // Clik2pay's schedule is unpublished; the simulator's default (1 s, then 2 s) gives the winner time to finish.
      }),
    ),
  );
  expect(runs.reduce((sum, run) => sum + run.deliveries.length, 0)).toBe(50);
  for (const run of runs) expect(run.ok).toBe(true);
  const paid = await waitFor(
    `order ${id} paid`,
    async () => (await order(app, id)).body,
    (o) => o.state === 'paid',
  );
  expect(paid).toMatchObject({ id, state: 'paid', fulfilments: 1 });
  expect(paid.events).toHaveLength(1);
  const deliveries = (await getJson<DeliveryBody[]>(new URL('api/events', app.adminUrl).href)).body;
  const about = deliveries.filter((d) => d.events.some((e) => e.resourceId === id));
  const first = mode === 'sync' ? 'processed' : 'accepted';
  expect(about.filter((d) => d.outcome === first)).toHaveLength(1);
  expect(about.filter((d) => d.status === 200)).toHaveLength(50);
  if (mode === 'inbox') {
    // Nothing waits for a handler in inbox mode: no copy is ever refused 409 and retried.
    expect(runs.every((run) => run.deliveries.every((d) => d.attempts.length === 1))).toBe(true);
  }
}

const stores: Array<[string, () => { env: Record<string, string>; cleanup?: () => void }]> = [
  ['memory', () => ({ env: { C2P_STORE: 'memory' } })],
  [
    'sqlite',
    () => {
      const dir = tempDir();
      return { env: { C2P_STORE: `sqlite:${dir.path}/reference.db` }, cleanup: dir.remove };
    },
  ],
  ['postgres', () => ({ env: { C2P_STORE: serviceUrl('C2P_TEST_POSTGRES_URL') } })],
  [
    'redis',
    () => {
      // Database 10 of the test Redis, whose appendfsync everysec the inbox is told to trust.
      const url = new URL(serviceUrl('C2P_TEST_REDIS_URL'));
      url.pathname = '/10';
      return { env: { C2P_STORE: url.href, C2P_REDIS_DURABILITY: 'trust' } };
    },
  ],
];

const modes = ['sync', 'inbox'] as const;

describe.each(stores.flatMap(([name, setup]) => modes.map((mode) => [name, mode, setup] as const)))(
  '50 concurrent duplicates with the %s store in %s mode',
  (_name, mode, setup) => {
    let app: RunningReference;
    let cleanup: (() => void) | undefined;
    beforeAll(async () => {
      const prepared = setup();
      cleanup = prepared.cleanup;
      app = await startReference({ ...prepared.env, C2P_MODE: mode });
    });
    afterAll(async () => {
      if (app) expect(await app.stop()).toBe(0);
      cleanup?.();
    });

    it('fulfil the order exactly once', async () => {
      await fiftyDuplicates(app, mode);
    });

    it('answer /healthz with 200 on every listener', async () => {
      for (const name of listeners) {
        const response = await fetch(new URL('/healthz', app.webhookUrls[name]));
        expect(response.status, name).toBe(200);
      }
    });
  },
);

describe('the order book guards fulfilment even when the sync-mode store forgets a key', () => {
  const forget: Array<
    [
      string,
      () => { env: Record<string, string>; cleanup?: () => void },
      (key: string, env: Record<string, string>) => Promise<void>,
    ]
  > = [
    [
      'sqlite',
      () => {
        const dir = tempDir();
        return { env: { C2P_STORE: `sqlite:${dir.path}/reference.db` }, cleanup: dir.remove };
      },
      async (key, env) => {
        const { default: Database } = await import('better-sqlite3');
        const db = new Database((env.C2P_STORE as string).slice('sqlite:'.length));
        db.prepare('DELETE FROM c2p_idempotency WHERE key = ?').run(key);
        db.close();
      },
    ],
    [
      'redis',
      () => ({ env: { C2P_STORE: serviceUrl('C2P_TEST_REDIS_URL') } }),
      async (key, env) => {
        const { createClient } = await import('redis');
        const client = createClient({ url: env.C2P_STORE });
        await client.connect();
        expect(await client.del(`c2p:idem:${key}`)).toBe(1);
        await client.close();
      },
    ],
  ];

  it.each(forget)(
    '%s: a redelivery past the store is processed but does not fulfil again',
    async (_name, setup, forgetKey) => {
      const { env, cleanup } = setup();
      const app = await startReference({ ...env, C2P_MODE: 'sync' });
      try {
        const id = crypto.randomUUID();
        const body = createBody(createEvent({ id }));
        expect(
          (await deliver({ url: app.webhookUrls.express, ...credentials, body })).delivered,
        ).toBe(true);
        await forgetKey(`payment-request:${id}:PAYMENT-COMPLETED:PAID`, env);
        const again = await deliver({
          url: app.webhookUrls.hono,
          ...credentials,
          body,
          attempts: 1,
        });
        expect(JSON.parse(again.attempts[0]?.responseBody ?? '')).toMatchObject({ processed: 1 });
        const { body: paid } = await order(app, id);
        expect(paid).toMatchObject({ state: 'paid', fulfilments: 1 });
        expect(paid.events).toHaveLength(1);
      } finally {
        expect(await app.stop()).toBe(0);
        cleanup?.();
      }
    },
  );
});

// Proofs from outside for "Operating it": the built app started as a user starts it
// (dist/main.js with settings in the environment), driven over real HTTP, with a real
// alert receiver and a real (or refusing) order system. Each test prints its counts.
import { createBody, createEvent, deliver } from '@c2p/testing';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AlertReceiver,
  closedPort,
  orderSystemOn,
  startAlertReceiver,
} from './support/alert-receiver.js';
import {
  credentials,
  type InboxEventBody,
  inboxEvent,
  type RunningReference,
  startReference,
  tempDir,
  waitFor,
} from './support/reference.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const paidKey = (id: string): string => `payment-request:${id}:PAYMENT-COMPLETED:PAID`;
const paid = (id: string) =>
  createBody(createEvent({ eventType: 'PAYMENT-COMPLETED', status: 'PAID', id }));
const failed = (id: string) =>
  createBody(createEvent({ eventType: 'PAYMENT-COMPLETED', status: 'FAILED', id }));

const send = (url: string, body: unknown, password = credentials.password) =>
  deliver({ url, username: credentials.username, password, body, attempts: 1, timeoutMs: 10_000 });

interface Admin {
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; text: string }>;
  post(path: string, headers?: Record<string, string>): Promise<{ status: number; text: string }>;
}

function admin(app: RunningReference, token?: string): Admin {
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const call = async (method: string, path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(new URL(path, app.adminUrl), {
      method,
      headers: { ...auth, ...headers },
    });
    return { status: response.status, text: await response.text() };
  };
  return {
    get: (path, headers) => call('GET', path, headers),
    post: (path, headers) => call('POST', path, headers),
  };
}

async function start(env: Record<string, string>): Promise<RunningReference> {
  const dir = tempDir();
  const app = await startReference({ C2P_STORE: `sqlite:${dir.path}/reference.db`, ...env });
  cleanups.push(
    () => dir.remove(),
    () => app.stop(),
  );
  return app;
}

async function receiver(): Promise<AlertReceiver> {
  const started = await startAlertReceiver();
  cleanups.push(() => started.close());
  return started;
}

/** The inbox event with key `key`, read with the admin token when there is one. */
async function eventByKey(
  app: RunningReference,
  key: string,
  token?: string,
): Promise<InboxEventBody | undefined> {
  if (!token) return inboxEvent(app, key);
  for (const state of ['pending', 'retrying', 'dead', 'processed']) {
    const { text } = await admin(app, token).get(`api/inbox?state=${state}&limit=500`);
    const listed = (JSON.parse(text) as { events: InboxEventBody[] }).events;
    const found = listed.find((e) => e.key === key);
    if (found) return found;
  }
  return undefined;
}

const settled = (
  app: RunningReference,
  key: string,
  state: InboxEventBody['state'],
  attempts?: number,
  token?: string,
) =>
  waitFor(
    `inbox event ${key} ${state}`,
    () => eventByKey(app, key, token),
    (e) => e?.state === state && (attempts === undefined || e.attempts === attempts),
    20_000,
  ) as Promise<InboxEventBody>;

/** One sample of a parsed metric family, matching `labels`; 0 when absent. */
function sample(
  families: ParsedFamily[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.find((f) => f.name === name);
  const found = family?.metrics.find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  return found?.value === undefined ? 0 : Number(found.value);
}
type ParsedFamily = {
  name: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string }>;
};

async function scrape(api: Admin): Promise<ParsedFamily[]> {
  const { status, text } = await api.get('metrics');
  expect(status).toBe(200);
  return parsePrometheusTextFormat(text) as ParsedFamily[];
}

describe('dead events: alerts and /healthz/inbox', () => {
  it('one dead alert per dead event, none for retrying attempts, another after a replay that dies; a failing receiver still gets each once', async () => {
    const orderPort = await closedPort();
    const alerts = await receiver();
    alerts.failNext = 2;
    const app = await start({
      C2P_FULFIL_URL: `http://127.0.0.1:${orderPort}/fulfil`,
      C2P_ALERT_URL: alerts.url,
      C2P_RETRY_MAX_ATTEMPTS: '3',
      C2P_RETRY_BASE_MS: '50',
    });
    const api = admin(app);
    const id = `pr-dead-${Date.now()}`;
    expect((await send(app.webhookUrls.express, paid(id))).attempts[0]?.status).toBe(200);
    const dead = await settled(app, paidKey(id), 'dead', 3);
    expect(dead.lastError).toContain(`ECONNREFUSED 127.0.0.1:${orderPort}`);
    const health = await api.get('healthz/inbox');
    expect(health.status).toBe(503);
    expect(JSON.parse(health.text)).toMatchObject({ ok: false, dead: 1 });

    // The receiver failed twice: the alert came a third time, once delivered.
    await waitFor(
      'the dead alert',
      async () => alerts.delivered().length,
      (n) => n === 1,
      20_000,
    );
    const [alert] = alerts.delivered();
    expect(alert).toMatchObject({
      alert: 'dead',
      event: {
        id: dead.id,
        key: paidKey(id),
        resource: `payment-request:${id}`,
        eventType: 'PAYMENT-COMPLETED',
        attempts: 3,
      },
    });
    expect(alert?.text).toContain('dead after 3 attempts');
    expect((alert?.event as { lastError: string } | undefined)?.lastError).toContain(
      'ECONNREFUSED',
    );
    expect(alerts.posts.map((p) => p.status)).toEqual([503, 503, 200]);
    expect(new Set(alerts.posts.map((p) => p.body.id)).size).toBe(1);

    // A replay that dies again: a second alert, and still none per retrying attempt.
    expect((await api.post(`api/inbox/${dead.id}/replay`)).status).toBe(200);
    await settled(app, paidKey(id), 'dead', 3);
    await waitFor(
      'the second dead alert',
      async () => alerts.delivered().length,
      (n) => n === 2,
      20_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const deadAlerts = alerts.delivered().filter((a) => a.alert === 'dead');
    expect(deadAlerts).toHaveLength(2);
    expect(alerts.delivered()).toHaveLength(2);
    expect((await api.get('healthz/inbox')).status).toBe(503);

    // The order system comes up; a replay is processed; /healthz/inbox is 200 again.
    const orders = await orderSystemOn(orderPort);
    cleanups.push(() => orders.close());
    expect((await api.post(`api/inbox/${dead.id}/replay`)).status).toBe(200);
    await settled(app, paidKey(id), 'processed');
    const healthy = await api.get('healthz/inbox');
    expect([healthy.status, JSON.parse(healthy.text)]).toEqual([200, { ok: true }]);
    console.info(
      `dead proof: attempts per death 3, dead alerts delivered ${deadAlerts.length} (2 deaths), retrying alerts 0, receiver POSTs ${alerts.posts.length} (2 refused), /healthz/inbox 503 -> ${healthy.status} after the replay`,
    );
  }, 90_000);
});

describe('/metrics', () => {
  it('counts a known sequence exactly, in text a Prometheus parser reads', async () => {
    const orderPort = await closedPort();
    const app = await start({
      C2P_FULFIL_URL: `http://127.0.0.1:${orderPort}/fulfil`,
      C2P_RETRY_MAX_ATTEMPTS: '2',
      C2P_RETRY_BASE_MS: '20',
    });
    const api = admin(app);
    const stamp = Date.now();
    // n = 3 accepted (one PAID, which dies: k = 1; two FAILED, processed), d = 2 duplicates, r = 2 refused (401).
    const bodies = [paid(`pr-m1-${stamp}`), failed(`pr-m2-${stamp}`), failed(`pr-m3-${stamp}`)];
    for (const body of bodies) await send(app.webhookUrls.express, body);
    for (const body of bodies.slice(1)) await send(app.webhookUrls.express, body);
    for (let i = 0; i < 2; i += 1)
      await send(app.webhookUrls.express, bodies[0], 'a-wrong-password-entirely');
    await settled(app, paidKey(`pr-m1-${stamp}`), 'dead', 2);
    const families = await scrape(api);
    const counts = {
      // Every accepted event is in the inbox, in some state.
      accepted: ['pending', 'retrying', 'dead', 'processed']
        .map((state) => sample(families, 'c2p_inbox_events', { state }))
        .reduce((a, b) => a + b, 0),
      ok200: sample(families, 'c2p_deliveries_total', {
        listener: 'express',
        status: '200',
        code: '',
      }),
      refused401: sample(families, 'c2p_deliveries_total', {
        listener: 'express',
        status: '401',
        code: 'UNAUTHORIZED',
      }),
      dead: sample(families, 'c2p_handler_attempts_total', { outcome: 'dead' }),
      processed: sample(families, 'c2p_handler_attempts_total', { outcome: 'processed' }),
      inboxDead: sample(families, 'c2p_inbox_events', { state: 'dead' }),
      inboxProcessed: sample(families, 'c2p_inbox_events', { state: 'processed' }),
    };
    expect(counts.accepted).toBe(3); // n
    expect(counts.ok200 - counts.accepted).toBe(2); // d: answered 200, nothing new stored
    expect(counts.ok200).toBe(5); // n + d
    expect(counts.refused401).toBe(2);
    expect(counts.dead).toBe(1);
    expect(counts.processed).toBe(2);
    expect(counts.inboxDead).toBe(1);
    expect(counts.inboxProcessed).toBe(2);
    expect(sample(families, 'c2p_handler_attempts_total', { outcome: 'retrying' })).toBe(1);
    const types = Object.fromEntries(families.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      c2p_deliveries_total: 'COUNTER',
      c2p_inbox_events: 'GAUGE',
      c2p_inbox_oldest_unfinished_age_seconds: 'GAUGE',
      c2p_inbox_paused: 'GAUGE',
      c2p_handler_attempts_total: 'COUNTER',
      c2p_handler_duration_seconds: 'HISTOGRAM',
    });
    const durations =
      families.find((f) => f.name === 'c2p_handler_duration_seconds')?.metrics ?? [];
    // One series: its +Inf bucket counts every attempt timed.
    const attemptsTimed = durations.reduce(
      (sum, m) => sum + Number((m as { buckets?: Record<string, string> }).buckets?.['+Inf'] ?? 0),
      0,
    );
    expect(attemptsTimed).toBe(4);
    console.info(
      `metrics proof: sent n=3 accepted, d=2 duplicates, r=2 with a wrong password, k=1 dead; scraped inbox events ${counts.accepted} (n), 200="" ${counts.ok200} (n+d), 401 ${counts.refused401}, attempts dead ${counts.dead}, processed ${counts.processed}, retrying 1, durations ${attemptsTimed}`,
    );
  }, 90_000);
});

describe('backlog and audit', () => {
  it('the oldest age grows between scrapes; backlog then recovered alerts; four audited requests', async () => {
    const orderPort = await closedPort();
    const alerts = await receiver();
    const token = 'an-admin-token-for-the-test';
    const app = await start({
      C2P_FULFIL_URL: `http://127.0.0.1:${orderPort}/fulfil`,
      C2P_ALERT_URL: alerts.url,
      C2P_ALERT_BACKLOG_S: '2',
      C2P_RETRY_MAX_ATTEMPTS: '2',
      C2P_RETRY_BASE_MS: '600000',
      ADMIN_TOKEN: token,
    });
    const api = admin(app, token);
    const id = `pr-slow-${Date.now()}`;
    await send(app.webhookUrls.hono, paid(id));
    const retrying = await settled(app, paidKey(id), 'retrying', 1, token);

    const first = await scrape(api);
    const t1 = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const second = await scrape(api);
    const elapsed = (Date.now() - t1) / 1000;
    const grown =
      sample(second, 'c2p_inbox_oldest_unfinished_age_seconds') -
      sample(first, 'c2p_inbox_oldest_unfinished_age_seconds');
    expect(Math.abs(grown - elapsed)).toBeLessThanOrEqual(1);

    await waitFor(
      'the backlog alert',
      async () => alerts.delivered().map((a) => a.alert),
      (a) => a.includes('backlog'),
      15_000,
    );
    const behind = await api.get('healthz/inbox');
    expect(behind.status).toBe(503);
    expect(JSON.parse(behind.text).oldestUnfinishedAgeSeconds).toBeGreaterThan(2);

    // The audit: a retry-now (the event dies: attempts spent), a replay, a 401 and a cross-origin 403.
    expect((await api.post(`api/inbox/${retrying.id}/retry-now`)).status).toBe(200);
    await settled(app, paidKey(id), 'dead', 2, token);
    expect((await api.post(`api/inbox/${retrying.id}/replay`)).status).toBe(200);
    expect((await admin(app).get('api/inbox')).status).toBe(401);
    expect(
      (await api.post(`api/inbox/${retrying.id}/retry-now`, { origin: 'http://evil.example' }))
        .status,
    ).toBe(403);
    const audit = JSON.parse((await api.get('api/audit')).text) as {
      entries: Array<{
        action: string;
        target: string;
        outcome: string;
        status: number;
        remoteAddress: string;
      }>;
      next: string | null;
    };
    expect(audit.entries.map((e) => [e.action, e.target, e.outcome, e.status])).toEqual([
      ['retry-now', `inbox:${retrying.id}`, 'refused', 403],
      ['GET /api/inbox', '/api/inbox', 'refused', 401],
      ['replay', `inbox:${retrying.id}`, 'ok', 200],
      ['retry-now', `inbox:${retrying.id}`, 'ok', 200],
    ]);
    expect(audit.entries[0]?.remoteAddress).toBe('127.0.0.1');
    const paged = JSON.parse((await api.get('api/audit?limit=3')).text) as {
      entries: unknown[];
      next: string;
    };
    const rest = JSON.parse((await api.get(`api/audit?limit=3&after=${paged.next}`)).text) as {
      entries: unknown[];
      next: null;
    };
    expect([paged.entries.length, rest.entries.length, rest.next]).toEqual([3, 1, null]);
    expect((await api.get('api/audit?since=1')).status).toBe(400);

    // The order system comes up: the event is processed, and the backlog recovers.
    const orders = await orderSystemOn(orderPort);
    cleanups.push(() => orders.close());
    await settled(app, paidKey(id), 'retrying', 1, token);
    expect((await api.post(`api/inbox/${retrying.id}/retry-now`)).status).toBe(200);
    await settled(app, paidKey(id), 'processed', undefined, token);
    await waitFor(
      'the recovered alert',
      async () => alerts.delivered().map((a) => a.alert),
      (a) => a.includes('recovered'),
      15_000,
    );
    const kinds = alerts.delivered().map((a) => a.alert);
    expect(kinds.filter((k) => k === 'backlog')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'recovered')).toHaveLength(1);
    expect((await api.get('healthz/inbox')).status).toBe(200);
    console.info(
      `backlog proof: age grew ${grown.toFixed(2)} s over ${elapsed.toFixed(2)} s between scrapes; alerts ${kinds.join(', ')}; audit entries ${audit.entries.length} (retry-now, replay, 401, 403)`,
    );
  }, 90_000);
});

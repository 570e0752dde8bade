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

/** When each handler attempt of this process started (epoch ms): its log line's time less its duration. */
const attemptStarts = (app: RunningReference): number[] =>
  app
    .stdout()
    .split('\n')
    .filter((line) => line.includes('"msg":"attempt"'))
    .map((line) => {
      const { time, durationMs } = JSON.parse(line) as { time: number; durationMs: number };
      return time - durationMs;
    });

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
  const starts = [attemptStarts(apps[0]), attemptStarts(apps[1])];
  const allStarts = starts.flat();
  const startedPerSecond = mostInWindow(allStarts, 1000);
  const arrivedPerSecond = mostInWindow(arrivals, 1000);
  const span = (Math.max(...allStarts) - Math.min(...allStarts)) / 1000;
  console.log(
    `[handler-rate] 50 events, C2P_HANDLER_RATE=5/s, C2P_WORKER_CONCURRENCY=2, two processes on one PostgreSQL: ` +
      `inbox ${JSON.stringify(counts)}; attempts per process ${starts[0]?.length} + ${starts[1]?.length}, ` +
      `most started in any 1 s window (sliding) ${startedPerSecond}, first to last start ${span.toFixed(2)} s; ` +
      `order system: ${arrivals.length} calls, ${new Set(orderSystem.keys).size} distinct keys, ` +
      `most arrived in any 1 s window ${arrivedPerSecond}, most in flight ${orderSystem.mostInFlight} ` +
      `(bound: 2 per process x 2 processes = 4)`,
  );
  expect(counts).toMatchObject({ processed: 50, pending: 0, retrying: 0, dead: 0 });
  expect(arrivals).toHaveLength(50);
  expect(allStarts).toHaveLength(50);
  expect(new Set(orderSystem.keys).size).toBe(50);
  // Both processes worked, sharing one rate: two gates of their own would start up to 10 a second.
  expect(starts[0]?.length).toBeGreaterThan(0);
  expect(starts[1]?.length).toBeGreaterThan(0);
  expect(startedPerSecond).toBeLessThanOrEqual(5);
  expect(orderSystem.mostInFlight).toBeLessThanOrEqual(4);
  // Where the calls arrive, each is later than its start by the transaction's first reads and
  // the HTTP call. The gate's 250 ms margin absorbs that spread in quiet runs (5); beside two
  // busy loops one call in 50 was once 250 ms later than the next and the order system counted
  // 6 in a second (1 run of 4). The README says so; the count is printed.
  expect(arrivedPerSecond).toBeLessThanOrEqual(6);
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

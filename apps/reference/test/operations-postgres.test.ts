/**
 * The inbox operations from outside, on PostgreSQL with two app processes, each
 * started as a user starts it (`node dist/main.js`, settings by env), both
 * accepting deliveries and running workers on one database:
 *
 * - paused through one process, both stop: 10 PAID deliveries accepted, no
 *   order-system call and no attempt for 10 s; resumed through the other, all
 *   10 processed within 10 s;
 * - both processes bulk-replay the same filter at once: 50 dead events are
 *   replayed once in all, 50 processed, one order-system call each;
 * - one process SIGKILLed while the replayed events run: the other finishes
 *   them, every order fulfilled.
 */
import { randomUUID } from 'node:crypto';
import { encodeBasicAuth } from '@c2p/core';
import { createEvent } from '@c2p/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboxCounts, sleep, startDownstream } from './faults/support/faults.js';
import {
  createDatabase,
  credentials,
  type RunningReference,
  serviceUrl,
  startReference,
  waitFor,
} from './support/reference.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The app's log: one `attempt` line per handler attempt. */
const attemptsIn = (app: RunningReference): number =>
  app
    .stdout()
    .split('\n')
    .filter((line) => line.includes('"msg":"attempt"')).length;

async function post<T>(
  app: RunningReference,
  path: string,
  body: unknown = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(new URL(path, app.adminUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

const authorization = encodeBasicAuth(credentials.username, credentials.password);

/** Delivers one PAID event per id to `app`'s hono listener; answers the statuses. */
function deliverPaid(app: RunningReference, ids: readonly string[]): Promise<number[]> {
  return Promise.all(
    ids.map(async (id) => {
      const response = await fetch(app.webhookUrls.hono, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify([createEvent({ id })]),
      });
      await response.arrayBuffer();
      return response.status;
    }),
  );
}

const waitCounts = (
  app: RunningReference,
  what: string,
  done: (c: Record<string, number>) => boolean,
  ms: number,
) => waitFor(what, async () => (await inboxCounts(app.adminUrl)) ?? {}, done, ms);

describe('inbox operations across two processes on one PostgreSQL', () => {
  let downstream: Awaited<ReturnType<typeof startDownstream>>;
  let one: RunningReference;
  let other: RunningReference;

  beforeAll(async () => {
    const database = await createDatabase(serviceUrl('C2P_TEST_POSTGRES_URL'));
    cleanups.push(database.drop);
    downstream = await startDownstream();
    cleanups.push(downstream.close);
    const env = {
      C2P_STORE: database.url,
      C2P_MODE: 'inbox',
      C2P_ADAPTERS: 'hono',
      C2P_FULFIL_URL: downstream.url,
      C2P_WORKER_CONCURRENCY: '2',
      C2P_RETRY_MAX_ATTEMPTS: '1',
      LOG_LEVEL: 'info',
    };
    one = await startReference(env);
    cleanups.push(() => one.stop('SIGKILL'));
    other = await startReference(env);
    cleanups.push(() => other.stop('SIGKILL'));
  }, 90_000);

  it('paused through one process, both stop; resumed through the other, all run', async () => {
    expect(await post(one, 'api/inbox/pause')).toEqual({ status: 200, body: { paused: true } });
    const ids = Array.from({ length: 10 }, () => randomUUID());
    const statuses = [
      ...(await deliverPaid(one, ids.slice(0, 5))),
      ...(await deliverPaid(other, ids.slice(5))),
    ];
    expect(statuses).toEqual(Array(10).fill(200));
    await sleep(10_000);
    const held = await inboxCounts(other.adminUrl);
    const attempts = attemptsIn(one) + attemptsIn(other);
    console.log(
      `[pause] 10 accepted while paused; after 10 s: order-system calls ${downstream.received}, attempts ${attempts}, inbox ${JSON.stringify(held)}`,
    );
    expect(downstream.received).toBe(0);
    expect(attempts).toBe(0);
    expect(held).toMatchObject({ pending: 10, processed: 0 });

    const resumedAt = Date.now();
    expect(await post(other, 'api/inbox/resume')).toEqual({
      status: 200,
      body: { paused: false },
    });
    await waitCounts(one, 'all 10 processed after resume', (c) => c.processed === 10, 10_000);
    console.log(`[pause] resumed: 10 processed in ${Date.now() - resumedAt} ms`);
    expect(
      new Set(downstream.calls.filter((call) => call.status === 200).map((call) => call.key)).size,
    ).toBe(10);
  }, 60_000);

  it('replays each of 50 dead events once when both processes bulk-replay the same filter at once', async () => {
    downstream.status = 503;
    const ids = Array.from({ length: 50 }, () => randomUUID());
    expect(await deliverPaid(one, ids)).toEqual(Array(50).fill(200));
    await waitCounts(one, '50 dead', (c) => c.dead === 50, 30_000);
    downstream.status = 200;
    const before = downstream.calls.length;

    const filter = { state: 'dead', eventType: 'PAYMENT-COMPLETED' };
    expect(await post(one, 'api/inbox/replay', { ...filter, dryRun: true })).toEqual({
      status: 200,
      body: { matched: 50 },
    });
    const replays = await Promise.all([
      post<{ replayed: number }>(one, 'api/inbox/replay', filter),
      post<{ replayed: number }>(other, 'api/inbox/replay', filter),
    ]);
    const replayedAt = Date.now();
    expect(replays.map((answer) => answer.status)).toEqual([200, 200]);
    expect(replays[0].body.replayed + replays[1].body.replayed).toBe(50);
    const counts = await waitCounts(one, '50 processed', (c) => c.processed === 60, 30_000);
    const calls = downstream.calls.slice(before);
    const keys = new Set(calls.map((call) => call.key));
    console.log(
      `[bulk replay] replayed ${replays[0].body.replayed} + ${replays[1].body.replayed} at once; ` +
        `processed in ${Date.now() - replayedAt} ms; inbox ${JSON.stringify(counts)}; ` +
        `${calls.length} order-system calls for ${keys.size} keys`,
    );
    expect(counts).toMatchObject({ dead: 0, processed: 60 });
    await sleep(1_000);
    expect(downstream.calls.length - before).toBe(50);
    expect(keys.size).toBe(50);
    expect(await post(other, 'api/inbox/replay', filter)).toEqual({
      status: 200,
      body: { replayed: 0 },
    });
  }, 120_000);

  it('finishes the replayed events in the other process when one is SIGKILLed mid-way', async () => {
    downstream.status = 503;
    const ids = Array.from({ length: 40 }, () => randomUUID());
    expect(await deliverPaid(other, ids)).toEqual(Array(40).fill(200));
    await waitCounts(other, '40 dead', (c) => c.dead === 40, 30_000);
    downstream.status = 200;
    downstream.delayMs = 150;
    const before = downstream.calls.length;
    const received = downstream.received;
    const replayed = await post<{ replayed: number }>(one, 'api/inbox/replay', {});
    expect(replayed.body).toEqual({ replayed: 40 });
    while (downstream.received - received < 8) await sleep(20);
    await one.stop('SIGKILL');
    const counts = await waitCounts(
      other,
      'every event processed by the survivor',
      (c) => c.processed === 100,
      90_000,
    );
    await sleep(500);
    const calls = downstream.calls.slice(before);
    const fulfilled = new Set(calls.filter((call) => call.status === 200).map((c) => c.key));
    console.log(
      `[sigkill] inbox ${JSON.stringify(counts)}; ${calls.length} order-system calls after the replay ` +
        `for ${fulfilled.size} keys (a killed attempt's call may come again, same key)`,
    );
    expect(counts).toMatchObject({ pending: 0, retrying: 0, dead: 0, processed: 100 });
    expect(fulfilled.size).toBe(40);
  }, 120_000);
});

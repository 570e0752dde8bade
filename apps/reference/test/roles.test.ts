/**
 * C2P_ROLE from outside: one listener process and two worker processes on one
 * PostgreSQL inbox, each started as a user starts it (`node dist/main.js`).
 * The listener runs no handlers; the workers open no webhook port and are given
 * no webhook credentials. One worker is SIGKILLed while the order system is
 * slow, so it dies holding leases in the middle of handlers. Every event must
 * still be processed, and every paid order fulfilled exactly once in the order
 * book; the order system may see a killed attempt's call again, always with
 * the same Idempotency-Key.
 */
import { randomUUID } from 'node:crypto';
import { encodeBasicAuth } from '@c2p/core';
import { createEvent } from '@c2p/testing';
import { afterAll, expect, it } from 'vitest';
import { inboxCounts, readOrder, sleep, startDownstream } from './faults/support/faults.js';
import {
  createDatabase,
  credentials,
  type RunningReference,
  serviceUrl,
  startReference,
} from './support/reference.js';

const orders = 60;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The worker's log: one `attempt` line per handler attempt. */
const attemptsIn = (app: RunningReference): number =>
  app
    .stdout()
    .split('\n')
    .filter((line) => line.includes('"msg":"attempt"')).length;

it('splits intake and work: two workers and a listener share one PostgreSQL inbox, one worker SIGKILLed', async () => {
  const database = await createDatabase(serviceUrl('C2P_TEST_POSTGRES_URL'));
  cleanups.push(database.drop);
  const downstream = await startDownstream();
  cleanups.push(downstream.close);
  downstream.delayMs = 150;
  const common = { C2P_STORE: database.url, C2P_MODE: 'inbox', LOG_LEVEL: 'info' };
  const listener = await startReference({
    ...common,
    C2P_ROLE: 'listener',
    C2P_ADAPTERS: 'fastify',
  });
  cleanups.push(() => listener.stop());
  const worker = {
    ...common,
    C2P_ROLE: 'worker',
    C2P_FULFIL_URL: downstream.url,
    C2P_WORKER_CONCURRENCY: '3',
    C2P_WEBHOOK_USERNAME: undefined,
    C2P_WEBHOOK_PASSWORD: undefined,
  };
  const workers = [await startReference(worker), await startReference(worker)];
  for (const running of workers) cleanups.push(() => running.stop('SIGKILL'));
  expect(Object.keys(listener.webhookUrls)).toEqual(['fastify']);
  for (const running of workers) expect(running.webhookUrls).toEqual({});

  const ids = Array.from({ length: orders }, () => randomUUID());
  const authorization = encodeBasicAuth(credentials.username, credentials.password);
  const statuses = await Promise.all(
    ids.map(async (id) => {
      const response = await fetch(listener.webhookUrls.fastify, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify([createEvent({ id })]),
      });
      await response.arrayBuffer();
      return response.status;
    }),
  );
  expect(statuses.filter((status) => status === 200)).toHaveLength(orders);

  // Kill one worker while both are mid-handler (slow order system).
  while (downstream.received < orders / 4) await sleep(20);
  const [killed, survivor] = workers as [RunningReference, RunningReference];
  const killedAttempts = attemptsIn(killed);
  await killed.stop('SIGKILL');

  const deadline = Date.now() + 90_000;
  let counts = await inboxCounts(listener.adminUrl);
  while ((counts?.processed ?? 0) < orders && Date.now() < deadline) {
    await sleep(250);
    counts = await inboxCounts(listener.adminUrl);
  }
  const views = await Promise.all(ids.map((id) => readOrder(listener.adminUrl, id)));
  const fulfilledOnce = views.filter((view) => view?.state === 'paid' && view.fulfilments === 1);
  const byOrder = downstream.byOrder();
  const keysPerOrder = [...byOrder.values()].map((entry) => entry.keys.size);
  const repeatedCalls = [...byOrder.values()].reduce((sum, entry) => sum + entry.calls - 1, 0);
  console.log(
    `[roles] ${orders} accepted by the listener; inbox ${JSON.stringify(counts)}; ` +
      `${fulfilledOnce.length}/${orders} orders fulfilled exactly once; order system: ${downstream.calls.length} calls ` +
      `for ${byOrder.size} orders, ${repeatedCalls} repeated with the same key after the kill; ` +
      `attempts: killed worker ${killedAttempts} before SIGKILL, survivor ${attemptsIn(survivor)}, listener ${attemptsIn(listener)}`,
  );
  expect(counts).toMatchObject({ processed: orders, pending: 0, retrying: 0, dead: 0 });
  expect(fulfilledOnce).toHaveLength(orders);
  expect(byOrder.size).toBe(orders);
  expect(keysPerOrder.every((size) => size === 1)).toBe(true);
  // Both workers worked, and the listener ran no handler.
  expect(killedAttempts).toBeGreaterThan(0);
  expect(attemptsIn(survivor)).toBeGreaterThan(0);
  expect(attemptsIn(listener)).toBe(0);
}, 180_000);

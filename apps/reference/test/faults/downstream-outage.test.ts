/**
 * The merchant's order system (`C2P_FULFIL_URL`) answers 503 for 8 s, longer
 * than Clik2pay's three attempts (1 s and 2 s apart), then 200 again.
 *
 * - inbox mode: every delivery is answered 200 at once; c2p retries the
 *   fulfilment on its own schedule, so after recovery every paid order is
 *   fulfilled once, and the order system saw one Idempotency-Key per order
 *   (the same key repeated across retries, never a second key).
 * - sync mode: the 2xx waits for the handler, so Clik2pay's three attempts are
 *   all spent during the outage (500 each) and the order stays unfulfilled:
 *   the loss this mode accepts, shown and counted here.
 */
import { randomUUID } from 'node:crypto';
import { createEvent } from '@c2p/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceUrl, tempDir } from '../support/reference.js';
import {
  createDatabase,
  type Expectation,
  ms,
  requireInbox,
  settleOrders,
  sleep,
  startDownstream,
  supervise,
} from './support/faults.js';
import { createTally, describeOutcomes, type OrderPlan, sendOrder } from './support/stream.js';

const outageMs = 8_000;
const paidOrders = 20;
const failedOrders = 5;

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function storeEnv(store: 'sqlite' | 'postgres'): Promise<string> {
  if (store === 'sqlite') {
    const dir = tempDir();
    cleanups.push(dir.remove);
    return `sqlite:${dir.path}/reference.db`;
  }
  const database = await createDatabase(serviceUrl('C2P_TEST_POSTGRES_URL'));
  cleanups.push(database.drop);
  return database.url;
}

/** Each paid order: its PAID, and a duplicate of it 500 ms later; failed orders: one FAILED. */
function plans(): OrderPlan[] {
  const list: OrderPlan[] = [];
  for (let i = 0; i < paidOrders; i++) {
    const id = randomUUID();
    const paid = [createEvent({ id })];
    list.push({
      id,
      expect: 'paid',
      deliveries: [
        { delayMs: i * 50, body: paid, pays: true },
        { delayMs: i * 50 + 500, body: paid, pays: true },
      ],
    });
  }
  for (let i = 0; i < failedOrders; i++) {
    const id = randomUUID();
    list.push({
      id,
      expect: 'failed',
      deliveries: [
        { delayMs: i * 50, body: [createEvent({ id, eventType: 'PAYMENT-FAILED' })], pays: false },
      ],
    });
  }
  return list;
}

describe.concurrent('the order system is down for 8 s, then back', () => {
  for (const store of ['sqlite', 'postgres'] as const) {
    it(`${store} store, inbox mode: every paid order fulfilled once after recovery, one key per order`, async () => {
      const downstream = await startDownstream();
      cleanups.push(downstream.close);
      downstream.status = 503;
      const listener = await supervise({
        adapter: 'fastify',
        env: {
          C2P_STORE: await storeEnv(store),
          C2P_MODE: 'inbox',
          C2P_FULFIL_URL: downstream.url,
        },
      });
      cleanups.push(async () => {
        await listener.stop();
      });
      await requireInbox(listener.adminUrl);

      const started = performance.now();
      const tally = createTally();
      await Promise.all(plans().map((plan) => sendOrder(() => listener.webhookUrl, tally, plan)));
      const acceptedIn = performance.now() - started;
      await sleep(Math.max(0, started + outageMs - performance.now()));
      const during = downstream.calls.length;
      downstream.status = 200;
      const recovered = performance.now();

      const views = await settleOrders(listener.adminUrl, tally.orders, 90_000);
      const settledIn = performance.now() - recovered;
      const byOrder = downstream.byOrder();
      let fulfilledOnce = 0;
      let keysOff = 0;
      let failedRight = 0;
      for (const [id, expected] of tally.orders) {
        const view = views.get(id);
        if (expected === 'paid' && view?.state === 'paid' && view.fulfilments === 1)
          fulfilledOnce++;
        if (expected === 'failed' && view?.state === 'failed' && view.fulfilments === 0)
          failedRight++;
        const calls = byOrder.get(id);
        if (expected === 'paid' ? calls?.keys.size !== 1 : calls !== undefined) keysOff++;
      }
      const calls = downstream.calls.length;
      console.log(
        `[outage ${store}/inbox] deliveries ${tally.deliveries}: ${describeOutcomes(tally.outcomes)} (all answered in ${ms(acceptedIn)}); ` +
          `order system: ${during} calls answered 503 during the outage, ${calls - during} after; ` +
          `${byOrder.size} orders called, distinct keys per order ${[...new Set([...byOrder.values()].map((o) => o.keys.size))].join('/')}, ` +
          `repeats of a key ${calls - byOrder.size}; fulfilled once ${fulfilledOnce}/${paidOrders} ` +
          `${ms(settledIn)} after recovery; failed ${failedRight}/${failedOrders}`,
      );
      expect(tally.failedAllThree).toHaveLength(0);
      expect(during).toBeGreaterThan(0);
      expect({ fulfilledOnce, failedRight, keysOff }).toEqual({
        fulfilledOnce: paidOrders,
        failedRight: failedOrders,
        keysOff: 0,
      });
    }, 150_000);
  }

  it('sqlite store, sync mode: the loss is shown: Clik2pay gives up during the outage, the orders stay unfulfilled', async () => {
    const downstream = await startDownstream();
    cleanups.push(downstream.close);
    downstream.status = 503;
    const listener = await supervise({
      adapter: 'fastify',
      env: {
        C2P_STORE: await storeEnv('sqlite'),
        C2P_MODE: 'sync',
        C2P_FULFIL_URL: downstream.url,
      },
    });
    cleanups.push(async () => {
      await listener.stop();
    });

    const started = performance.now();
    const tally = createTally();
    await Promise.all(plans().map((plan) => sendOrder(() => listener.webhookUrl, tally, plan)));
    const spentIn = performance.now() - started;
    // The outage lasts until Clik2pay has given up on every delivery, and at least 8 s.
    await sleep(Math.max(0, started + outageMs - performance.now()));
    downstream.status = 200;

    // Nobody delivers again: give the app time to show it does nothing more.
    await sleep(3_000);
    const expected = new Map<string, Expectation>(tally.orders);
    const views = await settleOrders(listener.adminUrl, expected, 0);
    let lost = 0;
    let failedRight = 0;
    for (const [id, want] of tally.orders) {
      const view = views.get(id);
      if (want === 'paid' && (view?.fulfilments ?? 0) === 0) lost++;
      if (want === 'failed' && view?.state === 'failed') failedRight++;
    }
    const paidDeliveriesLost = tally.failedAllThree.length;
    console.log(
      `[outage sqlite/sync] deliveries ${tally.deliveries}: ${describeOutcomes(tally.outcomes)}; ` +
        `failed all three attempts ${paidDeliveriesLost} (all within ${ms(spentIn)}, before the order system came back; ` +
        `slowest attempt ${ms(Math.max(...tally.results.flatMap((r) => r.result.attempts.map((a) => a.durationMs))))}); ` +
        `paid orders lost ${lost}/${paidOrders}; order system calls ${downstream.calls.length} (all 503: ` +
        `${downstream.calls.every((c) => c.status === 503)}); failed ${failedRight}/${failedOrders}`,
    );
    // What sync mode cannot do: every PAID delivery failed all three attempts, and every paid order is lost.
    expect(paidDeliveriesLost).toBe(paidOrders * 2);
    expect(lost).toBe(paidOrders);
    expect(failedRight).toBe(failedOrders);
  }, 60_000);
});

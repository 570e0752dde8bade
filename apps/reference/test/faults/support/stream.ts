import { randomUUID } from 'node:crypto';
import { createEvent, type DeliveryAttempt, type DeliveryResult, deliver } from '@c2p/testing';
import { credentials, type Expectation, sleep } from './faults.js';

/** One planned delivery of an order's script. */
export interface Planned {
  /** From the start of the order's script. */
  delayMs: number;
  body: unknown;
  /** Whether it carries the order's PAID. */
  pays: boolean;
}

/** One payment request's deliveries, and what the order should end as. */
export interface OrderPlan {
  id: string;
  expect: Expectation;
  deliveries: Planned[];
}

/**
 * The deliveries Clik2pay might send about one payment request: a paid order
 * gets its `PAID` once or more (duplicates, some at the same moment), often
 * after a followed link, sometimes after a failed try, sometimes in one body
 * with a `PAYMENT-PROCESSING`; a failed order gets its `FAILED`, maybe twice.
 * Arrival order is random, as Clik2pay promises no order.
 */
export function planOrder(random: () => number = Math.random): OrderPlan {
  const id = randomUUID();
  const at = (maxMs: number): number => Math.floor(random() * maxMs);
  const deliveries: Planned[] = [];
  if (random() < 0.5) {
    deliveries.push({
      delayMs: at(300),
      body: [createEvent({ id, eventType: 'PAYMENT-LINK-FOLLOWED' })],
      pays: false,
    });
  }
  if (random() < 0.6) {
    if (random() < 0.25) {
      deliveries.push({
        delayMs: at(600),
        body: [createEvent({ id, eventType: 'PAYMENT-FAILED' })],
        pays: false,
      });
    }
    const paid = createEvent({ id });
    const first = at(800);
    const body =
      random() < 0.2 ? [createEvent({ id, eventType: 'PAYMENT-PROCESSING' }), paid] : [paid];
    deliveries.push({ delayMs: first, body, pays: true });
    // Duplicates: one at the same moment now and then, and later copies.
    if (random() < 0.3) deliveries.push({ delayMs: first, body: [paid], pays: true });
    const copies = Math.floor(random() * 3);
    for (let i = 0; i < copies; i++) {
      deliveries.push({ delayMs: first + at(1500), body: [paid], pays: true });
    }
    return { id, expect: 'paid', deliveries };
  }
  const failed = createEvent({ id, eventType: 'PAYMENT-FAILED' });
  const first = at(800);
  deliveries.push({ delayMs: first, body: [failed], pays: false });
  if (random() < 0.5) deliveries.push({ delayMs: first + at(1500), body: [failed], pays: false });
  return { id, expect: 'failed', deliveries };
}

/** What the simulator saw over a whole stream. */
export interface StreamTally {
  orders: Map<string, Expectation>;
  deliveries: number;
  attempts: number;
  /** Attempts by outcome: `200`, `409`, `503`, `refused` (listener down), `cut` (connection lost mid-request)… */
  outcomes: Map<string, number>;
  /** Deliveries none of whose three attempts got a 2xx. */
  failedAllThree: Array<{ orderId: string; attempts: DeliveryAttempt[] }>;
  /** Time to the answer of each attempt that got a 2xx. */
  acceptedMs: number[];
  /** Every delivery, with the events it carried. */
  results: Array<{ orderId: string; pays: boolean; body: unknown; result: DeliveryResult }>;
}

export function createTally(): StreamTally {
  return {
    orders: new Map(),
    deliveries: 0,
    attempts: 0,
    outcomes: new Map(),
    failedAllThree: [],
    acceptedMs: [],
    results: [],
  };
}

/** How an attempt ended, in one word. */
export function outcomeOf(report: DeliveryAttempt): string {
  if (report.status !== null) return String(report.status);
  if (report.outcome === 'timeout') return 'timeout';
  if (report.error?.includes('ECONNREFUSED')) return 'refused';
  return 'cut';
}

function record(
  tally: StreamTally,
  orderId: string,
  delivery: Planned,
  result: DeliveryResult,
): void {
  tally.deliveries++;
  tally.results.push({ orderId, pays: delivery.pays, body: delivery.body, result });
  for (const attempt of result.attempts) {
    tally.attempts++;
    const outcome = outcomeOf(attempt);
    tally.outcomes.set(outcome, (tally.outcomes.get(outcome) ?? 0) + 1);
    if (attempt.outcome === 'delivered') tally.acceptedMs.push(attempt.durationMs);
  }
  if (!result.delivered) tally.failedAllThree.push({ orderId, attempts: result.attempts });
}

/** Sends one order's script with Clik2pay's three attempts, 1 s and 2 s apart. */
export async function sendOrder(
  url: () => string,
  tally: StreamTally,
  plan: OrderPlan,
): Promise<void> {
  tally.orders.set(plan.id, plan.expect);
  const started = performance.now();
  await Promise.all(
    plan.deliveries.map(async (delivery) => {
      await sleep(Math.max(0, started + delivery.delayMs - performance.now()));
      const result = await deliver({
        url: url(),
        ...credentials,
        body: delivery.body,
        attempts: 3,
        backoffMs: 1000,
        timeoutMs: 10_000,
      });
      record(tally, plan.id, delivery, result);
    }),
  );
}

/**
 * Starts a new order every `1000 / ordersPerSecond` ms until `until()` says
 * stop, then waits for every delivery (and its retries) to end.
 */
export async function runStream(options: {
  url: () => string;
  tally: StreamTally;
  ordersPerSecond: number;
  until: () => boolean;
  plan?: () => OrderPlan;
}): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  const every = 1000 / options.ordersPerSecond;
  let next = performance.now();
  while (!options.until()) {
    const promise = sendOrder(options.url, options.tally, (options.plan ?? planOrder)());
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
    next += every;
    await sleep(Math.max(0, next - performance.now()));
  }
  await Promise.all(inFlight);
}

/** `200 1234, refused 56, …`, most frequent first. */
export function describeOutcomes(outcomes: Map<string, number>): string {
  return [...outcomes.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
}

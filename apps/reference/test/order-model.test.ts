import { createHandlers, createMemoryStore, createWebhooks, encodeBasicAuth } from '@c2p/core';
import type { WebhookRequest } from '@c2p/core/kit';
import { createBody, createEvent, type FactoryEvent } from '@c2p/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type OrderState, orderStates } from '../src/order.js';
import { createMemoryOrderBook } from '../src/order-books/memory-order-book.js';
import { registerOrderHandlers } from '../src/order-handlers.js';

// Model-based: random sequences of duplicated, reordered, partly concurrent
// deliveries for many orders, through core's pipeline and the app's handlers and
// order book, must end where a simple model says, never moving an order back, and
// with exactly one fulfilment per order that received a PAID.

const credentials = { username: 'clik2pay', password: 'model-test-password' };
const authorization = encodeBasicAuth(credentials.username, credentials.password);
const request = (body: unknown): WebhookRequest => ({
  method: 'POST',
  header: (name) => (name === 'authorization' ? authorization : undefined),
  body: JSON.stringify(body),
  peerAddress: '127.0.0.1',
});

/** The events one order can receive, with the state each one means in the model. */
const catalogue: Array<{
  name: string;
  target: OrderState | undefined;
  make(orderId: string): FactoryEvent;
}> = [
  {
    name: 'link',
    target: 'link-followed',
    make: (id) => createEvent({ id, eventType: 'PAYMENT-LINK-FOLLOWED' }),
  },
  {
    name: 'processing',
    target: 'processing',
    make: (id) => createEvent({ id, eventType: 'PAYMENT-PROCESSING' }),
  },
  {
    name: 'failed',
    target: 'failed',
    make: (id) => createEvent({ id, eventType: 'PAYMENT-FAILED' }),
  },
  { name: 'paid', target: 'paid', make: (id) => createEvent({ id }) },
  { name: 'paid-lower', target: 'paid', make: (id) => createEvent({ id, status: 'paid' }) },
  {
    name: 'completed-active',
    target: undefined,
    make: (id) => createEvent({ id, status: 'ACTIVE' }),
  },
  {
    name: 'refund',
    target: 'refunded',
    make: (id) => createEvent({ kind: 'payment', resource: { paymentRequestId: id } }),
  },
  {
    name: 'refund-paid',
    target: undefined,
    make: (id) =>
      createEvent({ kind: 'payment', status: 'PAID', resource: { paymentRequestId: id } }),
  },
  {
    name: 'unknown',
    target: undefined,
    make: (id) => createEvent({ id, eventType: 'PAYMENT-REVERSED' }),
  },
];

const rank = (state: OrderState): number => orderStates.indexOf(state);

/** One order: which catalogue events it gets, and how many copies of each are delivered. */
const orderArbitrary = fc.uniqueArray(
  fc.record({
    event: fc.nat({ max: catalogue.length - 1 }),
    copies: fc.integer({ min: 1, max: 3 }),
  }),
  { minLength: 1, maxLength: 5, selector: (e) => e.event },
);

const scenario = fc.array(orderArbitrary, { minLength: 1, maxLength: 8 }).chain((orders) => {
  const deliveries = orders.flatMap((events, order) =>
    events.flatMap(({ event, copies }) => Array.from({ length: copies }, () => ({ order, event }))),
  );
  return fc.record({
    orders: fc.constant(orders),
    // Any order of arrival, and any grouping of neighbours arriving at once.
    deliveries: fc.shuffledSubarray(deliveries, { minLength: deliveries.length }),
    together: fc.array(fc.boolean(), {
      minLength: deliveries.length,
      maxLength: deliveries.length,
    }),
  });
});

describe('the order book under duplicated, reordered deliveries (model-based)', () => {
  it('ends every order where the model says, never moving back, fulfilling each paid order once', async () => {
    let runs = 0;
    let delivered = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ orders, deliveries, together }) => {
        runs++;
        const book = createMemoryOrderBook();
        const webhooks = createWebhooks({
          credentials,
          allowedIps: ['loopback'],
          store: createMemoryStore(),
          handlers: registerOrderHandlers(createHandlers(), async (event, context) => {
            await book.apply(event, context.tx);
          }),
        });
        const ids = orders.map(() => crypto.randomUUID());
        // One wire event per (order, catalogue entry): its copies are the same body.
        const bodies = new Map<string, unknown>();
        const bodyOf = (order: number, event: number): unknown => {
          const key = `${order}:${event}`;
          if (!bodies.has(key))
            bodies.set(
              key,
              createBody(
                (catalogue[event] as (typeof catalogue)[number]).make(ids[order] as string),
              ),
            );
          return bodies.get(key);
        };
        const seen = new Map<string, number>();
        const check = async (): Promise<void> => {
          for (const id of ids) {
            const state = (await book.get(id))?.state ?? 'new';
            expect(rank(state)).toBeGreaterThanOrEqual(seen.get(id) ?? 0);
            seen.set(id, rank(state));
          }
        };
        // Deliver, retrying a 409 (a concurrent copy in progress) as Clik2pay would.
        const deliver = async (body: unknown): Promise<void> => {
          for (let attempt = 0; ; attempt++) {
            const { status } = await webhooks.handle(request(body));
            if (status === 200) return;
            expect(status).toBe(409);
            expect(attempt).toBeLessThan(50);
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        };
        let batch: Array<Promise<void>> = [];
        for (const [i, { order, event }] of deliveries.entries()) {
          batch.push(deliver(bodyOf(order, event)));
          if (!together[i]) {
            await Promise.all(batch);
            batch = [];
            await check();
          }
        }
        await Promise.all(batch);
        await check();
        delivered += deliveries.length;

        let fulfilments = 0;
        let paidOrders = 0;
        for (const [n, events] of orders.entries()) {
          const targets = events.flatMap(({ event }) => {
            const target = catalogue[event]?.target;
            return target ? [target] : [];
          });
          const expected = targets.reduce<OrderState>((a, b) => (rank(b) > rank(a) ? b : a), 'new');
          const paid = targets.includes('paid');
          const order = await book.get(ids[n] as string);
          expect(order?.state ?? 'new').toBe(expected);
          expect(order?.fulfilments ?? 0).toBe(paid ? 1 : 0);
          // Each distinct event is applied once, however many copies arrived.
          expect(order?.events.length ?? 0).toBe(events.length);
          fulfilments += order?.fulfilments ?? 0;
          if (paid) paidOrders++;
        }
        expect(fulfilments).toBe(paidOrders);
      }),
      { numRuns: 300 },
    );
    console.log(`order model: ${runs} runs, ${delivered} deliveries`);
  });
});

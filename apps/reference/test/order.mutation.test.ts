import { createHandlers, createMemoryStore, createWebhooks, encodeBasicAuth } from '@c2p/core';
import type { WebhookRequest } from '@c2p/core/kit';
import { createBody, createEvent } from '@c2p/testing';
import { describe, expect, it } from 'vitest';
import { applyOrderEvent, fulfils, type Order, type OrderEvent } from '../src/order.js';
import { registerOrderHandlers } from '../src/order-handlers.js';

// Cases the mutation run (npm run mutation -- reference) found unguarded: each
// `it` names what a planted bug would have got past the other order tests.

const event = (key: string, target: OrderEvent['target']): OrderEvent => ({
  key,
  orderId: 'pr-1',
  eventType: 'PAYMENT-COMPLETED',
  kind: 'payment-request',
  status: null,
  amount: 1,
  merchantTransactionId: null,
  target,
});

function run(...events: OrderEvent[]): Order {
  let order: Order | undefined;
  for (const e of events) order = applyOrderEvent(order, e) ?? order;
  if (!order) throw new Error('no event applied');
  return order;
}

describe('the order transition, at its edges', () => {
  it('recognises a duplicate of any event it keeps, not only when it is the only one', () => {
    const order = run(event('a', 'processing'), event('b', 'failed'));
    expect(applyOrderEvent(order, event('a', 'processing'))).toBeUndefined();
    expect(applyOrderEvent(order, event('b', 'failed'))).toBeUndefined();
  });

  it('records, without moving, an event whose target is the state the order is in', () => {
    const order = run(event('a', 'processing'), event('b', 'processing'));
    expect(order.state).toBe('processing');
    expect(order.events.map((e) => e.effect)).toEqual(['moved', 'recorded']);
  });

  it('keeps the last 50 events of an order, dropping the oldest', () => {
    const keys = Array.from({ length: 51 }, (_, i) => `k${i}`);
    const order = run(...keys.map((key) => event(key, undefined)));
    expect(order.events).toHaveLength(50);
    expect(order.events[0]?.key).toBe('k1');
    expect(order.events[49]?.key).toBe('k50');
  });
});

describe('fulfils (decided before the transition is written)', () => {
  it('is true for the first paid event of a new order', () => {
    expect(fulfils(undefined, event('a', 'paid'))).toBe(true);
  });

  it('is true for a paid event after a refund that arrived first', () => {
    expect(fulfils(run(event('r', 'refunded')), event('a', 'paid'))).toBe(true);
  });

  it('is false once the order was fulfilled, for another paid event or any other', () => {
    const paid = run(event('a', 'paid'));
    expect(fulfils(paid, event('b', 'paid'))).toBe(false);
    expect(fulfils(paid, event('c', 'refunded'))).toBe(false);
    expect(fulfils(paid, event('d', undefined))).toBe(false);
  });

  it('is false for a duplicate, and for an event that does not pay', () => {
    expect(fulfils(run(event('a', 'paid')), event('a', 'paid'))).toBe(false);
    expect(fulfils(undefined, event('a', 'processing'))).toBe(false);
    expect(fulfils(run(event('a', 'failed')), event('b', undefined))).toBe(false);
  });
});

describe('what the handlers hand the order book, for fields the event leaves out', () => {
  const credentials = { username: 'clik2pay', password: 'mutation-test-password' };
  const authorization = encodeBasicAuth(credentials.username, credentials.password);

  async function seen(body: unknown): Promise<OrderEvent[]> {
    const events: OrderEvent[] = [];
    const webhooks = createWebhooks({
      credentials,
      allowedIps: ['loopback'],
      store: createMemoryStore(),
      handlers: registerOrderHandlers(createHandlers(), async (orderEvent) => {
        events.push(orderEvent);
      }),
    });
    const request: WebhookRequest = {
      method: 'POST',
      header: (name) =>
        name === 'authorization'
          ? authorization
          : name === 'content-type'
            ? 'application/json'
            : undefined,
      body: JSON.stringify(body),
      peerAddress: '127.0.0.1',
    };
    expect((await webhooks.handle(request)).status).toBe(200);
    return events;
  }

  it('answers null, never undefined, for a missing amount and merchantTransactionId', async () => {
    const bare = createEvent({ id: 'pr-bare' });
    delete (bare.resource as Record<string, unknown>).amount;
    delete (bare.resource as Record<string, unknown>).merchantTransactionId;
    const [orderEvent] = await seen(createBody(bare));
    expect(orderEvent?.amount).toBeNull();
    expect(orderEvent?.merchantTransactionId).toBeNull();
  });

  it("takes a payment request's own id even when it carries a paymentRequestId", async () => {
    const request = createEvent({
      kind: 'payment-request',
      id: 'pr-own',
      resource: { paymentRequestId: 'pr-other' },
    });
    const [orderEvent] = await seen(createBody(request));
    expect(orderEvent?.orderId).toBe('pr-own');
  });
});

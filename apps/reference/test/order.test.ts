import { describe, expect, it } from 'vitest';
import { applyOrderEvent, type Order, type OrderEvent } from '../src/order.js';

const event = (
  key: string,
  target: OrderEvent['target'],
  eventType = 'PAYMENT-COMPLETED',
): OrderEvent => ({
  key,
  orderId: 'pr-1',
  eventType,
  kind: 'payment-request',
  status: null,
  amount: 1,
  merchantTransactionId: null,
  target,
});

function run(...events: OrderEvent[]): Order | undefined {
  let order: Order | undefined;
  for (const e of events) order = applyOrderEvent(order, e) ?? order;
  return order;
}

describe('the order transition', () => {
  it('fulfils on paid, once', () => {
    expect(run(event('a', 'paid'))).toMatchObject({ state: 'paid', fulfilments: 1 });
  });

  it('ignores an event it has applied, even when the store let the duplicate through', () => {
    const order = run(event('a', 'paid'));
    expect(applyOrderEvent(order, event('a', 'paid'))).toBeUndefined();
  });

  it('never fulfils twice, even for a second paid event with a key of its own', () => {
    expect(run(event('a', 'paid'), event('b', 'paid'))).toMatchObject({
      state: 'paid',
      fulfilments: 1,
    });
  });

  it('does not move back: a late link-followed or failure leaves a paid order paid', () => {
    const order = run(
      event('a', 'paid'),
      event('b', 'link-followed', 'PAYMENT-LINK-FOLLOWED'),
      event('c', 'failed', 'PAYMENT-FAILED'),
    );
    expect(order).toMatchObject({ state: 'paid', fulfilments: 1 });
    expect(order?.events.map((e) => e.effect)).toEqual(['fulfilled', 'recorded', 'recorded']);
  });

  it('moves forward through link-followed and failed to paid, then refunded', () => {
    const states: string[] = [];
    let order: Order | undefined;
    for (const e of [
      event('a', 'link-followed', 'PAYMENT-LINK-FOLLOWED'),
      event('b', 'failed', 'PAYMENT-FAILED'),
      event('c', 'paid'),
      event('d', 'refunded'),
    ]) {
      order = applyOrderEvent(order, e);
      states.push(`${order?.state}:${order?.fulfilments}`);
    }
    expect(states).toEqual(['link-followed:0', 'failed:0', 'paid:1', 'refunded:1']);
  });

  it('records an event that means nothing to the order', () => {
    expect(run(event('a', undefined, 'PAYMENT-SOMETHING-NEW'))).toMatchObject({
      state: 'new',
      fulfilments: 0,
    });
  });
});

describe('the order transition, out of order', () => {
  it('fulfils a payment that arrives after its refund, once', () => {
    const order = run(event('r', 'refunded'), event('p', 'paid'), event('q', 'paid'));
    expect(order).toMatchObject({ state: 'refunded', fulfilments: 1 });
    expect(order?.events.map((e) => e.effect)).toEqual(['moved', 'fulfilled', 'recorded']);
  });
});

/**
 * The inbox the app hands out records accepted events on their orders, and a
 * failure to record never costs a delivery: the events are stored and answered
 * as they would be without it. Real core inbox and worker (memory), in process.
 */
import { createHandlers, createMemoryInbox, startInboxWorker } from '@c2p/core';
import type { InboxRecord } from '@c2p/core/kit';
import { createEvent } from '@c2p/testing';
import { describe, expect, it } from 'vitest';
import { createAcceptingInbox } from '../src/accepting-inbox.js';
import type { OrderBook } from '../src/order-book.js';
import { createMemoryOrderBook } from '../src/order-books/memory-order-book.js';

const record = (event: ReturnType<typeof createEvent>, key: string): InboxRecord => ({
  key,
  resourceKey: `payment-request:${event.resource.id}`,
  eventType: event.eventType,
  payload: JSON.stringify(event),
  receivedAt: Date.now(),
  clientIp: '127.0.0.1',
});

describe('the accepting inbox', () => {
  it('records each new event on its order before answering, and duplicates not again', async () => {
    const orders = createMemoryOrderBook();
    const inbox = createAcceptingInbox(createMemoryInbox(), {
      orders,
      onError: (e) => {
        throw e;
      },
    });
    const paid = createEvent({ amount: 12.5, resource: { merchantTransactionId: 'INV-12' } });
    expect(await inbox.enqueue([record(paid, 'k1')])).toEqual([true]);
    expect(await orders.get(paid.resource.id)).toMatchObject({
      amount: 12.5,
      merchantTransactionId: 'INV-12',
      fulfilment: 'pending',
      state: 'new',
    });
    const before = await orders.get(paid.resource.id);
    expect(await inbox.enqueue([record(paid, 'k1')])).toEqual([false]);
    expect(await orders.get(paid.resource.id)).toEqual(before);
  });

  it('stores and answers the delivery when the order book fails, reporting the error', async () => {
    const failing: OrderBook = {
      ...createMemoryOrderBook(),
      accept: async () => {
        throw new Error('order book down');
      },
    };
    const errors: unknown[] = [];
    const store = createMemoryInbox();
    const inbox = createAcceptingInbox(store, { orders: failing, onError: (e) => errors.push(e) });
    const paid = createEvent();
    expect(await inbox.enqueue([record(paid, 'k2')])).toEqual([true]);
    expect(errors).toHaveLength(1);
    expect((await store.list({ state: 'pending' })).map((e) => e.key)).toEqual(['k2']);
  });

  it('is the store for everything else: a worker on it runs what it stored', async () => {
    const orders = createMemoryOrderBook();
    const inbox = createAcceptingInbox(createMemoryInbox(), { orders, onError: () => undefined });
    const seen: string[] = [];
    const handlers = createHandlers().onAny((_event, { key }) => {
      seen.push(key);
    });
    const worker = startInboxWorker({ inbox, handlers });
    try {
      await inbox.enqueue([record(createEvent(), 'k3')]);
      worker.wake();
      await worker.idle();
      expect(seen).toEqual(['k3']);
      expect((await inbox.counts()).processed).toBe(1);
    } finally {
      await worker.stop();
    }
  });
});

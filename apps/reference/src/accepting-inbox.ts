import type { InboxStore } from '@c2p/core';
import { type InboxRecord, toEvent, type WireEvent } from '@c2p/core/kit';
import type { AcceptedOrderEvent } from './order.js';
import type { OrderBook } from './order-book.js';
import { orderEventOf } from './order-handlers.js';
import { withTimeout } from './with-timeout.js';

/** How long a delivery's answer waits for its orders to be recorded, at most. */
const recordBoundMs = 2_000;

/** The inbox ids of stored events, by idempotency key, where the backend can tell. */
export type InboxIdLookup = (keys: readonly string[]) => Promise<Map<string, string>>;

/** What {@link createAcceptingInbox} needs beside the inbox. */
export interface AcceptingInboxOptions {
  orders: OrderBook;
  inboxIds?: InboxIdLookup | undefined;
  /** Called when the order book could not record accepted events (the delivery is stored all the same). */
  onError(error: unknown): void;
}

/** What each newly stored record means for its order. */
async function acceptedEvents(
  records: readonly InboxRecord[],
  inboxIds: InboxIdLookup | undefined,
): Promise<AcceptedOrderEvent[]> {
  const ids = inboxIds ? await inboxIds(records.map((r) => r.key)) : new Map<string, string>();
  return records.map((record) => ({
    ...orderEventOf(toEvent(JSON.parse(record.payload) as WireEvent), record.key),
    inboxId: ids.get(record.key) ?? null,
  }));
}

/**
 * The inbox as the app uses it: the same store, but each delivery's new events
 * are recorded on their orders once they are stored and before the 2xx, so an
 * order exists (amount, reference, fulfilment `pending`) before any handler
 * runs, and a paid order whose fulfilment keeps failing is listed as such.
 * Recording is best effort: the delivery is stored already, so a failure to
 * record is reported, never answered as one (the handler writes the order later).
 * Everything else is the store's own method, on the store: one object is handed
 * to the intake, the worker and the admin, so the worker wakeups (keyed by the
 * inbox object) still meet.
 */
export function createAcceptingInbox<I extends InboxStore>(
  inbox: I,
  options: AcceptingInboxOptions,
): I {
  const enqueue = async (records: readonly InboxRecord[]): Promise<boolean[]> => {
    const inserted = await inbox.enqueue(records);
    const stored = records.filter((_, i) => inserted[i] === true);
    if (stored.length > 0) {
      try {
        // Never holds the 2xx long: past the bound the write goes on, unawaited.
        await withTimeout(
          acceptedEvents(stored, options.inboxIds).then((events) => options.orders.accept(events)),
          recordBoundMs,
          `not recorded within ${recordBoundMs / 1000} s`,
        );
      } catch (error) {
        options.onError(error);
      }
    }
    return inserted;
  };
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(inbox, {
    get(target, property) {
      if (property === 'enqueue') return enqueue;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      let method = bound.get(property);
      if (method === undefined) {
        method = (value as (...args: unknown[]) => unknown).bind(target);
        bound.set(property, method);
      }
      return method;
    },
  });
}

import type { Order } from '../order.js';
import {
  createOrderBook,
  type OrderBook,
  type OrderCursor,
  type OrderQuery,
  pageOf,
} from '../order-book.js';

/** `a` before `b` in change order: `updatedAt`, then `id`. */
export function compareChange(a: OrderCursor, b: OrderCursor): number {
  if (a.updatedAt !== b.updatedAt) return a.updatedAt < b.updatedAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const matches = (order: Order, { q, state }: OrderQuery): boolean =>
  (q === undefined || order.id === q || order.merchantTransactionId === q) &&
  (state === undefined || order.state === state);

/**
 * The order book in this process's memory, for `C2P_STORE=memory`: gone at
 * restart, like the memory store's keys, and holding the last `capacity`
 * orders. Each update runs without awaiting in between, so it is atomic within
 * the process.
 */
export function createMemoryOrderBook(capacity = 10_000): OrderBook {
  // Insertion order is change order: the first key is the least recently changed.
  const orders = new Map<string, Order>();
  const update = (id: string, change: (current: Order | undefined) => Order | undefined) => {
    const next = change(orders.get(id));
    if (next) {
      orders.delete(id);
      orders.set(id, next);
      if (orders.size > capacity) orders.delete(orders.keys().next().value as string);
    }
    return next;
  };
  return createOrderBook({
    update: async (id, change) => update(id, change),
    async updateEach(ids, change) {
      for (const id of ids) update(id, (current) => change(id, current));
    },
    async get(id) {
      return orders.get(id);
    },
    async list(query) {
      const { after } = query;
      const rows = [...orders.values()]
        .filter((o) => matches(o, query) && (!after || compareChange(o, after) < 0))
        .sort((a, b) => compareChange(b, a));
      return pageOf(rows.slice(0, query.limit + 1), query.limit);
    },
    async unsettled({ changedBefore, limit, after }) {
      const before = changedBefore.toISOString();
      const rows = [...orders.values()]
        .filter(
          (o) => o.unsettled && o.updatedAt <= before && (!after || compareChange(o, after) > 0),
        )
        .sort(compareChange);
      return pageOf(rows.slice(0, limit + 1), limit);
    },
    async ping() {},
    async close() {
      orders.clear();
    },
  });
}

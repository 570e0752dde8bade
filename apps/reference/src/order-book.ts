import {
  type AcceptedOrderEvent,
  acceptOrderEvents,
  applyOrderEvent,
  type ExpectedPayment,
  noteOrderAttempt,
  type Order,
  type OrderAttempt,
  type OrderEvent,
  type OrderState,
  registerOrder,
} from './order.js';

/** Where a listing resumes: the last order of the previous page. */
export interface OrderCursor {
  updatedAt: string;
  id: string;
}

/** What `GET /api/orders` asks for. */
export interface OrderQuery {
  /** An order whose payment request id or `merchantTransactionId` equals this. */
  q?: string | undefined;
  state?: OrderState | undefined;
  limit: number;
  /** The `next` of the previous page. */
  after?: OrderCursor | undefined;
}

/** What the reconciler asks for: expected payments still unsettled, changed at or before `changedBefore`. */
export interface UnsettledQuery {
  changedBefore: Date;
  limit: number;
  /** The `next` of the previous page. */
  after?: OrderCursor | undefined;
}

/** One page of orders; `next` resumes after its last one, `null` at the end. */
export interface OrderPage {
  orders: Order[];
  next: OrderCursor | null;
}

/** What the storage of one database does; {@link createOrderBook} adds the order logic. */
export interface OrderStorage {
  /**
   * Reads the order, hands it to `change`, and writes what `change` answers
   * (nothing when `undefined`), atomically. `tx`, when given, is the store's
   * transaction the write must commit with.
   */
  update(
    id: string,
    change: (current: Order | undefined) => Order | undefined,
    tx?: unknown,
  ): Promise<Order | undefined>;
  /**
   * {@link OrderStorage.update} for several orders at once, in one transaction
   * where the database has them (a delivery's events: one commit, not one per
   * event). What it records can be rebuilt by the handlers, so a database may
   * commit it without waiting for the disk.
   */
  updateEach(
    ids: readonly string[],
    change: (id: string, current: Order | undefined) => Order | undefined,
  ): Promise<void>;
  get(id: string, tx?: unknown): Promise<Order | undefined>;
  /** Newest change first (`updatedAt`, then `id`, both descending). */
  list(query: OrderQuery): Promise<OrderPage>;
  /** Oldest change first (`updatedAt`, then `id`, both ascending). */
  unsettled(query: UnsettledQuery): Promise<OrderPage>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The merchant's order book. `apply` is a conditional state transition, keyed
 * by the event's idempotency key, so applying an event twice changes nothing:
 * the store deduplicates, and the book would not double-fulfil even without it.
 */
export interface OrderBook {
  /** Applies one handled event; `tx` is the store's transaction where there is one. Answers the new order, or `undefined` if unchanged. */
  apply(event: OrderEvent, tx: unknown): Promise<Order | undefined>;
  /** Records events the intake accepted, before any handler runs (see `acceptOrderEvents`). */
  accept(events: readonly AcceptedOrderEvent[]): Promise<void>;
  /** Records one worker attempt of an event of a payment request (`resourceKey` `payment-request:<id>`). */
  noteAttempt(attempt: OrderAttempt & { resourceKey: string }): Promise<void>;
  /** Registers an expected payment (`awaiting-payment`); `undefined` when the order exists already. */
  register(expected: ExpectedPayment): Promise<Order | undefined>;
  /**
   * The committed order. `tx`, when given, is the running event's transaction: a
   * book that can read through it without taking a lock does so (PostgreSQL), so a
   * handler holding one pool connection never waits for a second one.
   */
  get(id: string, tx?: unknown): Promise<Order | undefined>;
  /** Orders, newest change first, filtered and paged. */
  list(query: OrderQuery): Promise<OrderPage>;
  /**
   * For the reconciler: expected payments (registered through `POST /api/orders`)
   * whose settling event (paid, failed, refunded) has been neither accepted nor
   * handled, last changed at or before `changedBefore`, oldest change first, at
   * most `limit`, resumed with `after` = the previous page's `next`.
   */
  listUnsettled(query: UnsettledQuery): Promise<OrderPage>;
  /** Throws when the book's database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const paymentRequestPrefix = 'payment-request:';

/** The order book over one database's {@link OrderStorage}. */
export function createOrderBook(storage: OrderStorage): OrderBook {
  return {
    apply: (event, tx) => storage.update(event.orderId, (c) => applyOrderEvent(c, event), tx),
    async accept(events) {
      const byOrder = new Map<string, AcceptedOrderEvent[]>();
      for (const event of events) {
        byOrder.set(event.orderId, [...(byOrder.get(event.orderId) ?? []), event]);
      }
      await storage.updateEach([...byOrder.keys()], (id, current) =>
        acceptOrderEvents(current, byOrder.get(id) ?? []),
      );
    },
    async noteAttempt(attempt) {
      if (!attempt.resourceKey.startsWith(paymentRequestPrefix)) return;
      const id = attempt.resourceKey.slice(paymentRequestPrefix.length);
      await storage.update(id, (current) => noteOrderAttempt(current, attempt));
    },
    register: (expected) =>
      storage.update(expected.paymentRequestId, (current) => registerOrder(current, expected)),
    get: (id, tx) => storage.get(id, tx),
    list: (query) => storage.list(query),
    listUnsettled: (query) => storage.unsettled(query),
    ping: () => storage.ping(),
    close: () => storage.close(),
  };
}

/** The cursor after the last of `rows` when there are more than `limit` of them. */
export function pageOf(rows: Order[], limit: number): OrderPage {
  const orders = rows.slice(0, limit);
  const last = orders.at(-1);
  return {
    orders,
    next: rows.length > limit && last ? { updatedAt: last.updatedAt, id: last.id } : null,
  };
}

/** The cursor as the API hands it out: opaque text. */
export function encodeOrderCursor(cursor: OrderCursor): string {
  return Buffer.from(JSON.stringify([cursor.updatedAt, cursor.id])).toString('base64url');
}

/** A cursor from {@link encodeOrderCursor}, or `undefined` for anything else. */
export function decodeOrderCursor(text: string): OrderCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      !Number.isNaN(Date.parse(value[0])) &&
      new Date(value[0]).toISOString() === value[0]
    ) {
      return { updatedAt: value[0], id: value[1] };
    }
  } catch {
    // Not base64url JSON: no cursor of ours.
  }
  return undefined;
}

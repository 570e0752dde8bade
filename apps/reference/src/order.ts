/**
 * An order's state, in the only direction it may move: a later event can move
 * an order forward, never back (a late link-followed does not undo a payment).
 * `awaiting-payment` is an expected payment registered through `POST /api/orders`.
 */
export const orderStates = [
  'new',
  'awaiting-payment',
  'link-followed',
  'processing',
  'failed',
  'paid',
  'refunded',
] as const;
export type OrderState = (typeof orderStates)[number];

/**
 * Where the order's fulfilment stands: `none` (no PAID event accepted),
 * `pending` (a PAID event waits in the inbox), `retrying` (the order system
 * failed; it will be tried again), `dead` (the retries are spent: a person is
 * needed), `done` (fulfilled once).
 */
export const fulfilmentStates = ['none', 'pending', 'retrying', 'dead', 'done'] as const;
export type FulfilmentState = (typeof fulfilmentStates)[number];

/** The states in which an order's payment is settled: the reconciler leaves it alone. */
const settledStates: readonly OrderState[] = ['failed', 'paid', 'refunded'];

/** What an event did to an order. */
export type OrderEffect = 'fulfilled' | 'moved' | 'recorded';

/** One handled event as the order remembers it. */
export interface OrderEventEntry {
  key: string;
  eventType: string;
  kind: string;
  /** The resource's id: a refund's own id when it names the payment it refunds. */
  resourceId?: string;
  status: string | null;
  amount: number | null;
  at: string;
  effect: OrderEffect;
}

/** One accepted event of the order, as the intake stored it (before any handler ran). */
export interface ReceivedEntry {
  key: string;
  eventType: string;
  kind: string;
  status: string | null;
  /** The state the event will move the order to, once handled. */
  target: OrderState | null;
  /** Its inbox event id, once known (`null` in sync mode). */
  inboxId: string | null;
  at: string;
}

/** An order of the book, as `GET /api/orders/:id` answers it. */
export interface Order {
  /** The payment request id. */
  id: string;
  state: OrderState;
  fulfilments: number;
  /** The payment request's amount, from its events or its registration. */
  amount: number | null;
  /** The merchant's own reference for the payment request. */
  merchantTransactionId: string | null;
  fulfilment: FulfilmentState;
  /** The handled events, oldest first. */
  events: OrderEventEntry[];
  /** The accepted events, oldest first, with their inbox ids. */
  received: ReceivedEntry[];
  /** The ids of its inbox events. */
  inbox: string[];
  /** Registered as an expected payment (`POST /api/orders`), when it was. */
  registeredAt: string | null;
  /** An expected payment whose settling event has not arrived: the reconciler's work. */
  unsettled: boolean;
  updatedAt: string;
}

/** The part of an event the order book reads: what the order handlers made of it. */
export interface OrderEvent {
  key: string;
  orderId: string;
  eventType: string;
  kind: string;
  /** The resource's id (a refund's own id when `orderId` is its payment's). */
  resourceId?: string;
  status: string | null;
  amount: number | null;
  merchantTransactionId: string | null;
  /** The state the event moves the order to, or `undefined` when it only records. */
  target: OrderState | undefined;
}

/** An order keeps its last events only; duplicates are recognised within them. */
const maxEventsPerOrder = 50;

const rank = (state: OrderState): number => orderStates.indexOf(state);

/**
 * An order read back as stored: orders written before the fields were added
 * get their defaults, so every reader sees one shape.
 */
export function normalizeOrder(stored: Partial<Order> & Pick<Order, 'id'>): Order {
  const received = stored.received ?? [];
  const fulfilments = stored.fulfilments ?? 0;
  return {
    id: stored.id,
    state: stored.state ?? 'new',
    fulfilments,
    amount: stored.amount ?? null,
    merchantTransactionId: stored.merchantTransactionId ?? null,
    fulfilment: stored.fulfilment ?? (fulfilments > 0 ? 'done' : 'none'),
    events: stored.events ?? [],
    received,
    inbox: stored.inbox ?? [],
    registeredAt: stored.registeredAt ?? null,
    unsettled: stored.unsettled ?? false,
    updatedAt: stored.updatedAt ?? new Date(0).toISOString(),
  };
}

const empty = (id: string, at: string): Order => normalizeOrder({ id, updatedAt: at });

/** Recomputes what follows from the rest: the inbox ids and whether it is still unsettled. */
function finish(order: Order): Order {
  const inbox = [
    ...new Set([
      ...order.inbox,
      ...order.received.flatMap((r) => (r.inboxId === null ? [] : [r.inboxId])),
    ]),
  ];
  const settled =
    settledStates.includes(order.state) ||
    order.received.some((r) => r.target !== null && settledStates.includes(r.target));
  return { ...order, inbox, unsettled: order.registeredAt !== null && !settled };
}

/**
 * A payment request's amount and reference, from any of its events; the paid
 * event's amount is the one that was paid. A refund (a payment resource) never
 * sets them: its amount is the refund's.
 */
function details(order: Order, event: OrderEvent): Pick<Order, 'amount' | 'merchantTransactionId'> {
  if (event.kind !== 'payment-request') {
    return { amount: order.amount, merchantTransactionId: order.merchantTransactionId };
  }
  const takeAmount = event.amount !== null && (order.amount === null || event.target === 'paid');
  return {
    amount: takeAmount ? event.amount : order.amount,
    merchantTransactionId: order.merchantTransactionId ?? event.merchantTransactionId,
  };
}

/**
 * Applies a handled event to an order (or to no order yet). Answers `undefined`
 * when the event was applied already: the transition is keyed by the event's
 * idempotency key, so even a duplicate that got past the store changes nothing.
 * The state only moves forward; the order is fulfilled by the first paid event
 * it gets, whatever state it is in (a refund delivered before its payment
 * still leaves the payment to fulfil), and never again.
 */
export function applyOrderEvent(
  current: Order | undefined,
  event: OrderEvent,
  now: Date = new Date(),
): Order | undefined {
  if (current?.events.some((entry) => entry.key === event.key)) return undefined;
  const at = now.toISOString();
  const order = current ?? empty(event.orderId, at);
  const forward = event.target !== undefined && rank(event.target) > rank(order.state);
  const state = forward ? (event.target as OrderState) : order.state;
  // A payment fulfils once, whenever it arrives: a refund delivered before it (out
  // of order) already proves the payment, and must not cost the customer the order.
  const fulfil = event.target === 'paid' && order.fulfilments === 0;
  const entry: OrderEventEntry = {
    key: event.key,
    eventType: event.eventType,
    kind: event.kind,
    ...(event.resourceId !== undefined && event.resourceId !== event.orderId
      ? { resourceId: event.resourceId }
      : {}),
    status: event.status,
    amount: event.amount,
    at,
    effect: fulfil ? 'fulfilled' : forward ? 'moved' : 'recorded',
  };
  const fulfilments = order.fulfilments + (fulfil ? 1 : 0);
  return finish({
    ...order,
    ...details(order, event),
    state,
    fulfilments,
    fulfilment: fulfilments > 0 ? 'done' : order.fulfilment,
    events: [...order.events, entry].slice(-maxEventsPerOrder),
    updatedAt: at,
  });
}

/** An event the intake accepted, with its inbox id where known. */
export interface AcceptedOrderEvent extends OrderEvent {
  inboxId: string | null;
}

/**
 * Records accepted events on their order before any handler runs, so an order
 * exists (and a paid one shows its fulfilment `pending`) as soon as Clik2pay's
 * delivery is stored. Answers `undefined` when every event was recorded already.
 * The state does not move: only a handled event moves it.
 */
export function acceptOrderEvents(
  current: Order | undefined,
  events: readonly AcceptedOrderEvent[],
  now: Date = new Date(),
): Order | undefined {
  const at = now.toISOString();
  let order = current;
  for (const event of events) {
    const base = order ?? empty(event.orderId, at);
    const known = base.received.find((r) => r.key === event.key);
    if (known) {
      if (known.inboxId !== null || event.inboxId === null) continue;
      order = {
        ...base,
        received: base.received.map((r) => (r === known ? { ...r, inboxId: event.inboxId } : r)),
      };
      continue;
    }
    const paying = event.target === 'paid' && base.fulfilment !== 'done';
    const entry: ReceivedEntry = {
      key: event.key,
      eventType: event.eventType,
      kind: event.kind,
      status: event.status,
      target: event.target ?? null,
      inboxId: event.inboxId,
      at,
    };
    order = {
      ...base,
      ...details(base, event),
      fulfilment: paying ? 'pending' : base.fulfilment,
      received: [...base.received, entry].slice(-maxEventsPerOrder),
      updatedAt: at,
    };
  }
  return order === current || order === undefined ? undefined : finish(order);
}

/** What the worker reports of one attempt, as far as the order book reads it. */
export interface OrderAttempt {
  /** The inbox event id. */
  id: string;
  key: string;
  outcome: string;
}

const attemptFulfilment: Record<string, FulfilmentState> = {
  retrying: 'retrying',
  dead: 'dead',
};

/**
 * Records an attempt of one of the order's events: its inbox id, and, for the
 * event that pays it, a failed fulfilment (`retrying`, then `dead`). A success
 * is the handler's own write ({@link applyOrderEvent}); `done` never changes.
 * Answers `undefined` when nothing changes.
 */
export function noteOrderAttempt(
  current: Order | undefined,
  attempt: OrderAttempt,
  now: Date = new Date(),
): Order | undefined {
  if (!current) return undefined;
  const received = current.received.find((r) => r.key === attempt.key);
  const failed = attemptFulfilment[attempt.outcome];
  const fulfilment =
    received?.target === 'paid' && failed !== undefined && current.fulfilment !== 'done'
      ? failed
      : current.fulfilment;
  const knownId = current.inbox.includes(attempt.id);
  if (fulfilment === current.fulfilment && knownId) return undefined;
  return finish({
    ...current,
    fulfilment,
    received: current.received.map((r) => (r === received ? { ...r, inboxId: attempt.id } : r)),
    inbox: knownId ? current.inbox : [...current.inbox, attempt.id],
    updatedAt: now.toISOString(),
  });
}

/** An expected payment, as `POST /api/orders` registers it. */
export interface ExpectedPayment {
  paymentRequestId: string;
  amount?: number | undefined;
  merchantTransactionId?: string | undefined;
}

/** A new order awaiting its payment; `undefined` when the order exists already. */
export function registerOrder(
  current: Order | undefined,
  expected: ExpectedPayment,
  now: Date = new Date(),
): Order | undefined {
  if (current) return undefined;
  const at = now.toISOString();
  return finish({
    ...empty(expected.paymentRequestId, at),
    state: 'awaiting-payment',
    amount: expected.amount ?? null,
    merchantTransactionId: expected.merchantTransactionId ?? null,
    registeredAt: at,
  });
}

/**
 * Whether applying `event` to `current` fulfils the order. The fulfilment call
 * is decided on this, against the committed order, before the transition is
 * written, so no database lock is held across the network call.
 */
export function fulfils(current: Order | undefined, event: OrderEvent): boolean {
  const next = applyOrderEvent(current, event);
  return next !== undefined && next.fulfilments > (current?.fulfilments ?? 0);
}

/**
 * An order's state, in the only direction it may move: a later event can move
 * an order forward, never back (a late link-followed does not undo a payment).
 */
export const orderStates = [
  'new',
  'link-followed',
  'processing',
  'failed',
  'paid',
  'refunded',
] as const;
export type OrderState = (typeof orderStates)[number];

/** What an event did to an order. */
export type OrderEffect = 'fulfilled' | 'moved' | 'recorded';

/** One event as the order remembers it. */
export interface OrderEventEntry {
  key: string;
  eventType: string;
  kind: string;
  status: string | null;
  amount: number | null;
  at: string;
  effect: OrderEffect;
}

/** An order of the book, as `GET /api/orders/:id` answers it. */
export interface Order {
  id: string;
  state: OrderState;
  fulfilments: number;
  events: OrderEventEntry[];
  updatedAt: string;
}

/** The part of an event the order book reads: what the order handlers made of it. */
export interface OrderEvent {
  key: string;
  orderId: string;
  eventType: string;
  kind: string;
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
 * Applies an event to an order (or to no order yet). Answers `undefined` when
 * the event was applied already: the transition is keyed by the event's
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
  const from: OrderState = current?.state ?? 'new';
  const forward = event.target !== undefined && rank(event.target) > rank(from);
  const state = forward ? (event.target as OrderState) : from;
  // A payment fulfils once, whenever it arrives: a refund delivered before it (out
  // of order) already proves the payment, and must not cost the customer the order.
  const fulfil = event.target === 'paid' && (current?.fulfilments ?? 0) === 0;
  const entry: OrderEventEntry = {
    key: event.key,
    eventType: event.eventType,
    kind: event.kind,
    status: event.status,
    amount: event.amount,
    at: now.toISOString(),
    effect: fulfil ? 'fulfilled' : forward ? 'moved' : 'recorded',
  };
  return {
    id: event.orderId,
    state,
    fulfilments: (current?.fulfilments ?? 0) + (fulfil ? 1 : 0),
    events: [...(current?.events ?? []), entry].slice(-maxEventsPerOrder),
    updatedAt: entry.at,
  };
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

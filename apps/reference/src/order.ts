import type { C2pEvent } from '@c2p/core';

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

/** The part of an event the order book reads. */
export interface OrderEvent {
  key: string;
  orderId: string;
  eventType: string;
  kind: string;
  status: string | null;
  amount: number | null;
  target: OrderState | undefined;
}

/** An order keeps its last events only; duplicates are recognised within them. */
const maxEventsPerOrder = 50;

const rank = (state: OrderState): number => orderStates.indexOf(state);

/**
 * The order an event is about: a payment request's id. A refund (a Payments API
 * resource) names its payment request only if Clik2pay sends `paymentRequestId`,
 * which it does not document; otherwise the refund's own id is used.
 */
export function toOrderEvent(event: C2pEvent, key: string): OrderEvent {
  const resource = event.resource;
  const linked = resource.paymentRequestId;
  const status = typeof resource.status === 'string' ? resource.status.toUpperCase() : null;
  return {
    key,
    orderId: event.kind === 'payment' && typeof linked === 'string' ? linked : resource.id,
    eventType: event.eventType,
    kind: event.kind,
    status,
    amount: typeof resource.amount === 'number' ? resource.amount : null,
    target: targetState(event.eventType, event.kind, status),
  };
}

function targetState(
  eventType: string,
  kind: string,
  status: string | null,
): OrderState | undefined {
  if (kind === 'payment') {
    // A refund: money out. Only an accepted one changes the order.
    return eventType === 'PAYMENT-COMPLETED' && status === 'ACCEPTED' ? 'refunded' : undefined;
  }
  if (status === 'PAID') return 'paid';
  if (status === 'FAILED' || eventType === 'PAYMENT-FAILED') return 'failed';
  if (eventType === 'PAYMENT-PROCESSING') return 'processing';
  if (eventType === 'PAYMENT-LINK-FOLLOWED') return 'link-followed';
  return undefined;
}

/**
 * Applies an event to an order (or to no order yet). Answers `undefined` when
 * the event was applied already: the transition is keyed by the event's
 * idempotency key, so even a duplicate that got past the store changes nothing,
 * and `paid` is entered (and the order fulfilled) at most once because states
 * never move back.
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
  const fulfil = state === 'paid' && from !== 'paid';
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

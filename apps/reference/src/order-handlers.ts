import type { C2pEvent, HandlerContext, Handlers } from '@c2p/core';
import type { OrderEvent, OrderState } from './order.js';

/** Where the order handlers send what an event means for its order: the order book's write. */
export type OrderSink<Tx> = (event: OrderEvent, context: HandlerContext<Tx>) => Promise<void>;

/**
 * Does the resource have this status? Clik2pay sends statuses in capitals, but
 * the set is open and undocumented in places, so the comparison ignores case
 * (as core does for `resourceType`): a `paid` must not leave an order unfulfilled.
 */
export function hasStatus(resource: { status?: string | undefined }, status: string): boolean {
  return typeof resource.status === 'string' && resource.status.toUpperCase() === status;
}

/**
 * The state an event moves its order to, or `undefined` when it only records.
 * Clik2pay's one rule for merchants is to fulfil on `PAID` and not before, so
 * only a `PAYMENT-COMPLETED` about a payment request with status `PAID` pays:
 *
 * - `PAYMENT-COMPLETED` about a payment request with status `PAID`: `paid`, fulfilled once;
 * - `PAYMENT-COMPLETED` about a payment (a refund) with status `ACCEPTED`: `refunded`;
 * - `PAYMENT-FAILED`, `PAYMENT-PROCESSING`, `PAYMENT-LINK-FOLLOWED` about a
 *   payment request: `failed`, `processing`, `link-followed`.
 *
 * A resource of unknown kind only records: it may be a payout.
 */
export function orderTarget(event: C2pEvent): OrderState | undefined {
  const request = event.kind === 'payment-request';
  switch (event.eventType) {
    case 'PAYMENT-COMPLETED':
      // The same event type is money in or money out: the resource kind says which.
      if (request) return hasStatus(event.resource, 'PAID') ? 'paid' : undefined;
      return event.kind === 'payment' && hasStatus(event.resource, 'ACCEPTED')
        ? 'refunded'
        : undefined;
    case 'PAYMENT-FAILED':
      return request ? 'failed' : undefined;
    case 'PAYMENT-PROCESSING':
      return request ? 'processing' : undefined;
    case 'PAYMENT-LINK-FOLLOWED':
      return request ? 'link-followed' : undefined;
    default:
      return undefined;
  }
}

/**
 * The order logic, on core's typed API: one handler for every event, known or
 * not, each sent to the order book with what {@link orderTarget} makes of it.
 * Every event reaches the order book (and its events list).
 */
export function registerOrderHandlers<Tx>(
  handlers: Handlers<Tx>,
  sink: OrderSink<Tx>,
): Handlers<Tx> {
  const send = (event: C2pEvent, context: HandlerContext<Tx>) =>
    sink(orderEventOf(event, context.key), context);
  return handlers
    .on('PAYMENT-COMPLETED', send)
    .on('PAYMENT-FAILED', send)
    .on('PAYMENT-PROCESSING', send)
    .on('PAYMENT-LINK-FOLLOWED', send)
    .onUnknown(send);
}

/**
 * What an event means for its order. The order is a payment request's id. A
 * refund (a Payments API resource) names its payment request only if Clik2pay
 * sends `paymentRequestId`, which it does not document: then the refund is
 * recorded on its payment's order (linked), otherwise on an order of its own id.
 */
export function orderEventOf(event: C2pEvent, key: string): OrderEvent {
  const resource = event.resource;
  const linked = resource.paymentRequestId;
  return {
    key,
    orderId: event.kind === 'payment' && typeof linked === 'string' ? linked : resource.id,
    eventType: event.eventType,
    kind: event.kind,
    resourceId: resource.id,
    status: typeof resource.status === 'string' ? resource.status.toUpperCase() : null,
    amount: typeof resource.amount === 'number' ? resource.amount : null,
    merchantTransactionId:
      typeof resource.merchantTransactionId === 'string' ? resource.merchantTransactionId : null,
    target: orderTarget(event),
  };
}

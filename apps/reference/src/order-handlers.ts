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
 * The order logic, on core's typed API: one handler per documented event type,
 * narrowed by the resource's `kind`, and one for event types c2p does not know.
 * Every event reaches the order book (and its events list); only these move an order:
 *
 * - `PAYMENT-COMPLETED` about a payment request with status `PAID`: `paid`, fulfilled once.
 *   Clik2pay's one rule for merchants is to fulfil on `PAID` and not before, so
 *   another status, another event type or a payment (refund) resource never fulfils;
 * - `PAYMENT-COMPLETED` about a payment (a refund) with status `ACCEPTED`: `refunded`;
 * - `PAYMENT-FAILED`, `PAYMENT-PROCESSING`, `PAYMENT-LINK-FOLLOWED` about a
 *   payment request: `failed`, `processing`, `link-followed`.
 *
 * A resource of unknown kind only records: it may be a payout.
 */
export function registerOrderHandlers<Tx>(
  handlers: Handlers<Tx>,
  sink: OrderSink<Tx>,
): Handlers<Tx> {
  const send = (event: C2pEvent, context: HandlerContext<Tx>, target: OrderState | undefined) =>
    sink(toOrderEvent(event, context.key, target), context);
  return handlers
    .on('PAYMENT-COMPLETED', (event, context) => {
      // The same event type is money in or money out: the resource kind says which.
      switch (event.kind) {
        case 'payment-request':
          return send(event, context, hasStatus(event.resource, 'PAID') ? 'paid' : undefined);
        case 'payment':
          return send(
            event,
            context,
            hasStatus(event.resource, 'ACCEPTED') ? 'refunded' : undefined,
          );
        default:
          return send(event, context, undefined);
      }
    })
    .on('PAYMENT-FAILED', (event, context) =>
      send(event, context, event.kind === 'payment-request' ? 'failed' : undefined),
    )
    .on('PAYMENT-PROCESSING', (event, context) =>
      send(event, context, event.kind === 'payment-request' ? 'processing' : undefined),
    )
    .on('PAYMENT-LINK-FOLLOWED', (event, context) =>
      send(event, context, event.kind === 'payment-request' ? 'link-followed' : undefined),
    )
    .onUnknown((event, context) => send(event, context, undefined));
}

/**
 * The order an event is about is a payment request's id. A refund (a Payments
 * API resource) names its payment request only if Clik2pay sends
 * `paymentRequestId`, which it does not document; otherwise the refund's own id is used.
 */
function toOrderEvent(event: C2pEvent, key: string, target: OrderState | undefined): OrderEvent {
  const resource = event.resource;
  const linked = resource.paymentRequestId;
  return {
    key,
    orderId: event.kind === 'payment' && typeof linked === 'string' ? linked : resource.id,
    eventType: event.eventType,
    kind: event.kind,
    status: typeof resource.status === 'string' ? resource.status.toUpperCase() : null,
    amount: typeof resource.amount === 'number' ? resource.amount : null,
    merchantTransactionId:
      typeof resource.merchantTransactionId === 'string' ? resource.merchantTransactionId : null,
    target,
  };
}

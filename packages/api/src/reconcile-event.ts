import type { PaymentRequest } from './schemas.js';

/**
 * One event as a webhook carries it (the wire shape core parses), built from
 * a payment request read from the API. Handed to the reconciler's `submit`,
 * which stores or runs it exactly as it would a webhook's, with the same key.
 */
export interface ReconciledEvent {
  eventType: string;
  /** Human text for logs; says the event came from the API, not a webhook. */
  message: string;
  resourceType: 'payment-request';
  /** The payment request as the API answered it (unknown fields kept). */
  resource: PaymentRequest;
}

/**
 * Which webhook each status of a payment request follows: `PAID` a
 * `PAYMENT-COMPLETED`, `FAILED` a `PAYMENT-FAILED`. `SETTLED` comes after
 * `PAID`, so its event is the `PAID` one, status included: a webhook's
 * idempotency key (`kind:id:eventType:status`) and the reconciler's then
 * agree, and the order is fulfilled once whichever arrives first.
 */
const webhookOf: Readonly<Record<string, { eventType: string; status: string }>> = {
  PAID: { eventType: 'PAYMENT-COMPLETED', status: 'PAID' },
  SETTLED: { eventType: 'PAYMENT-COMPLETED', status: 'PAID' },
  FAILED: { eventType: 'PAYMENT-FAILED', status: 'FAILED' },
};

/**
 * The event a webhook would have carried for the payment request's status, or
 * `undefined` when no webhook follows that status (`CREATED`, `ACTIVE`,
 * `CANCELLED`, ...). Statuses are compared without case.
 *
 * @example
 * ```ts
 * webhookEventFor({ id, status: 'PAID', amount: 25 })?.eventType; // 'PAYMENT-COMPLETED'
 * webhookEventFor({ id, status: 'ACTIVE', amount: 25 }); // undefined
 * ```
 */
export function webhookEventFor(request: PaymentRequest): ReconciledEvent | undefined {
  const found = webhookOf[request.status.toUpperCase()];
  if (found === undefined) return undefined;
  return {
    eventType: found.eventType,
    message: `Reconciled: the Payment Requests API reports ${request.status}.`,
    resourceType: 'payment-request',
    resource: { ...request, status: found.status },
  };
}

import { isC2pApiError } from './api-error.js';
import type { CallOptions } from './create-clik2pay-client.js';
import type { PaymentRequest } from './schemas.js';

/** What a `PAID` webhook claims: its payment request and amount. */
export interface PaidClaim {
  id: string;
  /** The webhook's `resource.amount`, in CAD. */
  amount: unknown;
}

/** The API's word on a {@link PaidClaim}. */
export type PaidConfirmation =
  | { confirmed: true; paymentRequest: PaymentRequest }
  | {
      confirmed: false;
      /** A sentence for logs and alerts, e.g. `the API reports ACTIVE, not PAID`. */
      reason: string;
      /** The API's answer, when it had one. */
      paymentRequest?: PaymentRequest;
    };

/** Statuses that mean the payer paid: `SETTLED` follows `PAID`. */
const paidStatuses = new Set(['PAID', 'SETTLED']);

/** Amounts in CAD are equal when their cents are. */
const cents = (amount: number): number => Math.round(amount * 100);

/**
 * Asks the API whether a `PAID` webhook tells the truth: `confirmed` only when
 * the payment request exists, is `PAID` (or `SETTLED`) and has the webhook's
 * amount to the cent, so a forged `PAID` (a leaked webhook password) buys
 * nothing. Throws what the client throws when the API cannot say (unreachable,
 * 5xx, refused credentials): that is never a confirmation, and the caller
 * should try again later. Statuses are compared without case.
 *
 * @example
 * ```ts
 * const check = await confirmPaid(clik2pay, { id: event.resource.id, amount: event.resource.amount });
 * if (!check.confirmed) throw new Error(check.reason);
 * ```
 */
export async function confirmPaid(
  client: { getPaymentRequest(id: string, options?: CallOptions): Promise<PaymentRequest> },
  claim: PaidClaim,
  options: CallOptions = {},
): Promise<PaidConfirmation> {
  let paymentRequest: PaymentRequest;
  try {
    paymentRequest = await client.getPaymentRequest(claim.id, options);
  } catch (error) {
    if (isC2pApiError(error, 'NOT_FOUND')) {
      return { confirmed: false, reason: 'the API has no such payment request' };
    }
    throw error;
  }
  const status = paymentRequest.status.toUpperCase();
  if (!paidStatuses.has(status)) {
    return { confirmed: false, reason: `the API reports ${status}, not PAID`, paymentRequest };
  }
  if (typeof claim.amount !== 'number' || !Number.isFinite(claim.amount)) {
    return { confirmed: false, reason: 'the webhook carries no amount', paymentRequest };
  }
  if (cents(claim.amount) !== cents(paymentRequest.amount)) {
    return {
      confirmed: false,
      reason: `the API reports an amount of ${paymentRequest.amount}, the webhook ${claim.amount}`,
      paymentRequest,
    };
  }
  return { confirmed: true, paymentRequest };
}

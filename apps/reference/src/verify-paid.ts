import { type Clik2payClient, confirmPaid, isC2pApiError } from '@c2p/api';
import { C2pError } from '@c2p/core';
import type { OrderEvent } from './order.js';

/** The `verify-failed` alert: a `PAID` the API did not confirm, not fulfilled. */
export interface VerifyFailedAlert {
  alert: 'verify-failed';
  /** A human sentence, for a chat channel. */
  text: string;
  /** Why the API did not confirm it, e.g. `the API reports ACTIVE, not PAID`. */
  reason: string;
  event: { key: string; orderId: string; eventType: string; amount: number | null };
}

/** Checks an event before its handler fulfils; throws to stop it. */
export type PaidVerifier = (event: OrderEvent) => Promise<void>;

/**
 * `C2P_VERIFY_PAID=on`: before a `PAID` fulfils, the API must say `PAID` too,
 * with the same amount. When it does not, `onVerifyFailed` gets the alert and
 * the event is refused for good (`EVENT_REFUSED`: the inbox marks it `dead` at
 * once with the reason; an operator can replay it). When the API cannot be
 * asked, the handler fails and the event is retried: never a pass.
 */
export function createPaidVerifier(
  client: Pick<Clik2payClient, 'getPaymentRequest'>,
  onVerifyFailed: (alert: VerifyFailedAlert) => void,
): PaidVerifier {
  return async (event) => {
    if (event.target !== 'paid') return;
    let check: Awaited<ReturnType<typeof confirmPaid>>;
    try {
      check = await confirmPaid(client, { id: event.orderId, amount: event.amount });
    } catch (error) {
      const code = isC2pApiError(error) ? error.code : 'UNKNOWN';
      throw new Error(`C2P_VERIFY_PAID: the API could not be asked (${code}); tried again later`, {
        cause: error,
      });
    }
    if (check.confirmed) return;
    const { key, orderId, eventType, amount } = event;
    onVerifyFailed({
      alert: 'verify-failed',
      text: `A PAID for payment request ${orderId} was not fulfilled: ${check.reason}.`,
      reason: check.reason,
      event: { key, orderId, eventType, amount },
    });
    throw new C2pError('EVENT_REFUSED', {
      message: `C2P_VERIFY_PAID: ${check.reason}; not fulfilled`,
    });
  };
}

import type { OrderEvent } from './order.js';

/** The merchant's order system, told once per order that it was paid. */
export interface FulfilmentClient {
  /**
   * POSTs the paid order. Throws on a non-2xx answer or none within the timeout:
   * the handler fails, the event is not completed, and it is tried again.
   */
  fulfil(event: OrderEvent): Promise<void>;
}

/** The JSON body the order system receives. */
export interface FulfilmentRequest {
  /** The payment request id, as in `GET /api/orders/:id`. */
  orderId: string;
  merchantTransactionId: string | null;
  amount: number | null;
  eventType: string;
  status: string | null;
}

/**
 * The event's key as a header value: as it is when it is printable ASCII
 * without `%` (every key of a Clik2pay UUID), else percent-encoded
 * (`encodeURIComponent`), since a header cannot carry other characters and a
 * resource id may hold any. The same key always gives the same value, and an
 * encoded one always holds a `%`, so two keys never share a value.
 */
export function headerKey(key: string): string {
  return /^[\x20-\x24\x26-\x7e]*$/.test(key) ? key : encodeURIComponent(key);
}

/**
 * Calls `C2P_FULFIL_URL`. The event's idempotency key goes in `Idempotency-Key`,
 * so the order system can recognise a repeat: a retried event (the write after
 * this call failed, the process died) calls it again with the same key.
 */
export function createFulfilmentClient(url: string, timeoutMs = 10_000): FulfilmentClient {
  return {
    async fulfil(event) {
      const body: FulfilmentRequest = {
        orderId: event.orderId,
        merchantTransactionId: event.merchantTransactionId,
        amount: event.amount,
        eventType: event.eventType,
        status: event.status,
      };
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': headerKey(event.key) },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        // Read the answer to the end, so the connection is free for the next call.
        await response.arrayBuffer();
      } catch (error) {
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        throw new Error(
          timedOut
            ? `C2P_FULFIL_URL: no answer within ${timeoutMs / 1000} s`
            : `C2P_FULFIL_URL: the request failed (${error instanceof Error ? error.message : String(error)})`,
          { cause: error },
        );
      }
      if (response.status < 200 || response.status > 299) {
        throw new Error(`C2P_FULFIL_URL: answered ${response.status}`);
      }
    },
  };
}

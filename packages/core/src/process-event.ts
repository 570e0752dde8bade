import type { RunHandlers } from './create-handlers.js';
import type { ErrorContext, EventOutcome } from './delivery-report.js';
import { C2pError, storeUnavailable } from './errors.js';
import type { C2pEvent } from './events.js';
import { guardHandlers, HandlerFailure } from './handler-failure.js';
import {
  type ClaimResult,
  type IdempotencyStore,
  isTransactionalStore,
  type TransactionalIdempotencyStore,
} from './idempotency-store.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { isPromiseLike, type MaybePromise } from './maybe-promise.js';

/** What processing one event needs from the pipeline. */
export interface EventProcessor {
  readonly store: IdempotencyStore;
  readonly leaseMs: number;
  readonly retainMs: number;
  /** Renews the leases of claimed events while their handlers run. */
  readonly leases: LeaseKeeper;
  /** Runs the event's handlers: a promise only when one of them returned one. */
  readonly run: RunHandlers;
  /** Hands an error to the error hooks. */
  reportError(error: C2pError, context: ErrorContext): void;
}

/**
 * Processes one event exactly once, and answers its outcome; never throws.
 *
 * A store with `processOnce` (crash-safe sync mode) runs the check, the handlers'
 * writes and the completion in one transaction. Any other store is claimed, the
 * handlers run while the lease is renewed, and the key is completed (for a
 * transactional store, in the handlers' transaction) or, when a handler threw,
 * released so Clik2pay's retry runs it again.
 */
export function processEvent(
  event: C2pEvent,
  key: string,
  processor: EventProcessor,
): EventOutcome | Promise<EventOutcome> {
  const { store } = processor;
  // No async layer of its own: each path catches what it throws.
  if (isTransactionalStore(store) && typeof store.processOnce === 'function')
    return processOnce(store, event, key, processor);
  return claimRunComplete(event, key, processor);
}

async function processOnce(
  store: TransactionalIdempotencyStore<unknown>,
  event: C2pEvent,
  key: string,
  processor: EventProcessor,
): Promise<EventOutcome> {
  try {
    // Checked by the caller: called as a method, so the store keeps its `this`.
    const outcome = store.processOnce?.(
      key,
      processor.retainMs,
      guardHandlers(processor.run, event, { key, attempt: 1 }),
    );
    return (await outcome) as EventOutcome;
  } catch (error) {
    return failure(error, event, key, processor);
  }
}

/**
 * Claims the key, then runs the handlers and completes it. A duplicate, or an
 * event in progress elsewhere, is answered without a promise when the store's
 * claim answers at once.
 */
function claimRunComplete(
  event: C2pEvent,
  key: string,
  processor: EventProcessor,
): EventOutcome | Promise<EventOutcome> {
  try {
    const claim: MaybePromise<ClaimResult> = processor.store.claim(key, processor.leaseMs);
    // Inside the try: a broken answer (no status, a throwing `then`) is the store's failure.
    return isPromiseLike(claim)
      ? claimLater(claim, event, key, processor)
      : afterClaim(claim, event, key, processor);
  } catch (error) {
    return failure(error, event, key, processor);
  }
}

async function claimLater(
  pending: PromiseLike<ClaimResult>,
  event: C2pEvent,
  key: string,
  processor: EventProcessor,
): Promise<EventOutcome> {
  let outcome: EventOutcome | Promise<EventOutcome>;
  try {
    outcome = afterClaim(await pending, event, key, processor);
  } catch (error) {
    return failure(error, event, key, processor);
  }
  // Awaited here rather than returned: a promise returned from an async function costs two more turns.
  return isPromiseLike(outcome) ? await outcome : outcome;
}

function afterClaim(
  claim: ClaimResult,
  event: C2pEvent,
  key: string,
  processor: EventProcessor,
): EventOutcome | Promise<EventOutcome> {
  if (claim.status === 'completed') return 'duplicate';
  if (claim.status === 'in_progress') return 'in_progress';
  return runAndComplete(event, key, claim.token, processor);
}

/** Runs the handlers of a claimed event while its lease is renewed, then completes its key. */
async function runAndComplete(
  event: C2pEvent,
  key: string,
  token: string,
  processor: EventProcessor,
): Promise<EventOutcome> {
  const { store, retainMs } = processor;
  const transactional = isTransactionalStore(store);
  try {
    let completed: boolean;
    const letGo = processor.leases.hold(key, token);
    try {
      if (transactional)
        completed = await store.completeWithin(
          key,
          token,
          retainMs,
          guardHandlers(processor.run, event, { key, attempt: 1 }),
        );
      else {
        // The handlers run here, without a closure or an extra promise when they are synchronous.
        try {
          const ran = processor.run(event, { key, tx: undefined, attempt: 1 });
          if (ran !== undefined) await ran;
        } catch (cause) {
          throw new HandlerFailure(cause);
        }
        completed = await store.complete(key, token, retainMs);
      }
    } finally {
      letGo();
    }
    // A stale owner: our lease ran out and another worker owns the event now.
    return completed ? 'processed' : 'in_progress';
  } catch (error) {
    const outcome = failure(error, event, key, processor);
    // A failed handler, or a failed transaction, applied nothing: give the key up so
    // Clik2pay's retry runs it at once. A plain store's handlers did run before its
    // completion failed: keep the claim until its lease ends rather than invite a second run.
    // Through a then, so that a release that throws at once is caught like a rejection.
    const release = () => store.release(key, token);
    if (outcome === 'handler_failed') {
      await Promise.resolve()
        .then(release)
        .catch((cause) => processor.reportError(storeUnavailable(cause), { event, key }));
    } else if (transactional)
      await Promise.resolve()
        .then(release)
        .catch(() => {});
    return outcome;
  }
}

/** Reports what a step threw and answers its outcome: the handler's, or the store's. */
function failure(
  error: unknown,
  event: C2pEvent,
  key: string,
  processor: EventProcessor,
): 'handler_failed' | 'store_unavailable' {
  if (error instanceof HandlerFailure) {
    processor.reportError(new C2pError('HANDLER_FAILED', { cause: error.cause }), { event, key });
    return 'handler_failed';
  }
  processor.reportError(storeUnavailable(error), { event, key });
  return 'store_unavailable';
}

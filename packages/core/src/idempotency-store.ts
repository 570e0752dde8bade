/**
 * The answer of {@link IdempotencyStore.claim}.
 *
 * - `acquired`: the caller owns the key until its lease ends; `token` proves it.
 * - `in_progress`: another owner holds an unexpired lease.
 * - `completed`: the key was completed and is still retained: a duplicate.
 */
export type ClaimResult =
  | { readonly status: 'acquired'; readonly token: string }
  | { readonly status: 'in_progress' }
  | { readonly status: 'completed' };

/**
 * The idempotency port. Clik2pay sends no delivery id and retries, so every
 * event is claimed before its handlers run and completed after they succeed.
 *
 * Every method is atomic. A store that cannot reach its backend throws a
 * `C2pError` with code `STORE_UNAVAILABLE`, which the pipeline answers with 503.
 */
export interface IdempotencyStore {
  /**
   * Claims `key` for `leaseMs` milliseconds. A key whose lease has expired (its
   * owner crashed) can be claimed again; a completed key answers `completed`
   * until its retention ends.
   *
   * A store that needs no I/O may answer at once rather than with a promise (the
   * memory store does): the pipeline then answers a duplicate without a turn of
   * the microtask queue. Callers `await` the answer either way.
   */
  claim(key: string, leaseMs: number): ClaimResult | Promise<ClaimResult>;
  /**
   * Marks `key` completed and keeps it for `retainMs` milliseconds, if `token` is
   * the current owner's. Answers `false`, changing nothing, for a stale owner.
   */
  complete(key: string, token: string, retainMs: number): Promise<boolean>;
  /**
   * Gives `key` up so the next delivery can claim it at once, if `token` is the
   * current owner's. Answers `false`, changing nothing, for a stale owner.
   */
  release(key: string, token: string): Promise<boolean>;
  /**
   * Extends the lease of `key` to `leaseMs` from now, if `token` is the current
   * owner's. The pipeline calls it while handlers run, so a short lease never
   * runs out under a live owner and a crashed owner's key frees quickly.
   * Answers `false`, changing nothing, for a stale owner. Optional.
   */
  renew?(key: string, token: string, leaseMs: number): Promise<boolean>;
  /** Closes what the store opened itself (not a client the user passed in). */
  close?(): Promise<void>;
}

/** The answer of {@link TransactionalIdempotencyStore.processOnce}. */
export type ProcessOnceResult = 'processed' | 'duplicate' | 'in_progress';

/**
 * A store whose completion commits together with the handlers' own writes. The
 * pipeline calls {@link TransactionalIdempotencyStore.processOnce}: the check,
 * the handlers' writes and the completion are one transaction, so a crash at
 * any point leaves nothing behind. A store without it is claimed first and
 * completed through `completeWithin`; a crash between the two then holds the
 * key until its lease ends. Both SQL stores of c2p implement `processOnce`.
 *
 * @typeParam Tx - what the handler receives, e.g. a `pg` client inside `BEGIN`.
 */
export interface TransactionalIdempotencyStore<Tx> extends IdempotencyStore {
  /**
   * Runs `work` in one transaction with the completion of `key`. Answers `true`
   * when both committed, `false` when `token` was stale (nothing committed).
   * Rethrows what `work` throws, after rolling back.
   */
  completeWithin(
    key: string,
    token: string,
    retainMs: number,
    work: (tx: Tx) => Promise<void>,
  ): Promise<boolean>;
  /**
   * Runs `work` once for `key` in one transaction that also checks the key is
   * not completed and then completes it (kept `retainMs`): nothing is committed
   * before the handlers' writes, so a crash at any point leaves nothing behind
   * and the next delivery processes the event at once.
   *
   * Answers `duplicate` (nothing run) when the key is completed, `in_progress`
   * when another owner is processing it and did not finish within the store's
   * bounded wait, `processed` when `work` and the completion committed. Rethrows
   * what `work` throws, after rolling back; a backend failure throws
   * `C2pError('STORE_UNAVAILABLE')`.
   */
  processOnce?(
    key: string,
    retainMs: number,
    work: (tx: Tx) => Promise<void>,
  ): Promise<ProcessOnceResult>;
}

/** Is `store` a {@link TransactionalIdempotencyStore}? */
export function isTransactionalStore(
  store: IdempotencyStore,
): store is TransactionalIdempotencyStore<unknown> {
  return (
    typeof (store as Partial<TransactionalIdempotencyStore<unknown>>).completeWithin === 'function'
  );
}

/** The transaction type a store hands to handlers, or `undefined` for a plain store. */
export type TransactionOf<S extends IdempotencyStore> =
  S extends TransactionalIdempotencyStore<infer Tx> ? Tx : undefined;

/** What {@link createDurabilityCheck} trusts a passed check for. */
export interface DurabilityCheckOptions {
  /** How long a passed check is trusted, in ms; `0` checks every time. */
  readonly maxAgeMs: number;
  /**
   * Answers a number that changes when the backend may have changed under the
   * store (e.g. how many times its client has connected): a change checks again at once.
   */
  readonly epoch?: () => number;
}

/**
 * Wraps a store's durability check for its write path: the first call runs
 * `verify`, calls made meanwhile share that run, a failed run is not kept (the
 * next call checks again, so fixing the settings takes effect at once), and a
 * passed one is reused until it is `maxAgeMs` old or `epoch` changes.
 */
export function createDurabilityCheck(
  verify: () => Promise<void>,
  options: DurabilityCheckOptions,
): () => Promise<void> {
  const epoch = options.epoch ?? (() => 0);
  let last:
    | { readonly done: Promise<void>; readonly at: number; readonly epoch: number }
    | undefined;
  return () => {
    const at = Date.now();
    if (!last || at - last.at >= options.maxAgeMs || last.epoch !== epoch()) {
      const done = verify();
      const current = { done, at, epoch: epoch() };
      last = current;
      done.catch(() => {
        if (last === current) last = undefined;
      });
    }
    return last.done;
  };
}

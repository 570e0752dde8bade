/**
 * Calls every hook with `args`, so that none can change the answer: a hook that
 * throws is skipped, and one that returns a rejected promise is caught (typed
 * `=> void`, it may still be async; on Node an unhandled rejection ends the process).
 */
export function callHooks<A extends unknown[]>(
  hooks: ReadonlyArray<(...args: A) => unknown>,
  ...args: A
): void {
  for (const hook of hooks) {
    try {
      const result = hook(...args);
      if (result instanceof Promise) result.catch(() => {});
    } catch {
      // A broken hook must not change the answer.
    }
  }
}

/**
 * Calls every hook with `args`, so that none can change the answer: a hook that
 * throws is skipped, and one that returns a rejected promise is caught (typed
 * `=> void`, it may still be async; on Node an unhandled rejection ends the process).
 */
export function callHooks<A extends unknown[]>(
  hooks: ReadonlyArray<(...args: A) => unknown>,
  ...args: A
): void {
  for (const hook of hooks) callHook(hook, args);
}

/** One optional hook made safe to call: {@link callHooks} for a single hook. */
export function guardHook<A extends unknown[]>(
  hook: ((...args: A) => unknown) | undefined,
): (...args: A) => void {
  if (hook === undefined) return () => {};
  return (...args) => callHook(hook, args);
}

function callHook<A extends unknown[]>(hook: (...args: A) => unknown, args: A): void {
  try {
    const result = hook(...args);
    if (result instanceof Promise) result.catch(() => {});
  } catch {
    // A broken hook must not change the answer, nor stop a worker.
  }
}

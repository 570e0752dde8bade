import type { HandlerContext, RunHandlers } from './create-handlers.js';
import type { C2pEvent } from './events.js';

/**
 * A handler's own failure, wrapped where handlers run inside a store's
 * transaction, so that it is told apart from the store's failure around it.
 */
export class HandlerFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * Runs one event's handlers as a store's transaction runs them, in sync and
 * inbox mode alike: whatever they throw becomes a {@link HandlerFailure}.
 */
export function guardHandlers(
  run: RunHandlers,
  event: C2pEvent,
  context: Omit<HandlerContext<unknown>, 'tx'>,
): (tx: unknown) => Promise<void> {
  return async (tx) => {
    try {
      await run(event, { key: context.key, attempt: context.attempt, tx });
    } catch (cause) {
      throw new HandlerFailure(cause);
    }
  };
}

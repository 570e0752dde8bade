import type { C2pEvent } from './events.js';

/** What a handler receives beside the event. */
export interface HandlerContext<Tx = undefined> {
  /** The event's idempotency key. */
  key: string;
  /**
   * The store's transaction, for a transactional store (SQLite, PostgreSQL):
   * write through it and your write commits together with the completion.
   * `undefined` for other stores.
   */
  tx: Tx;
  /**
   * This attempt's number, from 1. In inbox mode it counts c2p's own attempts
   * of the event; in sync mode it is always 1 (Clik2pay's retries are new deliveries).
   */
  attempt: number;
}

/** A handler for events of type `E`. Throw to refuse the event: it is released and Clik2pay retries. */
export type EventHandler<E, Tx = undefined> = (
  event: E,
  context: HandlerContext<Tx>,
) => void | Promise<void>;

type AnyHandler = EventHandler<C2pEvent, unknown>;

/** The registered handlers, and running them for one event. */
export interface HandlerRegistry {
  /** Adds a handler for each of `eventTypes`. */
  on(eventTypes: string | readonly string[], handler: AnyHandler): void;
  /** Adds a handler for every event, run after the specific ones. */
  onAny(handler: AnyHandler): void;
  /** Adds a handler for event types c2p does not know. */
  onUnknown(handler: AnyHandler): void;
  /**
   * Runs the event's handlers one after the other: those of its type (or the
   * unknown-type ones), then the catch-all ones. The first that throws stops the rest.
   * Answers a promise once a handler returns one, `undefined` when all were synchronous
   * (a synchronous throw is thrown).
   */
  run(event: C2pEvent, context: HandlerContext<unknown>): Promise<void> | undefined;
}

/** Builds an empty {@link HandlerRegistry}. */
export function createHandlerRegistry(): HandlerRegistry {
  const byType = new Map<string, AnyHandler[]>();
  const anyHandlers: AnyHandler[] = [];
  const unknownHandlers: AnyHandler[] = [];
  return {
    on(eventTypes, handler) {
      for (const type of typeof eventTypes === 'string' ? [eventTypes] : eventTypes) {
        const list = byType.get(type) ?? [];
        list.push(handler);
        byType.set(type, list);
      }
    },
    onAny(handler) {
      anyHandlers.push(handler);
    },
    onUnknown(handler) {
      unknownHandlers.push(handler);
    },
    run(event, context) {
      const specific = (event.known ? byType.get(event.eventType) : unknownHandlers) ?? none;
      const lists = anyHandlers.length === 0 ? [specific] : [specific, anyHandlers];
      for (let l = 0; l < lists.length; l++) {
        const list = lists[l] as AnyHandler[];
        for (let i = 0; i < list.length; i++) {
          const result = (list[i] as AnyHandler)(event, context);
          // A synchronous handler costs no promise and no turn of the microtask queue.
          if (result !== undefined) return finish(result, lists, l, i + 1, event, context);
        }
      }
      return undefined;
    },
  };
}

const none: AnyHandler[] = [];

/** The rest of {@link HandlerRegistry.run} once a handler returned a promise: awaits it, then the others in turn. */
async function finish(
  pending: Promise<void>,
  lists: readonly AnyHandler[][],
  l: number,
  i: number,
  event: C2pEvent,
  context: HandlerContext<unknown>,
): Promise<void> {
  await pending;
  for (; l < lists.length; l++, i = 0) {
    const list = lists[l] as AnyHandler[];
    for (; i < list.length; i++) {
      const result = (list[i] as AnyHandler)(event, context);
      if (result !== undefined) await result;
    }
  }
}

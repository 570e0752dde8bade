import type { InboxStore } from './inbox-store.js';

type Listener = () => void;

// The workers of each inbox object in this process. Keyed by the inbox, so an
// intake and a worker built apart (even in different modules) still meet.
const listeners = new WeakMap<InboxStore, Set<Listener>>();

/**
 * Calls `listener` whenever {@link wakeInboxWorkers} is called for `inbox` in
 * this process, and, when the inbox can tell (`watch()`, e.g. PostgreSQL's
 * LISTEN/NOTIFY), whenever another process stores or replays events in it.
 * Answers the function that stops listening.
 */
export function watchInbox(inbox: InboxStore, listener: Listener): () => void {
  let set = listeners.get(inbox);
  if (set === undefined) {
    set = new Set();
    listeners.set(inbox, set);
  }
  set.add(listener);
  const unwatch = typeof inbox.watch === 'function' ? inbox.watch(listener) : undefined;
  return () => {
    set.delete(listener);
    unwatch?.();
  };
}

/**
 * Wakes this process's workers of `inbox` at once: the intake calls it after
 * storing new events, and so should anything else that makes an event due
 * (a replay, a reconciler). Workers elsewhere find it through the inbox's
 * notification or at their next poll.
 */
export function wakeInboxWorkers(inbox: InboxStore): void {
  const set = listeners.get(inbox);
  if (set === undefined) return;
  for (const listener of set) listener();
}

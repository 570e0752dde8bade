import type { InboxState, InboxStore } from './inbox-store.js';

/** What {@link readInboxHealth} answers: enough for a gauge, a health check or an alert. */
export interface InboxHealth {
  /** How many events are in each state. */
  readonly counts: Record<InboxState, number>;
  /** How long the oldest `pending` or `retrying` event has waited since it was received, in ms; `0` when none waits. */
  readonly oldestUnfinishedAgeMs: number;
  /** Whether the inbox is paused, for inboxes that can be; `false` otherwise. */
  readonly paused: boolean;
}

/** The part of an inbox {@link readInboxHealth} reads (`isPaused` where the store has it). */
export type InboxHealthSource = Pick<InboxStore, 'counts' | 'list'> & {
  isPaused?(): Promise<boolean>;
};

/**
 * Reads an inbox's counts, the age of its oldest unfinished event and whether
 * it is paused, for dashboards, uptime checks and backlog alerts.
 *
 * @example
 * const { counts, oldestUnfinishedAgeMs } = await readInboxHealth(inbox);
 */
export async function readInboxHealth(
  inbox: InboxHealthSource,
  now: number = Date.now(),
): Promise<InboxHealth> {
  const [counts, oldestUnfinishedAgeMs, paused] = await Promise.all([
    inbox.counts(),
    oldestUnfinishedAge(inbox, now),
    inbox.isPaused?.() ?? false,
  ]);
  return { counts, oldestUnfinishedAgeMs, paused };
}

/** The age of the oldest `pending` or `retrying` event (each state lists oldest first), in ms; `0` when none. */
export async function oldestUnfinishedAge(
  inbox: Pick<InboxStore, 'list'>,
  now: number = Date.now(),
): Promise<number> {
  const [pending, retrying] = await Promise.all([
    inbox.list({ state: 'pending', limit: 1 }),
    inbox.list({ state: 'retrying', limit: 1 }),
  ]);
  let oldest = Number.POSITIVE_INFINITY;
  for (const entry of [...pending, ...retrying]) oldest = Math.min(oldest, entry.receivedAt);
  return oldest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, now - oldest);
}

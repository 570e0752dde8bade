import type { InboxEntry, InboxState } from '@c2p/core';

/** An inbox event as the admin shows it: its state and history, never its body. */
export interface PublicInboxEntry {
  id: string;
  key: string;
  eventType: string;
  /** `kind:id` of its resource: events of one resource run one at a time, in arrival order. */
  resource: string;
  state: InboxState;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  receivedAt: string;
  processedAt: string | null;
}

const isoOrNull = (ms: number | null): string | null =>
  ms === null ? null : new Date(ms).toISOString();

/** The admin's view of an inbox entry. */
export function publicInboxEntry(entry: InboxEntry): PublicInboxEntry {
  return {
    id: entry.id,
    key: entry.key,
    eventType: entry.eventType,
    resource: entry.resourceKey,
    state: entry.state,
    attempts: entry.attempts,
    nextAttemptAt: isoOrNull(entry.nextAttemptAt),
    lastError: entry.lastError,
    receivedAt: new Date(entry.receivedAt).toISOString(),
    processedAt: isoOrNull(entry.processedAt),
  };
}

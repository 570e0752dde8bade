import type { InboxEntry, InboxHistoryItem, InboxState } from '@c2p/core';

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

/** A history item as the admin shows it: times in ISO 8601, the rest as stored. */
export interface PublicHistoryItem {
  at: string;
  action: InboxHistoryItem['action'];
  outcome?: InboxHistoryItem['outcome'];
  durationMs?: number;
  error?: string | null;
  note?: string;
}

/** The admin's view of a history item. */
export function publicHistoryItem(item: InboxHistoryItem): PublicHistoryItem {
  return { ...item, at: new Date(item.at).toISOString() };
}

/** The stored event as JSON (it was parsed from the delivery), or its text if it cannot be. */
export function parsedPayload(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

/** The words of the paused indicator; the page's script writes the same. */
export const pausedText = (paused: boolean): string =>
  paused
    ? 'Processing is paused: deliveries are still accepted and wait in the inbox.'
    : 'Processing is running.';

import { integerOption, invalidOption } from './errors.js';
import { inboxDefaults } from './inbox-defaults.js';
import {
  type InboxEntry,
  type InboxFilter,
  type InboxHistoryItem,
  type InboxSearch,
  type InboxState,
  inboxStates,
} from './inbox-store.js';

const cursorPrefix = 'c2p.';

/**
 * The opaque cursor of a search page that ended at store id `id`: the next
 * page holds the events with a smaller id. Every c2p inbox writes it alike.
 */
export function inboxCursor(id: string): string {
  return `${cursorPrefix}${id}`;
}

/**
 * The store id an `after` cursor names, or `null` for none (the first page).
 * Anything that is not a cursor {@link inboxCursor} wrote throws
 * `INVALID_OPTIONS` naming `query.after`.
 */
export function inboxCursorId(after: string | null | undefined): string | null {
  if (after === undefined || after === null) return null;
  const id = typeof after === 'string' && after.startsWith(cursorPrefix) ? after.slice(4) : '';
  if (!/^[1-9][0-9]{0,15}$/.test(id)) {
    throw invalidOption(
      'query.after',
      'is not a cursor this inbox answered (use a page\u2019s `next`)',
    );
  }
  return id;
}

const optionalString = (value: unknown, path: string): void => {
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    throw invalidOption(path, 'must be a non-empty string');
  }
};

const optionalTime = (value: unknown, path: string): void => {
  if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value))) {
    throw invalidOption(path, 'must be a time in ms since the epoch (an integer)');
  }
};

/**
 * Checks an {@link InboxFilter} and answers it: each field of the right type,
 * `state` one of `inboxStates`, `ids` an array of strings. A bad one throws
 * `INVALID_OPTIONS` naming the field (`filter.state`).
 */
export function checkInboxFilter<F extends InboxFilter>(filter: F, path = 'filter'): F {
  if (typeof filter !== 'object' || filter === null) throw invalidOption(path, 'must be an object');
  const { state, ids } = filter;
  if (state !== undefined && !(inboxStates as readonly string[]).includes(state)) {
    throw invalidOption(`${path}.state`, `must be one of ${inboxStates.join(', ')}`);
  }
  optionalString(filter.resourceKey, `${path}.resourceKey`);
  optionalString(filter.eventType, `${path}.eventType`);
  optionalString(filter.key, `${path}.key`);
  optionalTime(filter.receivedSince, `${path}.receivedSince`);
  optionalTime(filter.receivedBefore, `${path}.receivedBefore`);
  if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string'))) {
    throw invalidOption(`${path}.ids`, 'must be an array of id strings');
  }
  return filter;
}

/** A checked {@link InboxSearch}: its limit applied and its cursor read. */
export interface CheckedInboxSearch extends InboxFilter {
  readonly limit: number;
  /** The id the previous page ended at; `null` on the first page. */
  readonly afterId: string | null;
}

/**
 * Checks an {@link InboxSearch} (see {@link checkInboxFilter}), applies the
 * default `limit` and reads the cursor; a bad value throws `INVALID_OPTIONS`
 * naming it (`query.limit`, `query.after`).
 */
export function checkInboxSearch(query: InboxSearch): CheckedInboxSearch {
  checkInboxFilter(query, 'query');
  const limit = integerOption(query.limit, 'query.limit', { fallback: inboxDefaults.listLimit });
  return { ...query, limit, afterId: inboxCursorId(query.after) };
}

/**
 * The filter `replayMatching` runs: only `dead` events may be replayed, so a
 * `state` other than `'dead'` throws `INVALID_OPTIONS` naming `filter.state`.
 */
export function replayableInboxFilter(filter: InboxFilter): InboxFilter & { state: 'dead' } {
  checkInboxFilter(filter);
  if (filter.state !== undefined && filter.state !== 'dead') {
    throw invalidOption('filter.state', `only dead events can be replayed, not ${filter.state}`);
  }
  return { ...filter, state: 'dead' };
}

/** Does `entry` match every field `filter` names? */
export function matchesInboxFilter(entry: InboxEntry, filter: InboxFilter): boolean {
  return (
    (filter.state === undefined || entry.state === filter.state) &&
    (filter.resourceKey === undefined || entry.resourceKey === filter.resourceKey) &&
    (filter.eventType === undefined || entry.eventType === filter.eventType) &&
    (filter.key === undefined || entry.key === filter.key) &&
    (filter.receivedSince === undefined || entry.receivedAt >= filter.receivedSince) &&
    (filter.receivedBefore === undefined || entry.receivedAt < filter.receivedBefore) &&
    (filter.ids === undefined || filter.ids.includes(entry.id))
  );
}

/** The states `sweep()` deletes once past the retention: `processed` and `resolved`. */
export const sweptInboxStates = ['processed', 'resolved'] as const satisfies readonly InboxState[];

/** `history` with `item` added, keeping the newest `inboxDefaults.historyLimit` items. */
export function appendInboxHistory(
  history: readonly InboxHistoryItem[],
  item: InboxHistoryItem,
): InboxHistoryItem[] {
  return [...history, item].slice(-inboxDefaults.historyLimit);
}

/** The history item of a finished attempt, its duration when `startedAt` is known. */
export function inboxAttemptItem(
  at: number,
  outcome: 'processed' | 'retrying' | 'dead',
  startedAt: number | undefined,
  error?: string,
): InboxHistoryItem {
  return {
    at,
    action: 'attempt',
    outcome,
    ...(startedAt === undefined ? {} : { durationMs: Math.max(0, at - startedAt) }),
    ...(error === undefined ? {} : { error }),
  };
}

import { isUnfinishedInboxState } from './inbox-states.js';
import type { InboxEntry, InboxState } from './inbox-store.js';

/**
 * An inbox event as a store reads it back, one field per {@link InboxEntry}
 * field: numbers may come as text (a `bigint` column, a Redis hash) and an
 * absent optional field as `undefined`. {@link toInboxEntry} makes the entry.
 */
export interface InboxRow {
  readonly id: string | number;
  readonly key: string;
  readonly resourceKey: string;
  readonly eventType: string;
  readonly payload: string;
  readonly receivedAt: string | number;
  readonly clientIp?: string | null;
  readonly state: InboxState;
  readonly attempts: string | number;
  readonly nextAttemptAt?: string | number | null;
  readonly lastError?: string | null;
  readonly processedAt?: string | number | null;
}

/**
 * The column of each {@link InboxEntry} field in a SQL store's table; the
 * lease columns (`lease_token`, `locked_until`) are each store's own.
 */
export const inboxColumns = {
  id: 'id',
  key: 'key',
  resourceKey: 'resource_key',
  eventType: 'event_type',
  payload: 'payload',
  receivedAt: 'received_at',
  clientIp: 'client_ip',
  state: 'state',
  attempts: 'attempts',
  nextAttemptAt: 'next_attempt_at',
  lastError: 'last_error',
  processedAt: 'processed_at',
} as const satisfies { readonly [F in keyof InboxEntry]-?: string };

/**
 * The select list that reads an {@link InboxRow}: every column, aliased to its
 * field (`resource_key AS "resourceKey"`), optionally qualified by a table alias.
 *
 * @example
 * ```ts
 * const sql = `SELECT ${inboxSelectList()} FROM "c2p_inbox" WHERE id = $1`;
 * ```
 */
export function inboxSelectList(tableAlias?: string): string {
  const prefix = tableAlias === undefined ? '' : `${tableAlias}.`;
  return Object.entries(inboxColumns)
    .map(([field, column]) => `${prefix}${column}${field === column ? '' : ` AS "${field}"`}`)
    .join(', ');
}

const orNull = (value: string | number | null | undefined): number | null =>
  value === null || value === undefined ? null : Number(value);

/**
 * The {@link InboxEntry} of a stored row. `nextAttemptAt` is kept only for an
 * unfinished event, as the port says (`null` otherwise).
 */
export function toInboxEntry(row: InboxRow): InboxEntry {
  return {
    id: String(row.id),
    key: row.key,
    resourceKey: row.resourceKey,
    eventType: row.eventType,
    payload: row.payload,
    receivedAt: Number(row.receivedAt),
    clientIp: row.clientIp ?? null,
    state: row.state,
    attempts: Number(row.attempts),
    nextAttemptAt: isUnfinishedInboxState(row.state) ? orNull(row.nextAttemptAt) : null,
    lastError: row.lastError ?? null,
    processedAt: orNull(row.processedAt),
  };
}

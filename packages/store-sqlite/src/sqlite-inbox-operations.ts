import type {
  InboxEntry,
  InboxFilter,
  InboxHistoryAction,
  InboxHistoryItem,
  InboxPage,
} from '@c2p/core';
import {
  type CheckedInboxSearch,
  type InboxRow,
  inboxCursor,
  inboxDefaults,
  inboxSelectList,
  inboxStateList,
  inboxStateLiterals,
  sweptInboxStates,
  toInboxEntry,
} from '@c2p/core/kit';
import type Database from 'better-sqlite3';
import type { InboxTables } from './sqlite-inbox-schema.js';

const columns = inboxSelectList();

/** One history row as stored. */
interface HistoryRow {
  readonly at: number;
  readonly action: InboxHistoryAction;
  readonly outcome: InboxHistoryItem['outcome'] | null;
  readonly durationMs: number | null;
  readonly error: string | null;
  readonly note: string | null;
}

const toHistoryItem = (row: HistoryRow): InboxHistoryItem => ({
  at: row.at,
  action: row.action,
  ...(row.outcome === null ? {} : { outcome: row.outcome }),
  ...(row.durationMs === null ? {} : { durationMs: row.durationMs }),
  ...(row.error === null ? {} : { error: row.error }),
  ...(row.note === null ? {} : { note: row.note }),
});

/** An id as the port gives it (decimal text), or `undefined` for anything else. */
export const rowId = (id: string): number | undefined =>
  /^[1-9][0-9]{0,15}$/.test(id) ? Number(id) : undefined;

/** The history's statements: each event keeps its newest `historyLimit` items. */
export function prepareHistory(db: Database.Database, { history }: InboxTables) {
  const add = db.prepare<{
    id: number;
    at: number;
    action: InboxHistoryAction;
    outcome: string | null;
    durationMs: number | null;
    error: string | null;
    note: string | null;
  }>(
    `INSERT INTO ${history} (event_id, at, action, outcome, duration_ms, error, note)
     VALUES (@id, @at, @action, @outcome, @durationMs, @error, @note)`,
  );
  const trim = db.prepare<{ id: number }>(
    `DELETE FROM ${history} WHERE event_id = @id AND id <= (
       SELECT id FROM ${history} WHERE event_id = @id ORDER BY id DESC LIMIT 1 OFFSET ${inboxDefaults.historyLimit})`,
  );
  const read = db.prepare<[number], HistoryRow>(
    `SELECT at, action, outcome, duration_ms AS durationMs, error, note
     FROM ${history} WHERE event_id = ? ORDER BY id`,
  );
  return {
    /** Records `item` for event `id` (inside the caller's transaction). */
    record(id: number, item: InboxHistoryItem): void {
      add.run({
        id,
        at: item.at,
        action: item.action,
        outcome: item.outcome ?? null,
        durationMs: item.durationMs ?? null,
        error: item.error ?? null,
        note: item.note ?? null,
      });
      trim.run({ id });
    },
    read: (id: number): InboxHistoryItem[] => read.all(id).map(toHistoryItem),
  };
}

export type SqliteHistory = ReturnType<typeof prepareHistory>;

/** A filter as SQL: its WHERE and named parameters. */
interface FilterSql {
  readonly where: string;
  readonly params: Record<string, string | number>;
  /** `false` when the WHERE holds values (ids), so its statement is not kept. */
  readonly reusable: boolean;
}

/** The WHERE of an {@link InboxFilter}; every field has an index behind it. */
function filterSql(filter: InboxFilter, afterId: string | null = null): FilterSql {
  const clauses: string[] = [];
  const params: Record<string, string | number> = {};
  const add = (clause: string, name: string, value: string | number | undefined): void => {
    if (value === undefined) return;
    clauses.push(clause);
    params[name] = value;
  };
  add('state = @state', 'state', filter.state);
  add('resource_key = @resourceKey', 'resourceKey', filter.resourceKey);
  add('event_type = @eventType', 'eventType', filter.eventType);
  add('key = @key', 'key', filter.key);
  add('received_at >= @receivedSince', 'receivedSince', filter.receivedSince);
  add('received_at < @receivedBefore', 'receivedBefore', filter.receivedBefore);
  // Ids are written in (checked integers): a list the planner can see is
  // looked up by primary key, where a bound JSON list would be scanned against.
  const ids = filter.ids?.map(rowId).filter((id) => id !== undefined);
  if (ids !== undefined) clauses.push(ids.length === 0 ? '0' : `id IN (${ids.join(', ')})`);
  add('id < @afterId', 'afterId', afterId === null ? undefined : Number(afterId));
  const where = clauses.length === 0 ? '1' : clauses.join(' AND ');
  return { where, params, reusable: ids === undefined };
}

/** The SELECT of one search page (`limit + 1` rows: one more tells whether a next page exists). */
export function searchSql(
  { limit, afterId, ...filter }: CheckedInboxSearch,
  { events }: Pick<InboxTables, 'events'>,
): FilterSql & { readonly sql: string } {
  const { where, params, reusable } = filterSql(filter, afterId);
  return {
    sql: `SELECT ${columns} FROM ${events} WHERE ${where} ORDER BY id DESC LIMIT @limit`,
    where,
    params: { ...params, limit: limit + 1 },
    reusable,
  };
}

/** Statements built per filter shape, prepared once each (at most a few hundred shapes). */
function statementCache(db: Database.Database) {
  const cache = new Map<string, Database.Statement>();
  return (sql: string, reusable = true): Database.Statement => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      if (reusable) cache.set(sql, statement);
    }
    return statement;
  };
}

/** The operator's operations: search, resolve, bulk replay, pause, and the sweep. */
export function prepareOperations(
  db: Database.Database,
  tables: InboxTables,
  history: SqliteHistory,
) {
  const { events, settings } = tables;
  const statement = statementCache(db);
  const resolve = db.prepare<{ id: number; now: number }>(
    `UPDATE ${events} SET state = ${inboxStateLiterals.resolved}, processed_at = @now
     WHERE id = @id AND state = ${inboxStateLiterals.dead}`,
  );
  const readPaused = db.prepare<[], { value: string }>(
    `SELECT value FROM ${settings} WHERE name = 'paused'`,
  );
  const writePaused = db.prepare<[string]>(
    `INSERT INTO ${settings} (name, value) VALUES ('paused', ?)
     ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
  );
  const sweepIds = db.prepare<[number, number], { id: number }>(
    `SELECT id FROM ${events} WHERE state IN (${inboxStateList(sweptInboxStates)})
       AND processed_at <= ? LIMIT ?`,
  );
  const forgetEvents = db.prepare<[string]>(
    `DELETE FROM ${events} WHERE id IN (SELECT value FROM json_each(?))`,
  );
  const forgetHistory = db.prepare<[string]>(
    `DELETE FROM ${tables.history} WHERE event_id IN (SELECT value FROM json_each(?))`,
  );

  return {
    /** One page of a search `checkInboxSearch` has checked. */
    search(query: CheckedInboxSearch): InboxPage {
      const { limit } = query;
      const { sql, params, reusable } = searchSql(query, tables);
      const rows = statement(sql, reusable).all(params) as InboxRow[];
      const entries: InboxEntry[] = rows.slice(0, limit).map(toInboxEntry);
      const last = entries[entries.length - 1];
      return { entries, next: rows.length > limit && last ? inboxCursor(last.id) : null };
    },
    /**
     * Counts, or replays (in the caller's transaction), the events `filter`
     * matches: one `replayableInboxFilter` has checked, so dead ones only.
     */
    replayMatching(filter: InboxFilter & { state: 'dead' }, dryRun: boolean, now: number): number {
      const { where, params, reusable } = filterSql(filter);
      if (dryRun) {
        const sql = `SELECT count(*) AS count FROM ${events} WHERE ${where}`;
        return (statement(sql, reusable).get(params) as { count: number }).count;
      }
      const sql = `UPDATE ${events} SET state = ${inboxStateLiterals.pending}, attempts = 0,
          next_attempt_at = @now, last_error = NULL, lease_token = NULL, locked_until = 0
        WHERE ${where} RETURNING id`;
      const replayed = statement(sql, reusable).all({ ...params, now }) as { id: number }[];
      for (const { id } of replayed) history.record(id, { at: now, action: 'replayed' });
      return replayed.length;
    },
    /** Resolves a dead event (in the caller's transaction). */
    resolve(id: number, note: string, now: number): boolean {
      if (resolve.run({ id, now }).changes !== 1) return false;
      history.record(id, { at: now, action: 'resolved', note });
      return true;
    },
    isPaused: (): boolean => readPaused.get()?.value === 'true',
    setPaused(paused: boolean): void {
      writePaused.run(String(paused));
    },
    /** Deletes one batch of finished events past the retention, and their history. */
    sweep(before: number, batch: number): number {
      const ids = JSON.stringify(sweepIds.all(before, batch).map(({ id }) => id));
      forgetHistory.run(ids);
      return forgetEvents.run(ids).changes;
    },
  };
}

export type SqliteOperations = ReturnType<typeof prepareOperations>;

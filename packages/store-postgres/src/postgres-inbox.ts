import type {
  InboxEntry,
  InboxFilter,
  InboxHistoryItem,
  InboxPage,
  InboxReplayOptions,
  InboxSearch,
  InboxState,
  TransactionalInboxStore,
} from '@c2p/core';
import { C2pError } from '@c2p/core';
import type {
  InboxAttempt,
  InboxFailure,
  InboxLease,
  InboxQuery,
  InboxRecord,
} from '@c2p/core/kit';
import {
  checkInboxSearch,
  countInboxStates,
  createDurabilityCheck,
  type InboxRow,
  inboxCursor,
  inboxDefaults,
  inboxDurability,
  inboxRetention,
  inboxSelectList,
  inboxStateList,
  inboxStateLiterals,
  integerOption,
  invalidOption,
  isUnfinishedInboxState,
  replayableInboxFilter,
  sweptInboxStates,
  tableNameOption,
  toInboxEntry,
  unfinishedInboxStates,
} from '@c2p/core/kit';
import type { Pool, PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import {
  clockSql,
  isPool,
  openPool,
  PostgresTable,
  pkg,
  poolSettings,
} from './postgres-connection.js';
import { countsMigrateSql, countsSql, foldAbove } from './postgres-inbox-counts.js';
import { inboxFilterSql, inboxSearchSql, isId } from './postgres-inbox-filter.js';
import {
  createNotificationChannel,
  type NotificationChannel,
  openFromPool,
  openOwnClient,
} from './postgres-notifications.js';

/** Options for {@link createPostgresInbox}. */
export interface PostgresInboxOptions {
  /**
   * A connection string for the pools the inbox opens and closes (one for
   * accepting deliveries, one for workers), or a `pg` `Pool` of yours, which
   * `close()` leaves open. Give your pool an `error` listener.
   */
  connection: string | Pool;
  /**
   * The pool workers use (lease, renew, complete, fail, `completeWithin`, sweep).
   * Defaults to a second pool of `workerMax` connections when `connection` is a
   * string, and to `connection` itself when it is a pool: then size that pool
   * for your worker concurrency plus ingestion, or pass a second pool here, so
   * running handlers never keep deliveries waiting for a connection.
   */
  workerConnection?: Pool;
  /** The table; letters, digits and `_`. Defaults to `c2p_inbox`. */
  table?: string;
  /** How long processed events are kept (and their keys deduplicated), in ms. Defaults to 30 days. */
  retainMs?: number;
  /** The size of the ingestion pool the inbox opens. Defaults to `10`. */
  max?: number;
  /** The size of the worker pool the inbox opens. Defaults to `10`. */
  workerMax?: number;
  /** How long to wait for a connection before failing with `STORE_UNAVAILABLE`, in ms. Defaults to `5000`. */
  connectionTimeoutMs?: number;
  /** How many processed events one `sweep()` deletes at most. Defaults to `1000`. */
  sweepBatch?: number;
  /**
   * `'verify'`: read the durability settings as the inbox's connections see them
   * (`synchronous_commit`, `fsync`, `synchronous_standby_names`) in `migrate()`
   * and before `enqueue`, and refuse to accept deliveries (`STORE_UNAVAILABLE`,
   * so they are answered 503 and retried, never 2xx) unless a commit is on disk
   * before it is acknowledged: `fsync` on, and `synchronous_commit` `on`,
   * `remote_write` or `remote_apply` (`local` only when no synchronous standby is
   * configured). `'trust'`: skip the check (settings you have checked yourself).
   * Defaults to `'verify'`.
   */
  durability?: 'verify' | 'trust';
  /**
   * With `durability: 'verify'`, how long a passed check is trusted before
   * `enqueue` reads the settings again, in ms (a role or database may be
   * altered while the inbox runs). Defaults to `10000`.
   */
  durabilityCheckMs?: number;
  /**
   * The clock, in milliseconds, for tests. Defaults to the database server's
   * clock, so workers on machines with skewed clocks agree on leases.
   */
  now?: () => number;
}

/**
 * The PostgreSQL inbox. `completeWithin` hands your handler a `PoolClient`
 * inside `BEGIN`, so its writes and the event's `processed` state commit together.
 */
export interface PostgresInbox extends TransactionalInboxStore<PoolClient> {
  /**
   * Creates the table, its indexes and `<table>_counts` (kept by triggers) if missing, then (with `durability:
   * 'verify'`) checks the durability settings. Idempotent; run it at deploy or start-up.
   */
  migrate(): Promise<void>;
  /**
   * Reads the durability settings and throws `STORE_UNAVAILABLE` naming what is
   * wrong unless an acknowledged commit is on disk (see `durability`).
   */
  verifyDurability(): Promise<void>;
  sweep(): Promise<number>;
  /** Newest first, each filter served by an index; see `InboxStore.search`. */
  search(query: InboxSearch): Promise<InboxPage>;
  /** The event's newest 50 attempts and operator actions, oldest first (a jsonb column). */
  history(id: string): Promise<InboxHistoryItem[]>;
  resolve(id: string, note: string): Promise<boolean>;
  /**
   * One `UPDATE ... WHERE state = 'dead' AND <filter>`: concurrent calls, in any
   * process, replay each event once. Wakes the workers of every process.
   */
  replayMatching(filter: InboxFilter, options?: InboxReplayOptions): Promise<number>;
  /**
   * Stored in `<table>_settings`, and read inside the lease statement: every
   * worker of the table, in every process, stops leasing; resuming wakes them.
   */
  setPaused(paused: boolean): Promise<void>;
  isPaused(): Promise<boolean>;
  /**
   * Calls `listener` when any process stores events in this table
   * (LISTEN/NOTIFY on `<table>_due`, sent after the commit), so
   * workers elsewhere start at once rather than at their next poll. One
   * connection listens while anyone watches: its own for a connection string,
   * one held from your pool otherwise. Core's worker watches by itself.
   */
  watch(listener: () => void): () => void;
  /** Closes the pools the inbox opened, and the listening connection. */
  close(): Promise<void>;
}

// A stored generated column rather than `state IN (...)` in every predicate:
// the planner's default guess for a boolean (half the rows) keeps the lease's
// plan an ordered index scan that stops at the limit, even on a young table
// autovacuum has not analyzed yet (the IN list's guess, a handful of rows,
// made it compute every unfinished row's check and sort them: 80 ms, not 4).
const unfinished = 'unfinished';
// The token holder's row: unfinished, its token. The token alone fences: a
// lease is taken over only by a new lease, which writes a new token, so a
// holder whose lease ran out with nobody taking over still records its
// outcome (a handler that outlived its lease, then failed, reaches the retry
// schedule instead of running again at once, forever).
const ownsToken = `entry.id = $2 AND entry.lease_token = $3 AND entry.${unfinished}`;
// Renewal alone needs the lease not run out: it extends a live lease, never revives one.
const held = `${ownsToken} AND entry.locked_until > clock.at`;
const at = clockSql;

/** The channel workers LISTEN on: the table's name (unquoted) and `_due`. */
export const dueChannel = (table: string): string => `${table}_due`;

/** The one-row table that holds the inbox's pause, shared by every process: `<table>_settings`. */
export const settingsTable = (table: string): string => `"${table}_settings"`;

/**
 * The assignment that adds `item` (a jsonb expression, without its time) to an
 * event's history, stamped with the statement's clock and keeping the newest
 * `inboxDefaults.historyLimit` items (items are added one at a time, so
 * dropping the oldest one keeps the bound).
 */
const pushHistory = (item: string): string =>
  `history = (CASE WHEN jsonb_array_length(entry.history) >= ${inboxDefaults.historyLimit}
    THEN entry.history - 0 ELSE entry.history END)
    || jsonb_build_array(jsonb_build_object('at', clock.at) || ${item})`;

/** An attempt's duration, from the parameter holding when it started (NULL: none recorded). */
const durationSince = (started: string): string =>
  `CASE WHEN ${started}::bigint IS NULL THEN '{}'::jsonb
    ELSE jsonb_build_object('durationMs', GREATEST(0, clock.at - ${started}::bigint)) END`;

/** completeWithin's attempt: its transaction began just before the handlers ran (`now()`). */
const transactionDuration = `jsonb_build_object('durationMs',
  GREATEST(0, (extract(epoch FROM clock_timestamp() - now()) * 1000)::bigint))`;

/** An attempt's history item, with its `duration` (a jsonb expression). */
const attemptItem = (outcome: string, duration: string, error = ''): string =>
  `jsonb_build_object('action', 'attempt', 'outcome', ${outcome}${error}) || ${duration}`;

/** The states sweep deletes past the retention, as SQL: `'processed', 'resolved'`. */
const swept = inboxStateList(sweptInboxStates);

/** Accepting and leasing: `$1` is the clock (`null`: the server's). */
function intakeSql(quoted: string, settings: string) {
  return {
    // One statement, one commit for the whole delivery; arrival order is the id.
    enqueue: `
      WITH clock AS (SELECT ${at} AS at)
      INSERT INTO ${quoted} (key, resource_key, event_type, payload, received_at, client_ip, next_attempt_at)
      SELECT r.key, r.resource_key, r.event_type, r.payload, r.received_at, r.client_ip, clock.at
      FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])
        WITH ORDINALITY AS r(key, resource_key, event_type, payload, received_at, client_ip, n), clock
      ORDER BY r.n
      ON CONFLICT (key) DO NOTHING
      RETURNING key`,
    // Due, not leased, and the head of its resource: no earlier unfinished event
    // of the same resource (leased or not), and no other of its events leased
    // (a replayed dead event must wait for a later one already running).
    // SKIP LOCKED: concurrent workers pass over each other's rows instead of waiting.
    lease: `
      WITH clock AS (SELECT ${at} AS at),
      picked AS (
        SELECT entry.id FROM ${quoted} AS entry, clock
        WHERE entry.${unfinished} AND entry.next_attempt_at <= clock.at
          AND (entry.locked_until IS NULL OR entry.locked_until <= clock.at)
          AND NOT EXISTS (SELECT 1 FROM ${settings} WHERE paused)
          AND NOT EXISTS (
            SELECT 1 FROM ${quoted} AS earlier
            WHERE earlier.resource_key = entry.resource_key AND earlier.${unfinished} AND earlier.id <> entry.id
              AND (earlier.id < entry.id OR earlier.locked_until > clock.at))
        ORDER BY entry.id
        LIMIT $2
        FOR UPDATE OF entry SKIP LOCKED)
      UPDATE ${quoted} AS entry
      SET attempts = entry.attempts + 1, lease_token = gen_random_uuid()::text, locked_until = clock.at + $3
      FROM picked, clock
      WHERE entry.id = picked.id
      RETURNING entry.lease_token, ${inboxSelectList('entry')}`,
    // Never waits on the row: while the holder's completeWithin runs, that
    // transaction locks it (and keeps every other worker off it), so the lease
    // is still held, and the answer is read from the last committed state.
    renew: `
      WITH clock AS (SELECT ${at} AS at),
      free AS (SELECT entry.id FROM ${quoted} AS entry, clock WHERE ${held} FOR UPDATE OF entry SKIP LOCKED),
      renewed AS (
        UPDATE ${quoted} AS entry SET locked_until = clock.at + $4 FROM free, clock WHERE entry.id = free.id)
      SELECT EXISTS (SELECT 1 FROM ${quoted} AS entry, clock WHERE ${held}) AS held`,
  };
}

/** Settling a lease: complete, completeWithin's lock and finish, fail. */
function settleSql(quoted: string) {
  const failedState = `CASE WHEN $4::bigint IS NULL THEN ${inboxStateLiterals.dead} ELSE ${inboxStateLiterals.retrying} END`;
  const completed = (duration: string): string => `
      WITH clock AS (SELECT ${at} AS at)
      UPDATE ${quoted} AS entry
      SET state = ${inboxStateLiterals.processed}, processed_at = clock.at, next_attempt_at = NULL,
        locked_until = NULL, lease_token = NULL,
        ${pushHistory(attemptItem(inboxStateLiterals.processed, duration))}
      FROM clock WHERE ${ownsToken}`;
  return {
    // $4: when the attempt started (NULL: unknown).
    complete: completed(durationSince('$4')),
    // completeWithin's fence: locks the holder's row for the handlers' whole
    // transaction without changing it. A row lock keeps other workers off the
    // event (SKIP LOCKED) and its resource's later events waiting, while a
    // duplicate delivery's INSERT ... ON CONFLICT does not wait on a lock-only
    // row, as it would on an updated one: ingestion never waits for handlers.
    lock: `
      WITH clock AS (SELECT ${at} AS at)
      SELECT entry.id FROM ${quoted} AS entry, clock WHERE ${ownsToken} FOR UPDATE OF entry`,
    // Under that lock the event is still this token's, even if the handlers
    // outlasted locked_until: nobody could lease it meanwhile. The same change as
    // `complete`; the attempt lasted as long as the transaction so far.
    finish: completed(transactionDuration),
    fail: `
      WITH clock AS (SELECT ${at} AS at)
      UPDATE ${quoted} AS entry
      SET state = ${failedState},
        next_attempt_at = $4::bigint, last_error = $5, locked_until = NULL, lease_token = NULL,
        ${pushHistory(attemptItem(failedState, durationSince('$6'), `, 'error', $5::text`))}
      FROM clock WHERE ${ownsToken}`,
  };
}

/** What a replay sets: pending, due now, attempts reset, the replay in the history. */
const revived = `state = ${inboxStateLiterals.pending}, attempts = 0, next_attempt_at = clock.at,
  locked_until = NULL, lease_token = NULL, last_error = NULL,
  ${pushHistory(`jsonb_build_object('action', 'replayed')`)}`;

/** Reading and the admin's changes. */
function adminSql(quoted: string, settings: string) {
  const columns = inboxSelectList();
  return {
    listOldest: `SELECT ${columns} FROM ${quoted} WHERE state = $1 ORDER BY id LIMIT $2`,
    listNewest: `SELECT ${columns} FROM ${quoted} WHERE state = $1 ORDER BY id DESC LIMIT $2`,
    // processed and resolved, in the order they finished
    listDone: `SELECT ${columns} FROM ${quoted} WHERE state = $1
      ORDER BY processed_at DESC, id DESC LIMIT $2`,
    get: `SELECT ${columns} FROM ${quoted} WHERE id = $1`,
    replay: `
      WITH clock AS (SELECT ${at} AS at)
      UPDATE ${quoted} AS entry
      SET ${revived}
      FROM clock WHERE entry.id = $2 AND entry.state = ${inboxStateLiterals.dead}`,
    retryNow: `
      WITH clock AS (SELECT ${at} AS at)
      UPDATE ${quoted} AS entry SET next_attempt_at = clock.at,
        ${pushHistory(`jsonb_build_object('action', 'retried-now')`)}
      FROM clock WHERE entry.id = $2 AND entry.state = ${inboxStateLiterals.retrying}`,
    // Like processed: processed_at is when it was resolved (it is swept by it).
    resolve: `
      WITH clock AS (SELECT ${at} AS at)
      UPDATE ${quoted} AS entry
      SET state = ${inboxStateLiterals.resolved}, processed_at = clock.at,
        ${pushHistory(`jsonb_build_object('action', 'resolved', 'note', $3::text)`)}
      FROM clock WHERE entry.id = $2 AND entry.state = ${inboxStateLiterals.dead}`,
    history: `SELECT history FROM ${quoted} WHERE id = $1`,
    isPaused: `SELECT paused FROM ${settings}`,
    setPaused: `INSERT INTO ${settings} (one, paused) VALUES (true, $1)
      ON CONFLICT (one) DO UPDATE SET paused = EXCLUDED.paused`,
    sweep: `
      WITH clock AS (SELECT ${at} AS at)
      DELETE FROM ${quoted} WHERE id IN (
        SELECT entry.id FROM ${quoted} AS entry, clock
        WHERE entry.state IN (${swept}) AND entry.processed_at <= clock.at - $2
        ORDER BY entry.processed_at LIMIT $3 FOR UPDATE OF entry SKIP LOCKED)`,
  };
}

/** Every statement of the inbox, by name (exported for the query-plan tests). */
export const inboxSql = (table: string) => ({
  ...intakeSql(`"${table}"`, settingsTable(table)),
  ...settleSql(`"${table}"`),
  ...adminSql(`"${table}"`, settingsTable(table)),
  ...countsSql(table),
});

type InboxStatement = keyof ReturnType<typeof inboxSql>;

/**
 * Brings a table an earlier version made up to this one, keeping its rows: the
 * history column (a constant default: no rewrite), the `resolved` state in the
 * state check (replaced only while it lacks it), and the pause's settings row.
 */
function upgradeSql(quoted: string, table: string): string[] {
  const check = `"${table}_state_check"`;
  return [
    `ALTER TABLE ${quoted} ADD COLUMN IF NOT EXISTS history jsonb NOT NULL DEFAULT '[]'::jsonb`,
    `DO $upgrade$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '${quoted}'::regclass
        AND conname = '${table}_state_check'
        AND pg_get_constraintdef(oid) LIKE '%resolved%') THEN
        ALTER TABLE ${quoted} DROP CONSTRAINT IF EXISTS ${check};
        ALTER TABLE ${quoted} ADD CONSTRAINT ${check} CHECK (state IN (${inboxStateList()}));
      END IF;
    END $upgrade$`,
    `CREATE TABLE IF NOT EXISTS ${settingsTable(table)} (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      paused boolean NOT NULL DEFAULT false
    )`,
    `INSERT INTO ${settingsTable(table)} (one) VALUES (true) ON CONFLICT (one) DO NOTHING`,
  ];
}

/**
 * An index behind every search filter (each with `id` for the newest-first
 * order and the cursor, where it narrows by equality), and the sweep's.
 */
function searchIndexSql(quoted: string, table: string): string[] {
  return [
    `CREATE INDEX IF NOT EXISTS "${table}_by_state" ON ${quoted} (state, id)`,
    `CREATE INDEX IF NOT EXISTS "${table}_by_resource" ON ${quoted} (resource_key, id)`,
    `CREATE INDEX IF NOT EXISTS "${table}_by_type" ON ${quoted} (event_type, id)`,
    `CREATE INDEX IF NOT EXISTS "${table}_by_received" ON ${quoted} (received_at)`,
    `CREATE INDEX IF NOT EXISTS "${table}_done" ON ${quoted} (processed_at) WHERE state IN (${swept})`,
  ];
}

/** Creates the table and its indexes, under a lock so that two instances migrating at once do not race. */
function migrateSql(quoted: string, table: string): string[] {
  return [
    // READ COMMITTED whatever the server's default: the counts' fill must see
    // what committed before its own lock (see countsMigrateSql).
    'BEGIN ISOLATION LEVEL READ COMMITTED',
    `SELECT pg_advisory_xact_lock(hashtext('c2p:' || '${table}'))`,
    `CREATE TABLE IF NOT EXISTS ${quoted} (
      id bigserial PRIMARY KEY,
      key text NOT NULL UNIQUE,
      resource_key text NOT NULL,
      event_type text NOT NULL,
      payload text NOT NULL,
      received_at bigint NOT NULL,
      client_ip text,
      state text NOT NULL DEFAULT ${inboxStateLiterals.pending}
        CHECK (state IN (${inboxStateList()})),
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at bigint,
      locked_until bigint,
      lease_token text,
      last_error text,
      processed_at bigint,
      history jsonb NOT NULL DEFAULT '[]'::jsonb,
      unfinished boolean NOT NULL GENERATED ALWAYS AS (state IN (${inboxStateList(unfinishedInboxStates)})) STORED
    )`,
    // The lease's scan in arrival order, and its per-resource check: both only
    // over unfinished rows, so processed history does not slow them down.
    `CREATE INDEX IF NOT EXISTS "${table}_due" ON ${quoted} (id) WHERE ${unfinished}`,
    `CREATE INDEX IF NOT EXISTS "${table}_resource" ON ${quoted} (resource_key, id) WHERE ${unfinished}`,
    `CREATE INDEX IF NOT EXISTS "${table}_processed" ON ${quoted} (processed_at) WHERE state = ${inboxStateLiterals.processed}`,
    `CREATE INDEX IF NOT EXISTS "${table}_dead" ON ${quoted} (id) WHERE state = ${inboxStateLiterals.dead}`,
    ...upgradeSql(quoted, table),
    ...searchIndexSql(quoted, table),
    countsMigrateSql(quoted, table),
    'COMMIT',
  ];
}

/** What is wrong with the durability settings, as the inbox's connections see them; empty when nothing. */
function durabilityProblems(settings: {
  commit?: string;
  fsync?: string;
  standbys?: string;
}): string[] {
  const { commit, fsync, standbys } = settings;
  const wrong: string[] = [];
  if (fsync !== 'on') wrong.push(`fsync is ${fsync ?? 'unknown'}, needs on`);
  if (commit === 'local' && standbys !== '') {
    wrong.push(
      'synchronous_commit is local while synchronous_standby_names is set (a failover loses what the standby has not received), needs on',
    );
  } else if (commit !== 'local' && !['on', 'remote_write', 'remote_apply'].includes(commit ?? '')) {
    wrong.push(`synchronous_commit is ${commit ?? 'unknown'}, needs on`);
  }
  return wrong;
}

/** The inbox's settings once checked. */
interface PostgresInboxSettings {
  readonly table: string;
  /** Deliveries and reads. */
  readonly ingest: Pool;
  /** Workers: lease, renew, complete, fail, completeWithin, sweep. */
  readonly workers: Pool;
  /** The pools the inbox opened, and closes. */
  readonly owned: Pool[];
  readonly retainMs: number;
  readonly sweepBatch: number;
  readonly durability: 'verify' | 'trust';
  readonly durabilityCheckMs: number;
  readonly clock: (() => number) | undefined;
  /** The LISTEN connection workers wake through. */
  readonly notifications: NotificationChannel;
}

/** A `startedAt` for SQL: a finite time, or NULL. */
const startedAt = (value: number | undefined): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? Math.floor(value) : null;

/**
 * The inbox's operations. Arrow-function fields, so a spread copy or a detached
 * method works as on a plain object.
 */
class PostgresInboxImpl implements PostgresInbox {
  private readonly sql: ReturnType<typeof inboxSql>;
  private readonly access: PostgresTable;
  private readonly checkDurability: () => Promise<void>;

  constructor(private readonly settings: PostgresInboxSettings) {
    const quoted = `"${settings.table}"`;
    this.sql = inboxSql(settings.table);
    this.access = new PostgresTable(quoted, 'inbox.migrate');
    // Checked before the first enqueue, again before each one until it passes,
    // and again once a passed check is durabilityCheckMs old.
    this.checkDurability = createDurabilityCheck(this.verifyDurability, {
      maxAgeMs: settings.durabilityCheckMs,
    });
  }

  private statement(name: InboxStatement, values: unknown[]): QueryConfig {
    const { clock, table } = this.settings;
    const text = this.sql[name];
    return {
      // Named: each connection parses and plans the statement once.
      name: `c2p_inbox_${name}_${table}`,
      text,
      // Statements that read the clock take it as $1.
      values: text.includes('$1::bigint') ? [clock ? clock() : null, ...values] : values,
    };
  }

  private query<R extends QueryResultRow>(
    pool: Pool,
    name: InboxStatement,
    values: unknown[],
  ): Promise<QueryResult<R>> {
    return this.access.query<R>(pool, this.statement(name, values));
  }

  /** Runs a statement that changes the event `id` names; answers whether it did. */
  private async changed(pool: Pool, name: InboxStatement, values: unknown[]): Promise<boolean> {
    return isId(values[0]) && (await this.query(pool, name, values)).rowCount === 1;
  }

  verifyDurability = async (): Promise<void> => {
    const result = await this.access.query<{ commit: string; fsync: string; standbys: string }>(
      this.settings.ingest,
      {
        text: `SELECT current_setting('synchronous_commit') AS commit, current_setting('fsync') AS fsync,
        current_setting('synchronous_standby_names') AS standbys`,
      },
    );
    const wrong = durabilityProblems(result.rows[0] ?? {});
    if (wrong.length > 0) {
      throw new C2pError('STORE_UNAVAILABLE', {
        message: `[${pkg}] PostgreSQL, as the inbox's connections see it, would lose acknowledged deliveries in a crash (${wrong.join('; ')}): the inbox refuses to accept deliveries until this is fixed (in the server's configuration, or ALTER ROLE / ALTER DATABASE ... RESET), or pass durability: 'trust'`,
      });
    }
  };

  enqueue = async (records: readonly InboxRecord[]): Promise<boolean[]> => {
    if (records.length === 0) return [];
    if (this.settings.durability === 'verify') await this.checkDurability();
    const result = await this.query<{ key: string }>(this.settings.ingest, 'enqueue', [
      records.map((record) => record.key),
      records.map((record) => record.resourceKey),
      records.map((record) => record.eventType),
      records.map((record) => record.payload),
      records.map((record) => record.receivedAt),
      records.map((record) => record.clientIp),
    ]);
    // A key repeated within one delivery is inserted once: its first occurrence.
    const inserted = new Set(result.rows.map((row) => row.key));
    const answer = records.map((record) => inserted.delete(record.key));
    if (answer.includes(true)) this.settings.notifications.notify();
    return answer;
  };

  lease = async (limit: number, leaseMs: number): Promise<InboxLease[]> => {
    const result = await this.query<InboxRow & { lease_token: string }>(
      this.settings.workers,
      'lease',
      [limit, leaseMs],
    );
    return result.rows
      .sort((earlier, later) => Number(earlier.id) - Number(later.id))
      .map((row) => ({ entry: toInboxEntry(row), token: row.lease_token }));
  };

  renew = async (id: string, token: string, leaseMs: number): Promise<boolean> => {
    if (!isId(id)) return false;
    const result = await this.query<{ held: boolean }>(this.settings.workers, 'renew', [
      id,
      token,
      leaseMs,
    ]);
    return result.rows[0]?.held === true;
  };

  complete = (id: string, token: string, attempt?: InboxAttempt): Promise<boolean> =>
    this.changed(this.settings.workers, 'complete', [id, token, startedAt(attempt?.startedAt)]);

  fail = (id: string, token: string, failure: InboxFailure): Promise<boolean> =>
    this.changed(this.settings.workers, 'fail', [
      id,
      token,
      failure.retryAt === null ? null : Math.ceil(failure.retryAt),
      String(failure.error).slice(0, 2000),
      startedAt(failure.startedAt),
    ]);

  completeWithin = async (
    id: string,
    token: string,
    work: (tx: PoolClient) => Promise<void>,
  ): Promise<boolean> => {
    if (!isId(id)) return false;
    return this.access.completeWithin(this.settings.workers, {
      fence: () => this.statement('lock', [id, token]),
      work,
      finish: () => this.statement('finish', [id, token]),
    });
  };

  list = async ({ state, limit = inboxDefaults.listLimit }: InboxQuery): Promise<InboxEntry[]> => {
    const { ingest } = this.settings;
    const name: InboxStatement = isUnfinishedInboxState(state)
      ? 'listOldest'
      : (sweptInboxStates as readonly string[]).includes(state)
        ? 'listDone'
        : 'listNewest';
    const result = await this.query<InboxRow>(ingest, name, [state, limit]);
    return result.rows.map(toInboxEntry);
  };

  get = async (id: string): Promise<InboxEntry | undefined> => {
    if (!isId(id)) return undefined;
    const [row] = (await this.query<InboxRow>(this.settings.ingest, 'get', [id])).rows;
    return row ? toInboxEntry(row) : undefined;
  };

  counts = async (): Promise<Record<InboxState, number>> => {
    const { rows } = await this.query<{ state: InboxState; count: number; deltas: number }>(
      this.settings.ingest,
      'counts',
      [],
    );
    if (rows.reduce((sum, row) => sum + row.deltas, 0) > foldAbove) {
      await this.query(this.settings.ingest, 'foldCounts', []);
    }
    return countInboxStates(rows);
  };

  // No notification here: the caller (an admin) reads the entry back before it
  // wakes its own process's workers, and other processes find it at their next poll.
  replay = (id: string): Promise<boolean> => this.changed(this.settings.ingest, 'replay', [id]);

  retryNow = (id: string): Promise<boolean> => this.changed(this.settings.ingest, 'retryNow', [id]);

  search = async (query: InboxSearch): Promise<InboxPage> => {
    const checked = checkInboxSearch(query);
    const { text, values } = inboxSearchSql(`"${this.settings.table}"`, inboxSelectList(), checked);
    // Unnamed: planned for these values, so the planner picks the filter's index.
    const result = await this.access.query<InboxRow>(this.settings.ingest, { text, values });
    const entries = result.rows.slice(0, checked.limit).map(toInboxEntry);
    const last = entries[entries.length - 1];
    const more = result.rows.length > checked.limit && last !== undefined;
    return { entries, next: more ? inboxCursor(last.id) : null };
  };

  history = async (id: string): Promise<InboxHistoryItem[]> => {
    if (!isId(id)) return [];
    const result = await this.query<{ history: InboxHistoryItem[] }>(
      this.settings.ingest,
      'history',
      [id],
    );
    return result.rows[0]?.history ?? [];
  };

  resolve = (id: string, note: string): Promise<boolean> =>
    this.changed(this.settings.ingest, 'resolve', [id, String(note).slice(0, 2000)]);

  replayMatching = async (
    filter: InboxFilter,
    options: InboxReplayOptions = {},
  ): Promise<number> => {
    const dead = replayableInboxFilter(filter);
    const { ingest, table, clock } = this.settings;
    if (options.dryRun === true) {
      const values: unknown[] = [];
      const where = inboxFilterSql(dead, values).join(' AND ');
      const text = `SELECT count(*)::int AS count FROM "${table}" WHERE ${where}`;
      const result = await this.access.query<{ count: number }>(ingest, { text, values });
      return result.rows[0]?.count ?? 0;
    }
    // One statement: the matching dead rows are locked in id order, skipping rows
    // another call holds (it replays those), so concurrent calls replay each event
    // once and never wait on each other. A plain UPDATE locked rows in no set order,
    // and two calls at once deadlocked (40P01).
    const values: unknown[] = [clock ? clock() : null];
    const where = inboxFilterSql(dead, values).join(' AND ');
    const text = `WITH clock AS (SELECT ${at} AS at),
      picked AS (SELECT id FROM "${table}" WHERE ${where} ORDER BY id FOR UPDATE SKIP LOCKED)
      UPDATE "${table}" AS entry SET ${revived} FROM clock, picked WHERE entry.id = picked.id`;
    const replayed = (await this.access.query(ingest, { text, values })).rowCount ?? 0;
    // No admin reads these back before answering: other processes may start at once.
    if (replayed > 0) this.settings.notifications.notify();
    return replayed;
  };

  setPaused = async (paused: boolean): Promise<void> => {
    if (typeof paused !== 'boolean') throw invalidOption('paused', 'must be a boolean', pkg);
    await this.query(this.settings.ingest, 'setPaused', [paused]);
    if (!paused) this.settings.notifications.notify();
  };

  isPaused = async (): Promise<boolean> => {
    const result = await this.query<{ paused: boolean }>(this.settings.ingest, 'isPaused', []);
    return result.rows[0]?.paused === true;
  };

  sweep = async (): Promise<number> => {
    const { workers, retainMs, sweepBatch } = this.settings;
    const result = await this.query(workers, 'sweep', [retainMs, sweepBatch]);
    // The sweep runs every few minutes in every worker: it keeps the deltas few
    // even where nobody reads counts().
    await this.query(workers, 'foldCounts', []);
    return result.rowCount ?? 0;
  };

  migrate = async (): Promise<void> => {
    const { ingest, table, durability } = this.settings;
    await this.access.migrate(ingest, migrateSql(`"${table}"`, table));
    if (durability === 'verify') await this.verifyDurability();
  };

  watch = (listener: () => void): (() => void) => this.settings.notifications.watch(listener);

  close = async (): Promise<void> => {
    await this.settings.notifications.close();
    await Promise.all(this.settings.owned.splice(0).map((pool) => pool.end()));
  };
}

/**
 * A {@link PostgresInbox}, shared by any number of listener and worker
 * processes: `enqueue` is one `INSERT ... ON CONFLICT (key) DO NOTHING`, and a
 * lease is one `UPDATE` over rows picked `FOR UPDATE SKIP LOCKED`, taking only
 * the earliest unfinished event of each resource.
 *
 * @example
 * ```ts
 * const inbox = createPostgresInbox({ connection: process.env.DATABASE_URL });
 * await inbox.migrate();
 * ```
 */
export function createPostgresInbox(options: PostgresInboxOptions): PostgresInbox {
  // 41: room for the statement names "c2p_inbox_<statement>_<table>" within PostgreSQL's 63.
  const table = tableNameOption(options.table, {
    path: 'options.table',
    fallback: 'c2p_inbox',
    maxLength: 41,
    pkg,
  });
  const { retainMs, sweepBatch } = inboxRetention(options, pkg);
  const { connection, max, connectionTimeoutMs } = poolSettings(options);
  const workerMax = integerOption(options.workerMax, 'options.workerMax', { fallback: 10, pkg });
  const { durability, durabilityCheckMs } = inboxDurability(options, pkg);
  if (options.workerConnection !== undefined && !isPool(options.workerConnection)) {
    throw invalidOption('options.workerConnection', 'must be a pg Pool', pkg);
  }
  const owned: Pool[] = [];
  const open = (size: number): Pool => {
    const pool = openPool(connection as string, size, connectionTimeoutMs);
    owned.push(pool);
    return pool;
  };
  const opens = typeof connection === 'string';
  // Two pools: handlers hold worker connections for as long as they run, and
  // must never leave an accepted delivery waiting for a connection.
  const ingest = opens ? open(max) : connection;
  const workers = options.workerConnection ?? (opens ? open(workerMax) : connection);
  const checks = { retainMs, sweepBatch, durability, durabilityCheckMs };
  const notifications = createNotificationChannel(
    dueChannel(table),
    opens ? openOwnClient(connection, connectionTimeoutMs) : openFromPool(connection),
    ingest,
  );
  return new PostgresInboxImpl({
    table,
    ingest,
    workers,
    owned,
    ...checks,
    clock: options.now,
    notifications,
  });
}

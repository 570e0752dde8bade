import { randomUUID } from 'node:crypto';
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
  type InboxRow,
  inboxAttemptItem,
  inboxDefaults,
  inboxRetention,
  inboxSelectList,
  inboxStateLiterals,
  integerOption,
  isUnfinishedInboxState,
  replayableInboxFilter,
  toInboxEntry,
  unfinishedInboxStates,
} from '@c2p/core/kit';
import type Database from 'better-sqlite3';
import {
  openConnection,
  pkg,
  type SqliteHandle,
  type SqliteSynchronous,
  type SqliteTransaction,
  setUpTable,
} from './sqlite-connection.js';
import { GroupCommit } from './sqlite-group-commit.js';
import { prepareHistory, prepareOperations, rowId } from './sqlite-inbox-operations.js';
import {
  countsReadSql,
  type InboxTables,
  inboxTables,
  unfinishedSql,
  upgradeInboxSchema,
} from './sqlite-inbox-schema.js';
import {
  busyTimeoutOption,
  databaseOption,
  synchronousOption,
  tableOption,
} from './sqlite-options.js';

/** Options for {@link createSqliteInbox}. */
export interface SqliteInboxOptions {
  /**
   * A file path to open (created if missing, with its directory), or a
   * better-sqlite3 `Database` you opened yourself; the inbox then never closes it.
   * An inbox and a store built on the same `Database` share one queue.
   */
  database: string | Database.Database;
  /** The inbox table; letters, digits and `_`. Defaults to `c2p_inbox`. */
  table?: string;
  /** How long a processed event is kept for deduplication, in ms. Defaults to `2592000000` (30 days). */
  retainMs?: number;
  /** SQLite's `synchronous` setting; see `createSqliteStore`. Defaults to `FULL`. */
  synchronous?: SqliteSynchronous;
  /**
   * How long an operation waits, in all, for another connection's write lock
   * before it fails with `STORE_UNAVAILABLE`, in ms; asynchronously. Defaults to `5000`.
   */
  busyTimeoutMs?: number;
  /**
   * At most this many events wait for the next group commit; `enqueue` answers
   * `STORE_UNAVAILABLE` at once beyond it (the pipeline's 503). Defaults to `10000`.
   */
  queueLimit?: number;
  /**
   * `true` commits the deliveries that arrive while a commit runs together, in one
   * transaction (one fsync); `false` commits each delivery on its own. Defaults to `true`.
   */
  groupCommit?: boolean;
  /** Deletes at most this many processed events per `sweep()`. Defaults to `1000`. */
  sweepBatch?: number;
  /** The clock, in milliseconds; inject a fake one in tests. Defaults to `Date.now`. */
  now?: () => number;
}

/** The SQLite inbox: handlers get a {@link SqliteTransaction} in `completeWithin`. */
export interface SqliteInbox extends TransactionalInboxStore<SqliteTransaction> {
  /**
   * Creates the tables and indexes if missing, and brings an earlier version's
   * table up to this one (events kept). Idempotent; `createSqliteInbox` runs it.
   */
  migrate(): Promise<void>;
  sweep(): Promise<number>;
  search(query: InboxSearch): Promise<InboxPage>;
  history(id: string): Promise<InboxHistoryItem[]>;
  resolve(id: string, note: string): Promise<boolean>;
  replayMatching(filter: InboxFilter, options?: InboxReplayOptions): Promise<number>;
  setPaused(paused: boolean): Promise<void>;
  isPaused(): Promise<boolean>;
  /**
   * Commits a write that changes nothing, through the inbox's queue: resolves
   * when the database can be written now, throws `STORE_UNAVAILABLE` naming why
   * not (a full disk, a read-only file, a lock held past `busyTimeoutMs`). For a
   * health check: reads keep working on a full disk while every delivery fails.
   */
  checkWritable(): Promise<void>;
  /** Waits for queued deliveries and a running transaction, then closes the database if the inbox opened it. */
  close(): Promise<void>;
}

/** Rows per multi-row INSERT: 7 parameters each, far below SQLite's 32,766. */
const rowsPerInsert = 100;

const columns = inboxSelectList();
const unfinished = unfinishedSql;
// The token alone fences completion and failure: a lease is taken over only
// by a new lease, which writes a new token, so a holder whose lease ran out
// with nobody taking over still records its outcome (a handler that outlived
// its lease, then failed, reaches the retry schedule instead of running again
// at once, forever). Renewal alone needs the lease not run out.
const owns = `id = @id AND lease_token = @token AND ${unfinished}`;
const held = `${owns} AND locked_until > @now`;

/** Inserts records with multi-row INSERTs, one statement prepared per row count. */
function prepareInsert(db: Database.Database, quoted: string) {
  const inserts = new Map<number, Database.Statement<unknown[], { key: string }>>();
  const insert = (rows: number): Database.Statement<unknown[], { key: string }> => {
    let statement = inserts.get(rows);
    if (!statement) {
      const values = Array.from({ length: rows }, () => `(?, ?, ?, ?, ?, ?, ?)`).join(', ');
      statement = db.prepare<unknown[], { key: string }>(
        `INSERT INTO ${quoted} (key, resource_key, event_type, payload, received_at, client_ip, next_attempt_at)
         VALUES ${values} ON CONFLICT (key) DO NOTHING RETURNING key`,
      );
      inserts.set(rows, statement);
    }
    return statement;
  };
  /** Inserts one group's records; answers the keys inserted, each once. */
  return (records: readonly InboxRecord[]): Set<string> => {
    const inserted = new Set<string>();
    for (let start = 0; start < records.length; start += rowsPerInsert) {
      const chunk = records.slice(start, start + rowsPerInsert);
      const params = chunk.flatMap((record) => [
        record.key,
        record.resourceKey,
        record.eventType,
        record.payload,
        record.receivedAt,
        record.clientIp,
        record.receivedAt,
      ]);
      for (const row of insert(chunk.length).all(...params)) inserted.add(row.key);
    }
    return inserted;
  };
}

/**
 * The lease's choice: the ids of due, unleased heads of their resources, in
 * arrival order (`@now`, `@limit`). One ordered walk of the state index per
 * unfinished state, each stopping at `limit`: a single `state IN (...)` sorted
 * every unfinished row on each lease (tens of ms, synchronously, with a backlog
 * of 65,000). Exported for the query-plan test.
 */
export function leaseCandidatesSql(quoted: string): string {
  const perState = unfinishedInboxStates.map(
    (state) => `SELECT * FROM (SELECT entry.id FROM ${quoted} AS entry
     WHERE entry.state = ${inboxStateLiterals[state]} AND entry.next_attempt_at <= @now AND entry.locked_until <= @now
       AND NOT EXISTS (
         SELECT 1 FROM ${quoted} AS earlier
         WHERE earlier.resource_key = entry.resource_key AND earlier.${unfinished} AND earlier.id < entry.id)
     ORDER BY entry.id LIMIT @limit)`,
  );
  return `SELECT id FROM (${perState.join(' UNION ALL ')}) ORDER BY id LIMIT @limit`;
}

/** The lease: due, unleased heads of their resources, in arrival order, in one transaction. */
function prepareLease(
  db: Database.Database,
  quoted: string,
  now: () => number,
  paused: () => boolean,
) {
  const candidates = db.prepare<{ now: number; limit: number }, { id: number }>(
    leaseCandidatesSql(quoted),
  );
  const take = db.prepare<{ id: number; token: string; until: number }, InboxRow>(
    `UPDATE ${quoted} SET lease_token = @token, locked_until = @until, attempts = attempts + 1
     WHERE id = @id RETURNING ${columns}`,
  );
  return db.transaction((limit: number, leaseMs: number): InboxLease[] => {
    // Paused: every worker of the inbox, in every process, leases nothing.
    if (paused()) return [];
    const at = now();
    return candidates.all({ now: at, limit }).map(({ id }) => {
      const token = randomUUID();
      const row = take.get({ id, token, until: at + leaseMs }) as InboxRow;
      return { entry: toInboxEntry(row), token };
    });
  });
}

/** What a lease's holder writes: renew, complete, fail; and whether it still holds it. */
function prepareSettle(db: Database.Database, quoted: string) {
  return {
    renew: db.prepare<{ id: number; token: string; now: number; until: number }>(
      `UPDATE ${quoted} SET locked_until = @until WHERE ${held}`,
    ),
    complete: db.prepare<{ id: number; token: string; now: number }>(
      `UPDATE ${quoted} SET state = ${inboxStateLiterals.processed}, processed_at = @now, next_attempt_at = NULL,
         lease_token = NULL, locked_until = 0
       WHERE ${owns}`,
    ),
    fail: db.prepare<{
      id: number;
      token: string;
      state: InboxState;
      retryAt: number | null;
      error: string;
    }>(
      `UPDATE ${quoted} SET state = @state, next_attempt_at = @retryAt, last_error = @error,
         lease_token = NULL, locked_until = 0
       WHERE ${owns}`,
    ),
    holds: db.prepare<{ id: number; token: string }, { one: number }>(
      `SELECT 1 AS one FROM ${quoted} WHERE ${owns}`,
    ),
  };
}

/** Reads, and the admin's changes. */
function prepareAdmin(db: Database.Database, tables: InboxTables) {
  const quoted = tables.events;
  return {
    replay: db.prepare<{ id: number; now: number }>(
      `UPDATE ${quoted} SET state = ${inboxStateLiterals.pending}, attempts = 0, next_attempt_at = @now, last_error = NULL,
         lease_token = NULL, locked_until = 0
       WHERE id = @id AND state = ${inboxStateLiterals.dead}`,
    ),
    retryNow: db.prepare<{ id: number; now: number }>(
      `UPDATE ${quoted} SET next_attempt_at = @now WHERE id = @id AND state = ${inboxStateLiterals.retrying}`,
    ),
    listOldest: db.prepare<{ state: InboxState; limit: number }, InboxRow>(
      `SELECT ${columns} FROM ${quoted} WHERE state = @state ORDER BY id LIMIT @limit`,
    ),
    listNewest: db.prepare<{ state: InboxState; limit: number }, InboxRow>(
      `SELECT ${columns} FROM ${quoted} WHERE state = @state ORDER BY id DESC LIMIT @limit`,
    ),
    get: db.prepare<[number], InboxRow>(`SELECT ${columns} FROM ${quoted} WHERE id = ?`),
    counts: db.prepare<[], { state: InboxState; count: number }>(countsReadSql(tables)),
  };
}

/** Every prepared statement of the inbox. */
function prepareInbox(db: Database.Database, tables: InboxTables, now: () => number) {
  const quoted = tables.events;
  const history = prepareHistory(db, tables);
  const operations = prepareOperations(db, tables, history);
  const atomic = db.transaction((write: () => unknown) => write());
  return {
    insertAll: prepareInsert(db, quoted),
    lease: prepareLease(db, quoted, now, operations.isPaused),
    ...prepareSettle(db, quoted),
    ...prepareAdmin(db, tables),
    history,
    operations,
    /** Runs `write`'s statements in one IMMEDIATE transaction (a savepoint inside one). */
    atomic: <T>(write: () => T): T => atomic.immediate(write) as T,
  };
}

type InboxStatements = ReturnType<typeof prepareInbox>;

/** The inbox's settings once checked. */
interface SqliteInboxSettings {
  readonly table: string;
  readonly retainMs: number;
  readonly sweepBatch: number;
  readonly busyTimeoutMs: number;
  readonly now: () => number;
}

/**
 * The inbox's operations. Arrow-function fields, so a spread copy or a detached
 * method works as on a plain object.
 */
class SqliteInboxImpl implements SqliteInbox {
  private closing = false;

  constructor(
    private readonly connection: SqliteHandle,
    private readonly statements: InboxStatements,
    private readonly commits: GroupCommit,
    private readonly settings: SqliteInboxSettings,
  ) {}

  /**
   * Runs `write` (one statement) for the row `id` names; `false` for an id that
   * names none. `worker`: the worker's own write (a lease, a completion, a
   * failure), committed without waiting for an fsync (see the README).
   */
  private write(id: string, write: (rowid: number) => boolean, worker = false): Promise<boolean> {
    const rowid = rowId(id);
    if (rowid === undefined) return Promise.resolve(false);
    return this.connection.run(() => write(rowid), this.settings.busyTimeoutMs, worker);
  }

  enqueue = (records: readonly InboxRecord[]): Promise<boolean[]> => this.commits.enqueue(records);

  lease = (limit: number, leaseMs: number): Promise<InboxLease[]> => {
    // SQLite reads a negative LIMIT as none.
    if (!(limit >= 1)) return Promise.resolve([]);
    return this.connection.run(
      () => this.statements.lease.immediate(limit, leaseMs),
      this.settings.busyTimeoutMs,
      true,
    );
  };

  renew = (id: string, token: string, leaseMs: number): Promise<boolean> =>
    this.write(
      id,
      (rowid) => {
        const at = this.settings.now();
        const until = at + leaseMs;
        return this.statements.renew.run({ id: rowid, token, now: at, until }).changes === 1;
      },
      true,
    );

  /** {@link write} with `write`'s statements in one transaction. */
  private writeAtomic(
    id: string,
    write: (rowid: number) => boolean,
    worker = false,
  ): Promise<boolean> {
    return this.write(id, (rowid) => this.statements.atomic(() => write(rowid)), worker);
  }

  complete = (id: string, token: string, attempt?: InboxAttempt): Promise<boolean> =>
    this.writeAtomic(id, (rowid) => this.completeNow(rowid, token, attempt?.startedAt), true);

  /** Marks the event processed and records the attempt; inside a transaction. */
  private completeNow(rowid: number, token: string, startedAt?: number): boolean {
    const now = this.settings.now();
    if (this.statements.complete.run({ id: rowid, token, now }).changes !== 1) return false;
    this.statements.history.record(rowid, inboxAttemptItem(now, 'processed', startedAt));
    return true;
  }

  fail = (id: string, token: string, failure: InboxFailure): Promise<boolean> =>
    this.writeAtomic(
      id,
      (rowid) => {
        const state = failure.retryAt === null ? 'dead' : 'retrying';
        const { retryAt, error } = failure;
        const failed = this.statements.fail.run({ id: rowid, token, state, retryAt, error });
        if (failed.changes !== 1) return false;
        const item = inboxAttemptItem(this.settings.now(), state, failure.startedAt, error);
        this.statements.history.record(rowid, item);
        return true;
      },
      true,
    );

  completeWithin = async (
    id: string,
    token: string,
    work: (tx: SqliteTransaction) => Promise<void>,
  ): Promise<boolean> => {
    const rowid = rowId(id);
    if (rowid === undefined) return false;
    const holds = (): boolean => this.statements.holds.get({ id: rowid, token }) !== undefined;
    // A token that no longer holds the event (taken over, or settled) starts
    // no work: it could only be rolled back.
    if (!this.connection.read(holds)) return false;
    return this.connection.transact(
      work,
      () => {
        const done = this.completeNow(rowid, token);
        return { commit: done, value: done };
      },
      this.settings.busyTimeoutMs,
      () => (holds() ? undefined : false),
      true,
    );
  };

  list = async ({ state, limit = inboxDefaults.listLimit }: InboxQuery): Promise<InboxEntry[]> => {
    const { listOldest, listNewest } = this.statements;
    const listing = isUnfinishedInboxState(state) ? listOldest : listNewest;
    const rows = this.connection.read(() => listing.all({ state, limit }));
    return rows.map(toInboxEntry);
  };

  get = async (id: string): Promise<InboxEntry | undefined> => {
    const rowid = rowId(id);
    if (rowid === undefined) return undefined;
    const row = this.connection.read(() => this.statements.get.get(rowid));
    return row && toInboxEntry(row);
  };

  counts = async (): Promise<Record<InboxState, number>> =>
    countInboxStates(this.connection.read(() => this.statements.counts.all()));

  replay = (id: string): Promise<boolean> =>
    this.writeAtomic(id, (rowid) => {
      const at = this.settings.now();
      return this.recordIf(this.statements.replay.run({ id: rowid, now: at }).changes, rowid, {
        at,
        action: 'replayed',
      });
    });

  retryNow = (id: string): Promise<boolean> =>
    this.writeAtomic(id, (rowid) => {
      const at = this.settings.now();
      return this.recordIf(this.statements.retryNow.run({ id: rowid, now: at }).changes, rowid, {
        at,
        action: 'retried-now',
      });
    });

  /** Records `item` when one row changed; answers whether it did. */
  private recordIf(changes: number, rowid: number, item: InboxHistoryItem): boolean {
    if (changes !== 1) return false;
    this.statements.history.record(rowid, item);
    return true;
  }

  search = async (query: InboxSearch): Promise<InboxPage> => {
    // Checked first: a bad query throws INVALID_OPTIONS, not STORE_UNAVAILABLE.
    const checked = checkInboxSearch(query);
    return this.connection.read(() => this.statements.operations.search(checked));
  };

  history = async (id: string): Promise<InboxHistoryItem[]> => {
    const rowid = rowId(id);
    if (rowid === undefined) return [];
    return this.connection.read(() => this.statements.history.read(rowid));
  };

  resolve = (id: string, note: string): Promise<boolean> =>
    this.writeAtomic(id, (rowid) =>
      this.statements.operations.resolve(rowid, String(note), this.settings.now()),
    );

  replayMatching = async (
    filter: InboxFilter,
    options: InboxReplayOptions = {},
  ): Promise<number> => {
    const { operations, atomic } = this.statements;
    // Checked first: a bad filter throws INVALID_OPTIONS, not STORE_UNAVAILABLE.
    const dead = replayableInboxFilter(filter);
    if (options.dryRun === true) {
      return this.connection.read(() => operations.replayMatching(dead, true, 0));
    }
    return this.connection.run(
      () => atomic(() => operations.replayMatching(dead, false, this.settings.now())),
      this.settings.busyTimeoutMs,
    );
  };

  setPaused = (paused: boolean): Promise<void> =>
    this.connection.run(
      () => this.statements.operations.setPaused(paused === true),
      this.settings.busyTimeoutMs,
    );

  isPaused = async (): Promise<boolean> =>
    this.connection.read(() => this.statements.operations.isPaused());

  checkWritable = (): Promise<void> => this.connection.checkWritable(this.settings.busyTimeoutMs);

  sweep = (): Promise<number> => {
    const { now, retainMs, sweepBatch, busyTimeoutMs } = this.settings;
    const { operations, atomic } = this.statements;
    return this.connection.run(
      () => atomic(() => operations.sweep(now() - retainMs, sweepBatch)),
      busyTimeoutMs,
    );
  };

  migrate = (): Promise<void> =>
    this.connection.run(
      () => upgradeInboxSchema(this.connection.db, this.settings.table),
      this.settings.busyTimeoutMs,
    );

  close = async (): Promise<void> => {
    if (this.closing) return;
    this.closing = true;
    await this.commits.close();
    await this.connection.close();
  };
}

/**
 * A durable {@link SqliteInbox} on better-sqlite3. `enqueue` resolves only after
 * its COMMIT (WAL, `synchronous=FULL` by default): deliveries arriving while a
 * commit runs are committed together in the next one (group commit, one fsync
 * for all). A handler's network call never holds the write lock: the worker's
 * `completeWithin` begins the transaction only when the handler first reads
 * `tx.db`, so deliveries are accepted meanwhile.
 *
 * @example
 * ```ts
 * const inbox = createSqliteInbox({ database: './data/webhooks.db' });
 * ```
 */
export function createSqliteInbox(options: SqliteInboxOptions): SqliteInbox {
  const table = tableOption(options.table, 'options.table', 'c2p_inbox');
  const synchronous = synchronousOption(options.synchronous);
  const { retainMs, sweepBatch } = inboxRetention(options, pkg);
  const busyTimeoutMs = busyTimeoutOption(options.busyTimeoutMs);
  const queueLimit = integerOption(options.queueLimit, 'options.queueLimit', {
    fallback: 10_000,
    pkg,
  });
  const now = options.now ?? Date.now;
  const connection = openConnection(databaseOption(options.database), synchronous);
  const statements = setUpTable(connection, '', (db) => {
    upgradeInboxSchema(db, table);
    return prepareInbox(db, inboxTables(table), now);
  });
  const commits = new GroupCommit({
    connection,
    insertAll: statements.insertAll,
    busyTimeoutMs,
    queueLimit,
    grouped: options.groupCommit ?? true,
  });
  const settings = { table, retainMs, sweepBatch, busyTimeoutMs, now };
  return new SqliteInboxImpl(connection, statements, commits, settings);
}

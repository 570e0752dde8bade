import { randomUUID } from 'node:crypto';
import type { InboxLease, InboxRecord, InboxState, TransactionalInboxStore } from '@c2p/core';
import {
  countInboxStates,
  type InboxRow,
  inboxDefaults,
  inboxRetention,
  inboxSelectList,
  inboxStateList,
  inboxStateLiterals,
  integerOption,
  isUnfinishedInboxState,
  storeClosed,
  storeUnavailable,
  toInboxEntry,
  unfinishedInboxStates,
} from '@c2p/core/kit';
import type Database from 'better-sqlite3';
import {
  openConnection,
  pkg,
  type SqliteSynchronous,
  type SqliteTransaction,
  setUpFailed,
} from './sqlite-connection.js';
import { databaseOption, synchronousOption, tableOption } from './sqlite-options.js';

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
  /** Creates the table and its indexes if missing. Idempotent; `createSqliteInbox` runs it. */
  migrate(): Promise<void>;
  sweep(): Promise<number>;
  /** Waits for queued deliveries and a running transaction, then closes the database if the inbox opened it. */
  close(): Promise<void>;
}

/** One caller of `enqueue` waiting for the group commit. */
interface Waiting {
  readonly records: readonly InboxRecord[];
  resolve(inserted: boolean[]): void;
  reject(error: unknown): void;
}

/** Rows per multi-row INSERT: 7 parameters each, far below SQLite's 32,766. */
const rowsPerInsert = 100;
/** Events per group commit. */
const eventsPerCommit = 1000;

const columns = inboxSelectList();

/** Did one delivery's rows fail (a constraint, a value SQLite cannot bind), not the database? */
const isRowError = (error: unknown): boolean => {
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof TypeError || cause instanceof RangeError) return true;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG)/.test(code);
};

/** An id as the port gives it (decimal text), or `undefined` for anything else. */
const rowId = (id: string): number | undefined =>
  /^[1-9][0-9]{0,15}$/.test(id) ? Number(id) : undefined;

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
  const busyTimeoutMs = integerOption(options.busyTimeoutMs, 'options.busyTimeoutMs', {
    min: 0,
    fallback: 5000,
    pkg,
  });
  const queueLimit = integerOption(options.queueLimit, 'options.queueLimit', {
    fallback: 10_000,
    pkg,
  });
  const groupCommit = options.groupCommit ?? true;
  const now = options.now ?? Date.now;
  const connection = openConnection(databaseOption(options.database), synchronous);
  const { db } = connection;

  const quoted = `"${table}"`;
  const unfinished = `state IN (${inboxStateList(unfinishedInboxStates)})`;
  const migrateSql = `
    CREATE TABLE IF NOT EXISTS ${quoted} (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      key TEXT NOT NULL UNIQUE,
      resource_key TEXT NOT NULL,
      event_type TEXT NOT NULL,
      payload TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      client_ip TEXT,
      state TEXT NOT NULL DEFAULT ${inboxStateLiterals.pending}
        CHECK (state IN (${inboxStateList()})),
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER,
      last_error TEXT,
      processed_at INTEGER,
      lease_token TEXT,
      locked_until INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS "${table}_resource" ON ${quoted} (resource_key, id) WHERE ${unfinished};
    CREATE INDEX IF NOT EXISTS "${table}_due" ON ${quoted} (next_attempt_at) WHERE ${unfinished};
    CREATE INDEX IF NOT EXISTS "${table}_state" ON ${quoted} (state, id);
    CREATE INDEX IF NOT EXISTS "${table}_processed" ON ${quoted} (processed_at) WHERE state = ${inboxStateLiterals.processed};`;
  const migrateNow = (): void => {
    db.exec(migrateSql);
  };

  let prepared: ReturnType<typeof prepare>;
  function prepare() {
    // The token alone fences completion and failure: a lease is taken over only
    // by a new lease, which writes a new token, so a holder whose lease ran out
    // with nobody taking over still records its outcome (a handler that outlived
    // its lease, then failed, reaches the retry schedule instead of running again
    // at once, forever). Renewal alone needs the lease not run out.
    const owns = `id = @id AND lease_token = @token AND ${unfinished}`;
    const held = `${owns} AND locked_until > @now`;
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
    const leaseCandidates = db.prepare<{ now: number; limit: number }, { id: number }>(
      `SELECT e.id FROM ${quoted} AS e
       WHERE e.${unfinished} AND e.next_attempt_at <= @now AND e.locked_until <= @now
         AND NOT EXISTS (
           SELECT 1 FROM ${quoted} AS p
           WHERE p.resource_key = e.resource_key AND p.${unfinished} AND p.id < e.id)
       ORDER BY e.id LIMIT @limit`,
    );
    const take = db.prepare<{ id: number; token: string; until: number }, InboxRow>(
      `UPDATE ${quoted} SET lease_token = @token, locked_until = @until, attempts = attempts + 1
       WHERE id = @id RETURNING ${columns}`,
    );
    return {
      /** Inserts one group's records; answers the keys inserted, each once. */
      insertAll(records: readonly InboxRecord[]): Set<string> {
        const inserted = new Set<string>();
        for (let i = 0; i < records.length; i += rowsPerInsert) {
          const chunk = records.slice(i, i + rowsPerInsert);
          const params: unknown[] = [];
          for (const record of chunk) {
            params.push(
              record.key,
              record.resourceKey,
              record.eventType,
              record.payload,
              record.receivedAt,
              record.clientIp,
              record.receivedAt,
            );
          }
          for (const row of insert(chunk.length).all(...params)) inserted.add(row.key);
        }
        return inserted;
      },
      lease: db.transaction((limit: number, leaseMs: number): InboxLease[] => {
        const at = now();
        const ids = leaseCandidates.all({ now: at, limit });
        return ids.map(({ id }) => {
          const token = randomUUID();
          const row = take.get({ id, token, until: at + leaseMs }) as InboxRow;
          return { entry: toInboxEntry(row), token };
        });
      }),
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
      counts: db.prepare<[], { state: InboxState; n: number }>(
        `SELECT state, count(*) AS n FROM ${quoted} GROUP BY state`,
      ),
      sweep: db.prepare<[number, number]>(
        `DELETE FROM ${quoted} WHERE id IN (
           SELECT id FROM ${quoted} WHERE state = ${inboxStateLiterals.processed} AND processed_at <= ? LIMIT ?)`,
      ),
    };
  }
  try {
    connection.guard();
    migrateNow();
    prepared = prepare();
  } catch (cause) {
    void connection.close();
    throw setUpFailed(cause);
  }
  const statements = prepared;

  /** One transaction for the records of several callers; answers each caller's flags. */
  const commitGroup = db.transaction((group: readonly Waiting[]): boolean[][] => {
    const records = group.flatMap((waiting) => waiting.records);
    const inserted = statements.insertAll(records);
    // A key twice in one group (two deliveries of one event): the first is inserted.
    return group.map((waiting) =>
      waiting.records.map((record) => {
        if (!inserted.has(record.key)) return false;
        inserted.delete(record.key);
        return true;
      }),
    );
  });

  // The group commit: callers wait in `queue`; one flush at a time takes them all.
  const queue: Waiting[] = [];
  let queued = 0;
  let flushing: Promise<void> | undefined;
  let closing = false;

  const commit = async (group: Waiting[]): Promise<void> => {
    try {
      const flags = await connection.run(() => commitGroup.immediate(group), busyTimeoutMs);
      for (const [index, waiting] of group.entries()) waiting.resolve(flags[index] as boolean[]);
    } catch (error) {
      if (group.length === 1 || !isRowError(error)) {
        for (const waiting of group) waiting.reject(storeUnavailable(error));
        return;
      }
      // A row error: commit the deliveries one by one, so one bad delivery fails alone.
      for (const waiting of group) await commit([waiting]);
    }
  };

  const flush = async (): Promise<void> => {
    try {
      await flushAll();
    } finally {
      flushing = undefined;
      if (queue.length > 0) startFlush();
    }
  };

  const flushAll = async (): Promise<void> => {
    while (queue.length > 0) {
      const group: Waiting[] = [];
      let events = 0;
      while (queue.length > 0 && (group.length === 0 || events < eventsPerCommit)) {
        const waiting = queue.shift() as Waiting;
        group.push(waiting);
        events += waiting.records.length;
        if (!groupCommit) break;
      }
      queued -= events;
      await commit(group);
      // Let the deliveries that arrived meanwhile join the next group.
      if (queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
    }
  };

  const startFlush = (): void => {
    if (flushing) return;
    flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(flush);
  };

  const withId = <T>(id: string, missing: T, fn: (rowid: number) => T): T => {
    const rowid = rowId(id);
    return rowid === undefined ? missing : fn(rowid);
  };

  return {
    enqueue(records) {
      if (records.length === 0) return Promise.resolve([]);
      if (closing) return Promise.reject(storeClosed(pkg));
      if (queued + records.length > queueLimit) {
        return Promise.reject(
          storeUnavailable(
            undefined,
            `[${pkg}] the inbox's commit queue is full (${queueLimit} events, options.queueLimit)`,
          ),
        );
      }
      return new Promise<boolean[]>((resolve, reject) => {
        queue.push({ records, resolve, reject });
        queued += records.length;
        startFlush();
      });
    },
    lease(limit, leaseMs) {
      // SQLite reads a negative LIMIT as none.
      if (!(limit >= 1)) return Promise.resolve([]);
      return connection.run(() => statements.lease.immediate(limit, leaseMs), busyTimeoutMs);
    },
    renew(id, token, leaseMs) {
      return withId(id, Promise.resolve(false), (rowid) =>
        connection.run(() => {
          const at = now();
          return (
            statements.renew.run({ id: rowid, token, now: at, until: at + leaseMs }).changes === 1
          );
        }, busyTimeoutMs),
      );
    },
    complete(id, token) {
      return withId(id, Promise.resolve(false), (rowid) =>
        connection.run(
          () => statements.complete.run({ id: rowid, token, now: now() }).changes === 1,
          busyTimeoutMs,
        ),
      );
    },
    fail(id, token, failure) {
      return withId(id, Promise.resolve(false), (rowid) =>
        connection.run(
          () =>
            statements.fail.run({
              id: rowid,
              token,
              state: failure.retryAt === null ? 'dead' : 'retrying',
              retryAt: failure.retryAt,
              error: failure.error,
            }).changes === 1,
          busyTimeoutMs,
        ),
      );
    },
    async completeWithin(id, token, work) {
      const rowid = rowId(id);
      if (rowid === undefined) return false;
      // A token that no longer holds the event (taken over, or settled) starts
      // no work: it could only be rolled back.
      if (!connection.read(() => statements.holds.get({ id: rowid, token }))) return false;
      return connection.transact(
        work,
        () => {
          const done = statements.complete.run({ id: rowid, token, now: now() }).changes === 1;
          return { commit: done, value: done };
        },
        busyTimeoutMs,
        () => (statements.holds.get({ id: rowid, token }) ? undefined : false),
      );
    },
    async list(query) {
      const limit = query.limit ?? inboxDefaults.listLimit;
      const oldestFirst = isUnfinishedInboxState(query.state);
      const rows = connection.read(() =>
        (oldestFirst ? statements.listOldest : statements.listNewest).all({
          state: query.state,
          limit,
        }),
      );
      return rows.map(toInboxEntry);
    },
    async get(id) {
      return withId(id, undefined, (rowid) => {
        const row = connection.read(() => statements.get.get(rowid));
        return row && toInboxEntry(row);
      });
    },
    async counts() {
      return countInboxStates(connection.read(() => statements.counts.all()));
    },
    replay(id) {
      return withId(id, Promise.resolve(false), (rowid) =>
        connection.run(
          () => statements.replay.run({ id: rowid, now: now() }).changes === 1,
          busyTimeoutMs,
        ),
      );
    },
    retryNow(id) {
      return withId(id, Promise.resolve(false), (rowid) =>
        connection.run(
          () => statements.retryNow.run({ id: rowid, now: now() }).changes === 1,
          busyTimeoutMs,
        ),
      );
    },
    sweep() {
      return connection.run(
        () => statements.sweep.run(now() - retainMs, sweepBatch).changes,
        busyTimeoutMs,
      );
    },
    migrate() {
      return connection.run(migrateNow, busyTimeoutMs);
    },
    async close() {
      if (closing) return;
      closing = true;
      while (flushing) await flushing;
      await connection.close();
    },
  };
}

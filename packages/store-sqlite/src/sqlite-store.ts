import { randomUUID } from 'node:crypto';
import type { ClaimResult, TransactionalIdempotencyStore } from '@c2p/core';
import { C2pError, invalidOption, storeUnavailable } from '@c2p/core';
import Database from 'better-sqlite3';

const pkg = '@c2p/store-sqlite';

/** Options for {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * A file path to open (created if missing), or a better-sqlite3 `Database`
   * you opened yourself; the store then never closes it.
   */
  database: string | Database.Database;
  /** The table holding the keys; letters, digits and `_`. Defaults to `c2p_idempotency`. */
  table?: string;
  /**
   * SQLite's `synchronous` setting. `FULL` fsyncs the WAL on every commit, so an
   * answered 2xx survives a power cut; `NORMAL` is faster, and a power cut (not a
   * process crash) may then lose the last commits. Defaults to `FULL`.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long a claim waits for another process's write lock, in ms. Defaults to `5000`. */
  busyTimeoutMs?: number;
  /** Deletes up to this many expired keys once every this many claims. Defaults to `1000`. */
  sweepEvery?: number;
  /** The clock, in milliseconds; inject a fake one in tests. Defaults to `Date.now`. */
  now?: () => number;
}

/**
 * The SQLite store. `completeWithin` hands your handler the better-sqlite3
 * `Database` inside `BEGIN IMMEDIATE`, so the handler's writes and the key's
 * completion commit together.
 */
export interface SqliteStore extends TransactionalIdempotencyStore<Database.Database> {
  /** Creates the table and its index if missing. Idempotent; `createSqliteStore` runs it. */
  migrate(): Promise<void>;
  /** Deletes one bounded batch of expired keys; answers how many went. */
  sweep(): Promise<number>;
  /** Waits for running transactions, then closes the database if the store opened it. */
  close(): Promise<void>;
}

interface Row {
  completed: number;
  expires_at: number;
}

function positiveInteger(value: unknown, path: string): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) < 0)) {
    throw invalidOption(path, `${String(value)} is not a non-negative integer`, pkg);
  }
}

/**
 * A durable {@link SqliteStore} for one machine, on better-sqlite3: WAL,
 * `synchronous=FULL` by default, claims under `BEGIN IMMEDIATE` so several
 * processes sharing the file race safely. Creates its table at once.
 *
 * One connection runs one transaction at a time, and handlers are async: so
 * every operation on the connection is queued behind a running `completeWithin`
 * (otherwise another delivery's claim would land inside, and roll back with, a
 * failing handler's transaction). Keep handlers short.
 *
 * @example
 * ```ts
 * const store = createSqliteStore({ database: './data/webhooks.db' });
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const table = options.table ?? 'c2p_idempotency';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) {
    throw invalidOption(
      'options.table',
      `"${table}" must be 1 to 63 letters, digits or _, not starting with a digit`,
      pkg,
    );
  }
  const synchronous = options.synchronous ?? 'FULL';
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
    throw invalidOption(
      'options.synchronous',
      `"${String(synchronous)}" is not FULL or NORMAL`,
      pkg,
    );
  }
  positiveInteger(options.busyTimeoutMs, 'options.busyTimeoutMs');
  positiveInteger(options.sweepEvery, 'options.sweepEvery');
  const sweepEvery = options.sweepEvery ?? 1000;
  const now = options.now ?? Date.now;
  const source = options.database;
  const owned = typeof source === 'string';
  if (!owned && (typeof source !== 'object' || source === null || !('prepare' in source))) {
    throw invalidOption(
      'options.database',
      'must be a file path or a better-sqlite3 Database',
      pkg,
    );
  }

  let db: Database.Database;
  try {
    db = owned ? new Database(source) : source;
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  } catch (cause) {
    throw storeUnavailable(cause);
  }

  const t = `"${table}"`;
  const migrateSql = `
    CREATE TABLE IF NOT EXISTS ${t} (
      key TEXT PRIMARY KEY NOT NULL,
      token TEXT NOT NULL,
      completed INTEGER NOT NULL DEFAULT 0,
      expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON ${t} (expires_at);`;
  const migrateNow = (): void => {
    db.exec(migrateSql);
  };
  try {
    migrateNow();
  } catch (cause) {
    if (owned) db.close();
    throw storeUnavailable(cause);
  }

  // Prepared once: each operation is then one or two statement executions.
  const select = db.prepare<[string], Row>(`SELECT completed, expires_at FROM ${t} WHERE key = ?`);
  const upsert = db.prepare<[string, string, number]>(
    `INSERT INTO ${t} (key, token, completed, expires_at) VALUES (?, ?, 0, ?)
     ON CONFLICT (key) DO UPDATE SET token = excluded.token, completed = 0, expires_at = excluded.expires_at`,
  );
  const completeStmt = db.prepare<[number, string, string, number]>(
    `UPDATE ${t} SET completed = 1, expires_at = ?
     WHERE key = ? AND token = ? AND completed = 0 AND expires_at > ?`,
  );
  const releaseStmt = db.prepare<[string, string, number]>(
    `DELETE FROM ${t} WHERE key = ? AND token = ? AND completed = 0 AND expires_at > ?`,
  );
  const ownsStmt = db.prepare<[string, string, number], { one: number }>(
    `SELECT 1 AS one FROM ${t} WHERE key = ? AND token = ? AND completed = 0 AND expires_at > ?`,
  );
  const sweepStmt = db.prepare<[number, number]>(
    `DELETE FROM ${t} WHERE key IN (SELECT key FROM ${t} WHERE expires_at <= ? LIMIT ?)`,
  );

  // BEGIN IMMEDIATE takes the write lock before reading, so two processes
  // cannot both see the key free; better-sqlite3 runs the function synchronously.
  const claimTx = db.transaction((key: string, leaseMs: number): ClaimResult => {
    const at = now();
    const row = select.get(key);
    if (row && row.expires_at > at) {
      return row.completed ? { status: 'completed' } : { status: 'in_progress' };
    }
    const token = randomUUID();
    upsert.run(key, token, at + leaseMs);
    return { status: 'acquired', token };
  });

  const sweepNow = (): number => sweepStmt.run(now(), sweepEvery || 1000).changes;

  // The connection's queue: while a completeWithin transaction is open, every
  // other operation waits behind it; otherwise operations run at once.
  let tail: Promise<unknown> = Promise.resolve();
  let inTransaction = false;
  let closed = false;
  let claims = 0;

  const serial = <T>(fn: () => T | Promise<T>): Promise<T> => {
    const run = tail.then(fn);
    tail = run.catch(() => undefined);
    return run;
  };
  const op = <T>(fn: () => T): Promise<T> => {
    const guarded = (): T => {
      if (closed)
        throw new C2pError('STORE_UNAVAILABLE', { message: `[${pkg}] the store is closed` });
      try {
        return fn();
      } catch (cause) {
        throw storeUnavailable(cause);
      }
    };
    if (!inTransaction) {
      try {
        return Promise.resolve(guarded());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return serial(guarded);
  };

  return {
    claim(key, leaseMs) {
      return op(() => {
        const result = claimTx.immediate(key, leaseMs);
        if (sweepEvery > 0 && ++claims >= sweepEvery) {
          claims = 0;
          try {
            sweepNow();
          } catch {
            // Housekeeping only: a busy database must not fail the delivery.
          }
        }
        return result;
      });
    },
    complete(key, token, retainMs) {
      return op(() => {
        const at = now();
        return completeStmt.run(at + retainMs, key, token, at).changes === 1;
      });
    },
    release(key, token) {
      return op(() => releaseStmt.run(key, token, now()).changes === 1);
    },
    completeWithin(key, token, retainMs, work) {
      return serial(async () => {
        if (closed)
          throw new C2pError('STORE_UNAVAILABLE', { message: `[${pkg}] the store is closed` });
        inTransaction = true;
        try {
          try {
            db.exec('BEGIN IMMEDIATE');
            // A stale owner's work is not even started: it could only be rolled back.
            if (!ownsStmt.get(key, token, now())) {
              db.exec('ROLLBACK');
              return false;
            }
          } catch (cause) {
            if (db.inTransaction) db.exec('ROLLBACK');
            throw storeUnavailable(cause);
          }
          try {
            await work(db);
          } catch (error) {
            if (db.inTransaction) db.exec('ROLLBACK');
            throw error;
          }
          try {
            const at = now();
            const done = completeStmt.run(at + retainMs, key, token, at).changes === 1;
            db.exec(done ? 'COMMIT' : 'ROLLBACK');
            return done;
          } catch (cause) {
            if (db.inTransaction) db.exec('ROLLBACK');
            throw storeUnavailable(cause);
          }
        } finally {
          inTransaction = false;
        }
      });
    },
    migrate() {
      return op(migrateNow);
    },
    sweep() {
      return op(sweepNow);
    },
    async close() {
      if (closed) return;
      await tail;
      closed = true;
      if (owned) db.close();
    },
  };
}

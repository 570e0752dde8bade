import { randomUUID } from 'node:crypto';
import type { TransactionalIdempotencyStore } from '@c2p/core';
import type { ClaimResult, ProcessOnceResult } from '@c2p/core/kit';
import { integerOption } from '@c2p/core/kit';
import type Database from 'better-sqlite3';
import {
  openConnection,
  pkg,
  type SqliteHandle,
  type SqliteSynchronous,
  type SqliteTransaction,
  setUpTable,
} from './sqlite-connection.js';
import {
  busyTimeoutOption,
  databaseOption,
  synchronousOption,
  tableOption,
} from './sqlite-options.js';

/** Options for {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * A file path to open (created if missing, with its directory), or a
   * better-sqlite3 `Database` you opened yourself; the store then never closes it.
   * A store and an inbox built on the same `Database` share one queue.
   */
  database: string | Database.Database;
  /** The table holding the keys; letters, digits and `_`. Defaults to `c2p_idempotency`. */
  table?: string;
  /**
   * SQLite's `synchronous` setting. `FULL` fsyncs the WAL on every commit, so an
   * answered 2xx survives a power cut; `NORMAL` is faster, and a power cut (not a
   * process crash) may then lose the last commits. Defaults to `FULL`.
   */
  synchronous?: SqliteSynchronous;
  /**
   * How long an operation waits, in all, for another connection's write lock
   * before it fails with `STORE_UNAVAILABLE`, in ms. The wait is asynchronous:
   * the event loop keeps running. Defaults to `5000`.
   */
  busyTimeoutMs?: number;
  /**
   * How long `processOnce` waits for a concurrent delivery of the same key in
   * this process to finish before answering `in_progress`, in ms. Defaults to `5000`.
   */
  duplicateWaitMs?: number;
  /** Deletes up to this many expired keys once every this many claims; `0` never. Defaults to `1000`. */
  sweepEvery?: number;
  /** The clock, in milliseconds; inject a fake one in tests. Defaults to `Date.now`. */
  now?: () => number;
}

/**
 * The SQLite store. `processOnce` (and `completeWithin`) hand your handler a
 * {@link SqliteTransaction}: its `db` begins `BEGIN IMMEDIATE` on first read, and
 * the handler's writes and the key's completion commit together.
 */
export interface SqliteStore extends TransactionalIdempotencyStore<SqliteTransaction> {
  /** Always a promise: a locked database is waited for without blocking. */
  claim(key: string, leaseMs: number): Promise<ClaimResult>;
  processOnce(
    key: string,
    retainMs: number,
    work: (tx: SqliteTransaction) => Promise<void>,
  ): Promise<ProcessOnceResult>;
  /** Creates the table and its index if missing. Idempotent; `createSqliteStore` runs it. */
  migrate(): Promise<void>;
  /** Deletes one bounded batch of expired keys; answers how many went. */
  sweep(): Promise<number>;
  /** As the inbox's: resolves when the database can be written now, else throws `STORE_UNAVAILABLE` naming why. */
  checkWritable(): Promise<void>;
  /** Waits for a running transaction, then closes the database if the store opened it. */
  close(): Promise<void>;
}

interface Row {
  completed: number;
  expires_at: number;
}

/** The outcome other deliveries of a key in flight wait for: did it commit? */
interface InFlight {
  readonly done: Promise<boolean>;
}

/** Creates the table and its index if missing. */
const migrateSql = (quoted: string, table: string): string => `
  CREATE TABLE IF NOT EXISTS ${quoted} (
    key TEXT PRIMARY KEY NOT NULL,
    token TEXT NOT NULL,
    completed INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON ${quoted} (expires_at);`;

/** The store's prepared statements, on `db`, for the table `quoted`. */
function prepareStore(db: Database.Database, quoted: string, now: () => number) {
  const select = db.prepare<[string], Row>(
    `SELECT completed, expires_at FROM ${quoted} WHERE key = ?`,
  );
  const upsert = db.prepare<[string, string, number]>(
    `INSERT INTO ${quoted} (key, token, completed, expires_at) VALUES (?, ?, 0, ?)
     ON CONFLICT (key) DO UPDATE SET token = excluded.token, completed = 0, expires_at = excluded.expires_at`,
  );
  return {
    select,
    upsert,
    // BEGIN IMMEDIATE takes the write lock before reading, so two processes
    // cannot both see the key free.
    claim: db.transaction((key: string, leaseMs: number): ClaimResult => {
      const at = now();
      const row = select.get(key);
      if (row && row.expires_at > at) {
        return row.completed ? { status: 'completed' } : { status: 'in_progress' };
      }
      const token = randomUUID();
      upsert.run(key, token, at + leaseMs);
      return { status: 'acquired', token };
    }),
    // processOnce writes no lease: a key is either completed or absent.
    completeKey: db.prepare<[string, number]>(
      `INSERT INTO ${quoted} (key, token, completed, expires_at) VALUES (?, '', 1, ?)
       ON CONFLICT (key) DO UPDATE SET token = '', completed = 1, expires_at = excluded.expires_at`,
    ),
    complete: db.prepare<[number, string, string, number]>(
      `UPDATE ${quoted} SET completed = 1, expires_at = ?
       WHERE key = ? AND token = ? AND completed = 0 AND expires_at > ?`,
    ),
    release: db.prepare<[string, string, number]>(
      `DELETE FROM ${quoted} WHERE key = ? AND token = ? AND completed = 0 AND expires_at > ?`,
    ),
    owns: db.prepare<[string, string, number], { one: number }>(
      `SELECT 1 AS one FROM ${quoted} WHERE key = ? AND token = ? AND completed = 0 AND expires_at > ?`,
    ),
    sweep: db.prepare<[number, number]>(
      `DELETE FROM ${quoted} WHERE key IN (SELECT key FROM ${quoted} WHERE expires_at <= ? LIMIT ?)`,
    ),
  };
}

type StoreStatements = ReturnType<typeof prepareStore>;

/** The store's settings once checked. */
interface SqliteStoreSettings {
  readonly table: string;
  readonly busyTimeoutMs: number;
  readonly duplicateWaitMs: number;
  readonly sweepEvery: number;
  readonly now: () => number;
}

/** Waits up to `ms` for another delivery of the key: its commit (`true`), its failure, or the time. */
async function outcomeOf(other: InFlight, ms: number): Promise<boolean | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([other.done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The store's operations. Arrow-function fields, so a spread copy or a detached
 * method works as on a plain object.
 */
class SqliteStoreImpl implements SqliteStore {
  private claims = 0;
  private readonly inFlight = new Map<string, InFlight>();

  constructor(
    private readonly connection: SqliteHandle,
    private readonly statements: StoreStatements,
    private readonly settings: SqliteStoreSettings,
  ) {}

  private completedNow(key: string): boolean {
    const row = this.statements.select.get(key);
    return row !== undefined && row.completed === 1 && row.expires_at > this.settings.now();
  }

  private sweepNow = (): number =>
    this.statements.sweep.run(this.settings.now(), this.settings.sweepEvery || 1000).changes;

  /**
   * Waits for a delivery of `key` already running in this process: answers
   * what this one answers if the other settles it, or `undefined` to run it.
   */
  private async afterOthers(key: string): Promise<ProcessOnceResult | undefined> {
    for (;;) {
      const other = this.inFlight.get(key);
      if (!other) break;
      const outcome = await outcomeOf(other, this.settings.duplicateWaitMs);
      if (outcome === 'timeout') return 'in_progress';
      if (outcome) return 'duplicate';
      // The other failed and rolled back: this delivery runs it (unless a third got there first).
    }
    return this.connection.read(() => this.completedNow(key)) ? 'duplicate' : undefined;
  }

  private process(
    key: string,
    retainMs: number,
    work: (tx: SqliteTransaction) => Promise<void>,
  ): Promise<ProcessOnceResult> {
    const { now, busyTimeoutMs } = this.settings;
    return this.connection.transact<ProcessOnceResult>(
      work,
      () => {
        // Another process may have committed the key while our handlers ran.
        if (this.completedNow(key)) return { commit: false, value: 'duplicate' };
        this.statements.completeKey.run(key, now() + retainMs);
        return { commit: true, value: 'processed' };
      },
      busyTimeoutMs,
      // Checked again once the handler holds the write lock, before it writes.
      () => (this.completedNow(key) ? 'duplicate' : undefined),
    );
  }

  processOnce = async (
    key: string,
    retainMs: number,
    work: (tx: SqliteTransaction) => Promise<void>,
  ): Promise<ProcessOnceResult> => {
    const settled = await this.afterOthers(key);
    if (settled) return settled;
    let settle: (committed: boolean) => void = () => undefined;
    const done = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    this.inFlight.set(key, { done });
    let committed = false;
    try {
      const result = await this.process(key, retainMs, work);
      committed = true;
      return result;
    } finally {
      this.inFlight.delete(key);
      settle(committed);
    }
  };

  claim = (key: string, leaseMs: number): Promise<ClaimResult> =>
    this.connection.run(() => {
      const result = this.statements.claim.immediate(key, leaseMs);
      const { sweepEvery } = this.settings;
      if (sweepEvery > 0 && ++this.claims >= sweepEvery) {
        this.claims = 0;
        try {
          this.sweepNow();
        } catch {
          // Housekeeping only: a busy database must not fail the delivery.
        }
      }
      return result;
    }, this.settings.busyTimeoutMs);

  complete = (key: string, token: string, retainMs: number): Promise<boolean> =>
    this.connection.run(() => {
      const at = this.settings.now();
      return this.statements.complete.run(at + retainMs, key, token, at).changes === 1;
    }, this.settings.busyTimeoutMs);

  release = (key: string, token: string): Promise<boolean> =>
    this.connection.run(
      () => this.statements.release.run(key, token, this.settings.now()).changes === 1,
      this.settings.busyTimeoutMs,
    );

  completeWithin = async (
    key: string,
    token: string,
    retainMs: number,
    work: (tx: SqliteTransaction) => Promise<void>,
  ): Promise<boolean> => {
    const { now, busyTimeoutMs } = this.settings;
    const owns = (): boolean => this.statements.owns.get(key, token, now()) !== undefined;
    // A stale owner's work is not even started: it could only be rolled back.
    if (!this.connection.read(owns)) return false;
    return this.connection.transact(
      work,
      () => {
        const at = now();
        const done = this.statements.complete.run(at + retainMs, key, token, at).changes === 1;
        return { commit: done, value: done };
      },
      busyTimeoutMs,
      () => (owns() ? undefined : false),
    );
  };

  migrate = (): Promise<void> =>
    this.connection.run(() => {
      this.connection.db.exec(migrateSql(`"${this.settings.table}"`, this.settings.table));
    }, this.settings.busyTimeoutMs);

  sweep = (): Promise<number> => this.connection.run(this.sweepNow, this.settings.busyTimeoutMs);

  checkWritable = (): Promise<void> => this.connection.checkWritable(this.settings.busyTimeoutMs);

  close = (): Promise<void> => this.connection.close();
}

/**
 * A durable {@link SqliteStore} for one machine, on better-sqlite3: WAL,
 * `synchronous=FULL` by default, writes under `BEGIN IMMEDIATE` so several
 * processes sharing the file race safely, and waits for another process's lock
 * without blocking the event loop. Creates its table at once.
 *
 * @example
 * ```ts
 * const store = createSqliteStore({ database: './data/webhooks.db' });
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const table = tableOption(options.table, 'options.table', 'c2p_idempotency');
  const synchronous = synchronousOption(options.synchronous);
  const busyTimeoutMs = busyTimeoutOption(options.busyTimeoutMs);
  const duplicateWaitMs = integerOption(options.duplicateWaitMs, 'options.duplicateWaitMs', {
    min: 0,
    fallback: 5000,
    pkg,
  });
  const sweepEvery = integerOption(options.sweepEvery, 'options.sweepEvery', {
    min: 0,
    fallback: 1000,
    pkg,
  });
  const now = options.now ?? Date.now;
  const connection = openConnection(databaseOption(options.database), synchronous);
  const quoted = `"${table}"`;
  const statements = setUpTable(connection, migrateSql(quoted, table), (db) =>
    prepareStore(db, quoted, now),
  );
  const settings = { table, busyTimeoutMs, duplicateWaitMs, sweepEvery, now };
  return new SqliteStoreImpl(connection, statements, settings);
}

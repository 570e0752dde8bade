import type { RateGate, RateGateOptions } from '@c2p/core';
import { invalidOption, rateGateIntervalUs } from '@c2p/core/kit';
import type Database from 'better-sqlite3';
import { openConnection, pkg, type SqliteSynchronous, setUpTable } from './sqlite-connection.js';
import {
  busyTimeoutOption,
  databaseOption,
  synchronousOption,
  tableOption,
} from './sqlite-options.js';

/** Options for {@link createSqliteRateGate}. */
export interface SqliteRateGateOptions extends RateGateOptions {
  /**
   * A file path to open (created if missing), or a better-sqlite3 `Database` of
   * yours, never closed by the gate. Every process opening the same file shares
   * the gates in it.
   */
  database: string | Database.Database;
  /** The table of gates, one row per name; letters, digits and `_`. Defaults to `c2p_rate_gates`. */
  table?: string;
  /** The gate's name: every process using the same name shares one limit. Defaults to `handlers`. */
  name?: string;
  /**
   * SQLite's `synchronous` setting for a file the gate opens (with your own
   * `Database`, the one its other users set). A reservation lost to a power
   * cut only lets one start come early, so it needs no fsync. Defaults to `NORMAL`.
   */
  synchronous?: SqliteSynchronous;
  /** How long a reservation waits, in all, for another connection's write lock, in ms. Defaults to `5000`. */
  busyTimeoutMs?: number;
  /** The clock, in ms; every process on the file must share it (one machine does). Defaults to `Date.now`. */
  now?: () => number;
}

/** The rate gate on SQLite; `close()` closes the database if the gate opened it. */
export interface SqliteRateGate extends RateGate {
  close(): Promise<void>;
}

/**
 * A {@link RateGate} shared by every process on one machine using one SQLite
 * file: each reservation is one upsert (GCRA, times in microseconds), atomic
 * under SQLite's write lock.
 *
 * @example
 * ```ts
 * const gate = createSqliteRateGate({ database: './data/c2p.db', perSecond: 5 });
 * const worker = startInboxWorker({ inbox, handlers, rate: { gate } });
 * ```
 */
export function createSqliteRateGate(options: SqliteRateGateOptions): SqliteRateGate {
  const intervalUs = rateGateIntervalUs(options, pkg);
  const table = tableOption(options.table, 'options.table', 'c2p_rate_gates');
  const name = options.name ?? 'handlers';
  if (typeof name !== 'string' || name === '')
    throw invalidOption('options.name', 'must be a non-empty string', pkg);
  const busyTimeoutMs = busyTimeoutOption(options.busyTimeoutMs);
  const synchronous = synchronousOption(options.synchronous ?? 'NORMAL');
  const now = options.now ?? Date.now;
  const connection = openConnection(databaseOption(options.database), synchronous);
  const quoted = `"${table}"`;
  const reserve = setUpTable(
    connection,
    `CREATE TABLE IF NOT EXISTS ${quoted} (name TEXT PRIMARY KEY, next_at INTEGER NOT NULL)`,
    (db) =>
      db.prepare<{ name: string; now: number; interval: number }, { wait: number }>(
        `INSERT INTO ${quoted} (name, next_at) VALUES (@name, @now + @interval)
         ON CONFLICT (name) DO UPDATE SET next_at = max(next_at, @now) + @interval
         RETURNING next_at - @interval - @now AS wait`,
      ),
  );
  return {
    async reserve() {
      const row = await connection.run(
        // The clock is read once the write lock is ours, not before a busy wait.
        () => reserve.get({ name, now: Math.round(now() * 1000), interval: intervalUs }),
        busyTimeoutMs,
      );
      return (row?.wait ?? 0) / 1000;
    },
    close: () => connection.close(),
  };
}

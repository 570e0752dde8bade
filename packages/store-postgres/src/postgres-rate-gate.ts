import type { RateGate, RateGateOptions } from '@c2p/core';
import { invalidOption, rateGateIntervalUs, tableNameOption } from '@c2p/core/kit';
import type { Pool } from 'pg';
import { openPool, PostgresTable, pkg, poolSettings } from './postgres-connection.js';

/** Options for {@link createPostgresRateGate}. */
export interface PostgresRateGateOptions extends RateGateOptions {
  /** A connection string for a pool the gate opens and closes, or a `pg` `Pool` of yours that `close()` leaves open. */
  connection: string | Pool;
  /** The table of gates, one row per name; letters, digits and `_`. Defaults to `c2p_rate_gates`. */
  table?: string;
  /** The gate's name: every process using the same name shares one limit. Defaults to `handlers`. */
  name?: string;
  /** The size of the pool the gate opens. Defaults to `2`. */
  max?: number;
  /** How long to wait for a connection before failing with `STORE_UNAVAILABLE`, in ms. Defaults to `5000`. */
  connectionTimeoutMs?: number;
}

/** The rate gate on PostgreSQL. */
export interface PostgresRateGate extends RateGate {
  /** Creates the table of gates if missing. Idempotent; run it at deploy or start-up. */
  migrate(): Promise<void>;
  /** Closes the pool if the gate opened it. */
  close(): Promise<void>;
}

/**
 * A {@link RateGate} shared by every process using one PostgreSQL database:
 * each reservation is one atomic upsert of the gate's row (GCRA, times in
 * microseconds on the server's clock, so the processes' clocks need not agree).
 *
 * @example
 * ```ts
 * const gate = createPostgresRateGate({ connection: process.env.DATABASE_URL ?? '', perSecond: 5 });
 * await gate.migrate();
 * const worker = startInboxWorker({ inbox, handlers, rate: { gate } });
 * ```
 */
export function createPostgresRateGate(options: PostgresRateGateOptions): PostgresRateGate {
  const intervalUs = rateGateIntervalUs(options, pkg);
  const table = tableNameOption(options.table, {
    path: 'options.table',
    fallback: 'c2p_rate_gates',
    pkg,
  });
  const name = options.name ?? 'handlers';
  if (typeof name !== 'string' || name === '')
    throw invalidOption('options.name', 'must be a non-empty string', pkg);
  const settings = poolSettings({ ...options, max: options.max ?? 2 });
  const owned = typeof settings.connection === 'string';
  const pool =
    typeof settings.connection === 'string'
      ? openPool(settings.connection, settings.max, settings.connectionTimeoutMs)
      : settings.connection;
  const quoted = `"${table}"`;
  const access = new PostgresTable(quoted, 'gate.migrate');
  // The row lock orders concurrent reservations; the clock is read before the
  // lock is granted, so a reservation that waited for it answers a longer wait
  // than needed, never a shorter one.
  const reserveSql = `
    WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS at)
    INSERT INTO ${quoted} AS gate (name, next_at) SELECT $1, clock.at + $2 FROM clock
    ON CONFLICT (name) DO UPDATE SET next_at = greatest(gate.next_at, (SELECT at FROM clock)) + $2
    RETURNING gate.next_at - $2 - (SELECT at FROM clock) AS wait`;
  return {
    async reserve() {
      const result = await access.query<{ wait: string }>(pool, {
        text: reserveSql,
        values: [name, intervalUs],
      });
      return Number(result.rows[0]?.wait ?? 0) / 1000;
    },
    migrate: () =>
      access.migrate(pool, [
        'BEGIN',
        `SELECT pg_advisory_xact_lock(hashtext('c2p:' || '${table}'))`,
        `CREATE TABLE IF NOT EXISTS ${quoted} (name text PRIMARY KEY, next_at bigint NOT NULL)`,
        'COMMIT',
      ]),
    close: async () => {
      if (owned) await pool.end();
    },
  };
}

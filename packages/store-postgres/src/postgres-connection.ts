import { C2pError } from '@c2p/core';
import { integerOption, invalidOption, storeUnavailable } from '@c2p/core/kit';
import type { Pool, PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import pg from 'pg';

/** The package named in this package's messages. */
export const pkg = '@c2p/store-postgres';

const ignore = (): void => {};

/**
 * The time a statement works at, in ms: its `$1` (a test's clock), or `null`
 * for the server's clock, so instances with skewed clocks agree on leases.
 */
export const clockSql =
  'COALESCE($1::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)';

/** Is `value` a `pg` `Pool` (or anything that connects and queries like one)? */
export function isPool(value: unknown): value is Pool {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Pool).connect === 'function' &&
    typeof (value as Pool).query === 'function'
  );
}

/** The pool options a store and an inbox share. */
export interface PoolOptions {
  connection: string | Pool;
  max?: number;
  connectionTimeoutMs?: number;
}

/**
 * Checks `connection` (a non-empty connection string or a `pg` `Pool`), `max`
 * and `connectionTimeoutMs`, and answers them with their defaults applied.
 */
export function poolSettings(options: PoolOptions): {
  readonly connection: string | Pool;
  readonly max: number;
  readonly connectionTimeoutMs: number;
} {
  const { connection } = options;
  if (typeof connection === 'string') {
    if (connection.length === 0) {
      throw invalidOption('options.connection', 'is an empty connection string', pkg);
    }
  } else if (!isPool(connection)) {
    throw invalidOption('options.connection', 'must be a connection string or a pg Pool', pkg);
  }
  return {
    connection,
    max: integerOption(options.max, 'options.max', { fallback: 10, pkg }),
    connectionTimeoutMs: integerOption(options.connectionTimeoutMs, 'options.connectionTimeoutMs', {
      min: 0,
      fallback: 5000,
      pkg,
    }),
  };
}

/** Opens a pool of `max` connections to `connectionString`; `close` it with `pool.end()`. */
export function openPool(connectionString: string, max: number, connectionTimeoutMs: number): Pool {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: connectionTimeoutMs });
  // An idle client's error (the server restarted) would otherwise crash the
  // process; the pool drops that client and the next query connects anew.
  pool.on('error', ignore);
  return pool;
}

/**
 * Checks a client out of `pool` for a transaction. While it is checked out, a
 * connection error (the server restarted or was stopped) is emitted on the
 * client, not on the pool, and with no listener it would end the process: the
 * query in flight fails on its own and the caller releases the client with
 * that error, so the event itself carries nothing more. pg reuses clients, so
 * the listener is added once per client.
 */
export async function checkout(pool: Pool): Promise<PoolClient> {
  const client = await pool.connect();
  if (client.listenerCount('error') === 0) client.on('error', ignore);
  return client;
}

/** Rolls back; answers the error that makes the connection unfit for reuse, if any. */
export async function rollback(client: PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** What {@link PostgresTable.completeWithin} runs in one transaction. */
export interface CompleteWithin<Tx> {
  /** Locks or reads the caller's row; no row: nothing is run, `false`. */
  readonly fence: () => QueryConfig;
  readonly work: (tx: Tx) => Promise<void>;
  /**
   * Completes the row; no row changed: rolled back, `false`. Built after `work`
   * returns, so a statement that reads the clock reads it then.
   */
  readonly finish: () => QueryConfig;
}

/**
 * One table's access to PostgreSQL, shared by the store and the inbox: every
 * failure of the backend becomes `STORE_UNAVAILABLE`, a missing table (`42P01`)
 * naming the call that creates it.
 */
export class PostgresTable {
  /**
   * @param quoted - the table name as written into SQL, quoted.
   * @param migrateCall - the call that creates it, e.g. `inbox.migrate`.
   */
  constructor(
    private readonly quoted: string,
    private readonly migrateCall: string,
  ) {}

  /** Wraps whatever the backend threw as `STORE_UNAVAILABLE`. */
  unavailable(cause: unknown): C2pError {
    const missingTable = (cause as { code?: unknown } | null)?.code === '42P01';
    return storeUnavailable(
      cause,
      missingTable
        ? `[${pkg}] the table ${this.quoted} does not exist: run ${this.migrateCall}()`
        : undefined,
    );
  }

  async query<R extends QueryResultRow>(
    on: Pool | PoolClient,
    config: QueryConfig,
  ): Promise<QueryResult<R>> {
    try {
      return await on.query<R>(config);
    } catch (cause) {
      throw this.unavailable(cause);
    }
  }

  async connect(pool: Pool): Promise<PoolClient> {
    try {
      return await checkout(pool);
    } catch (cause) {
      throw this.unavailable(cause);
    }
  }

  /**
   * COMMITs, or throws: PostgreSQL answers a COMMIT of a transaction that a
   * failed statement aborted (a handler that caught its own SQL error) with
   * `ROLLBACK` and no error, and that must not pass for success.
   */
  async commit(client: PoolClient): Promise<void> {
    const result = await this.query(client, { text: 'COMMIT' });
    if (result.command !== 'COMMIT') {
      throw new C2pError('STORE_UNAVAILABLE', {
        message: `[${pkg}] the transaction was aborted by a failed statement inside it, so nothing was committed`,
      });
    }
  }

  /** Runs `statements` (`BEGIN` ... `COMMIT`) on one connection; rolls back on a failure. */
  async migrate(pool: Pool, statements: readonly string[]): Promise<void> {
    const client = await this.connect(pool);
    let broken: Error | undefined;
    try {
      for (const text of statements) await this.query(client, { text });
    } catch (error) {
      broken = error instanceof Error ? error : new Error(String(error));
      await client.query('ROLLBACK').catch(ignore);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * In one transaction: `fence`, then `work` with the client, then `finish`, and
   * COMMIT. Answers `false` (nothing committed, `work` not run after a failed
   * fence) when `fence` or `finish` finds no row; rethrows what `work` throws
   * after rolling back.
   */
  async completeWithin(pool: Pool, steps: CompleteWithin<PoolClient>): Promise<boolean> {
    const client = await this.connect(pool);
    let broken: Error | undefined;
    try {
      await this.query(client, { text: 'BEGIN' });
      // A stale owner's work is not even started: it could only be rolled back.
      if ((await this.query(client, steps.fence())).rowCount !== 1) {
        broken = await rollback(client);
        return false;
      }
      try {
        await steps.work(client);
      } catch (error) {
        broken = await rollback(client);
        throw error;
      }
      if ((await this.query(client, steps.finish())).rowCount !== 1) {
        broken = await rollback(client);
        return false;
      }
      await this.commit(client);
      return true;
    } catch (error) {
      // The connection may have failed mid-transaction: leave nothing open.
      if (error instanceof C2pError) broken ??= (await rollback(client)) ?? error;
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

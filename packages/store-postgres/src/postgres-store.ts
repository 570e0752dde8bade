import { randomUUID } from 'node:crypto';
import type { TransactionalIdempotencyStore } from '@c2p/core';
import { C2pError } from '@c2p/core';
import type { ClaimResult, ProcessOnceResult } from '@c2p/core/kit';
import { integerOption, tableNameOption } from '@c2p/core/kit';
import type { Pool, PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import {
  clockSql,
  openPool,
  PostgresTable,
  pkg,
  poolSettings,
  rollback,
} from './postgres-connection.js';

/** Options for {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /**
   * A connection string (`postgres://user:pass@host:5432/db`) for a pool the
   * store opens and closes, or a `pg` `Pool` of yours that `close()` leaves open.
   * Give your own pool an `error` listener: `pg` throws idle clients' errors
   * (a server restart) out of the process otherwise.
   */
  connection: string | Pool;
  /** The table holding the keys; letters, digits and `_`. Defaults to `c2p_idempotency`. */
  table?: string;
  /** The size of the pool the store opens. Defaults to `10`. */
  max?: number;
  /** How long to wait for a connection before failing with `STORE_UNAVAILABLE`, in ms. Defaults to `5000`. */
  connectionTimeoutMs?: number;
  /**
   * How long `processOnce` waits for another transaction processing the same key
   * before answering `in_progress`, in ms. Defaults to `5000`.
   */
  lockTimeoutMs?: number;
  /** Deletes up to this many expired keys once every this many claims (0: never). Defaults to `1000`. */
  sweepEvery?: number;
  /**
   * The clock, in milliseconds, for tests. Defaults to the database server's
   * clock, so listener instances with skewed clocks still agree on leases.
   */
  now?: () => number;
}

/**
 * The PostgreSQL store. `processOnce` (and `completeWithin`) hand your handler a
 * `PoolClient` inside `BEGIN`, so the handler's writes and the key's completion
 * commit together.
 */
export interface PostgresStore extends TransactionalIdempotencyStore<PoolClient> {
  /** Always a promise: the claim is a round trip to the database. */
  claim(key: string, leaseMs: number): Promise<ClaimResult>;
  processOnce(
    key: string,
    retainMs: number,
    work: (tx: PoolClient) => Promise<void>,
  ): Promise<ProcessOnceResult>;
  /** Creates the table and its index if missing. Idempotent; run it at deploy or start-up. */
  migrate(): Promise<void>;
  /** Deletes one bounded batch of expired keys, skipping rows locked by others; answers how many. */
  sweep(): Promise<number>;
  /** Closes the pool if the store opened it. */
  close(): Promise<void>;
}

/** The store's statements, one per operation; `$1` is the clock (`null`: the server's). */
function storeSql(quoted: string) {
  return {
    // The claim always touches the row so that it can answer every case in one
    // round trip: a fresh or expired key takes the new token, a live one keeps
    // its own (so the caller sees it did not win).
    claim: `
      WITH clock AS (SELECT ${clockSql} AS at)
      INSERT INTO ${quoted} AS entry (key, token, completed, expires_at)
      SELECT $2, $3, false, clock.at + $4 FROM clock
      ON CONFLICT (key) DO UPDATE SET
        token = CASE WHEN entry.expires_at <= (SELECT at FROM clock) THEN excluded.token ELSE entry.token END,
        completed = CASE WHEN entry.expires_at <= (SELECT at FROM clock) THEN false ELSE entry.completed END,
        expires_at = CASE WHEN entry.expires_at <= (SELECT at FROM clock) THEN excluded.expires_at ELSE entry.expires_at END
      RETURNING token, completed`,
    complete: `
      WITH clock AS (SELECT ${clockSql} AS at)
      UPDATE ${quoted} AS entry SET completed = true, expires_at = clock.at + $4 FROM clock
      WHERE entry.key = $2 AND entry.token = $3 AND NOT entry.completed AND entry.expires_at > clock.at`,
    release: `
      WITH clock AS (SELECT ${clockSql} AS at)
      DELETE FROM ${quoted} AS entry USING clock
      WHERE entry.key = $2 AND entry.token = $3 AND NOT entry.completed AND entry.expires_at > clock.at`,
    // processOnce's row: inserted already completed, since nobody sees it before
    // COMMIT, and a concurrent INSERT of the same key waits on the unique index
    // until this transaction ends. A committed row is taken over (and locked) only
    // when it is expired, or is a claim() that never completed (a crashed owner of
    // the claim API, whose stale completion the new token fences off). The
    // RETURNING restores the session's lock_timeout, so the handler's own lock
    // waits are not cut short by the bound meant for the duplicate's wait.
    process: `
      WITH clock AS (SELECT ${clockSql} AS at)
      INSERT INTO ${quoted} AS entry (key, token, completed, expires_at)
      SELECT $2, '', true, clock.at + $3 FROM clock
      ON CONFLICT (key) DO UPDATE SET
        token = '', completed = true, expires_at = excluded.expires_at
      WHERE NOT entry.completed OR entry.expires_at <= (SELECT at FROM clock)
      RETURNING set_config('lock_timeout', $4, true)`,
    owns: `
      WITH clock AS (SELECT ${clockSql} AS at)
      SELECT 1 FROM ${quoted} AS entry, clock
      WHERE entry.key = $2 AND entry.token = $3 AND NOT entry.completed AND entry.expires_at > clock.at`,
    sweep: `
      WITH clock AS (SELECT ${clockSql} AS at)
      DELETE FROM ${quoted} WHERE key IN (
        SELECT entry.key FROM ${quoted} AS entry, clock WHERE entry.expires_at <= clock.at
        LIMIT $2 FOR UPDATE SKIP LOCKED)`,
  };
}

/** Creates the table and its index, under a lock so that two instances migrating at once do not race. */
const migrateSql = (quoted: string, table: string): string[] => [
  'BEGIN',
  `SELECT pg_advisory_xact_lock(hashtext('c2p:' || '${table}'))`,
  `CREATE TABLE IF NOT EXISTS ${quoted} (
    key text PRIMARY KEY,
    token text NOT NULL,
    completed boolean NOT NULL DEFAULT false,
    expires_at bigint NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON ${quoted} (expires_at)`,
  'COMMIT',
];

/** The store's settings once checked. */
interface PostgresStoreSettings {
  readonly table: string;
  readonly pool: Pool;
  readonly owned: boolean;
  readonly sweepEvery: number;
  readonly lockTimeoutMs: number;
  readonly clock: (() => number) | undefined;
}

/** 55P03: the other transaction holding this key did not end within lockTimeoutMs. */
const isLockTimeout = (cause: unknown): boolean =>
  (cause as { code?: unknown } | null)?.code === '55P03';

/**
 * The store's operations. Arrow-function fields, so a spread copy or a detached
 * method works as on a plain object.
 */
class PostgresStoreImpl implements PostgresStore {
  private readonly sql: ReturnType<typeof storeSql>;
  private readonly access: PostgresTable;
  private claims = 0;

  constructor(private readonly settings: PostgresStoreSettings) {
    const quoted = `"${settings.table}"`;
    this.sql = storeSql(quoted);
    this.access = new PostgresTable(quoted, 'store.migrate');
  }

  private statement(name: keyof ReturnType<typeof storeSql>, values: unknown[]): QueryConfig {
    const { clock, table } = this.settings;
    // Named: each connection parses and plans the statement once.
    return {
      name: `c2p_${name}_${table}`,
      text: this.sql[name],
      values: [clock ? clock() : null, ...values],
    };
  }

  private query<R extends QueryResultRow>(
    name: keyof ReturnType<typeof storeSql>,
    values: unknown[],
  ): Promise<QueryResult<R>> {
    return this.access.query<R>(this.settings.pool, this.statement(name, values));
  }

  /**
   * One round trip: opens the transaction, bounds how long the INSERT waits for
   * a concurrent duplicate, and answers the session's lock timeout to restore.
   */
  private async begin(client: PoolClient): Promise<string> {
    const opened = (await client.query(
      `BEGIN; SELECT current_setting('lock_timeout') AS lt; SET LOCAL lock_timeout = ${this.settings.lockTimeoutMs}`,
    )) as unknown as QueryResult<{ lt: string }>[];
    return opened[1]?.rows[0]?.lt ?? '0';
  }

  processOnce = async (
    key: string,
    retainMs: number,
    work: (tx: PoolClient) => Promise<void>,
  ): Promise<ProcessOnceResult> => {
    const client = await this.access.connect(this.settings.pool);
    let broken: Error | undefined;
    try {
      let previous: string;
      try {
        previous = await this.begin(client);
      } catch (cause) {
        broken = await rollback(client);
        throw this.access.unavailable(cause);
      }
      let taken: QueryResult;
      try {
        taken = await client.query(this.statement('process', [key, retainMs, previous]));
      } catch (cause) {
        broken = await rollback(client);
        if (isLockTimeout(cause)) return 'in_progress';
        throw this.access.unavailable(cause);
      }
      if (taken.rowCount !== 1) {
        broken = await rollback(client);
        return 'duplicate';
      }
      try {
        await work(client);
        await this.access.commit(client);
      } catch (error) {
        broken = await rollback(client);
        throw error;
      }
      return 'processed';
    } finally {
      client.release(broken);
    }
  };

  claim = async (key: string, leaseMs: number): Promise<ClaimResult> => {
    const token = randomUUID();
    const result = await this.query<{ token: string; completed: boolean }>('claim', [
      key,
      token,
      leaseMs,
    ]);
    const { sweepEvery } = this.settings;
    if (sweepEvery > 0 && ++this.claims >= sweepEvery) {
      this.claims = 0;
      // Housekeeping off the delivery's path; a failure is retried next time.
      this.sweep().catch(() => undefined);
    }
    const row = result.rows[0];
    if (!row) {
      throw new C2pError('STORE_UNAVAILABLE', { message: `[${pkg}] the claim returned no row` });
    }
    if (row.token === token) return { status: 'acquired', token };
    return row.completed ? { status: 'completed' } : { status: 'in_progress' };
  };

  complete = async (key: string, token: string, retainMs: number): Promise<boolean> =>
    (await this.query('complete', [key, token, retainMs])).rowCount === 1;

  release = async (key: string, token: string): Promise<boolean> =>
    (await this.query('release', [key, token])).rowCount === 1;

  completeWithin = (
    key: string,
    token: string,
    retainMs: number,
    work: (tx: PoolClient) => Promise<void>,
  ): Promise<boolean> =>
    this.access.completeWithin(this.settings.pool, {
      fence: () => this.statement('owns', [key, token]),
      work,
      // Guarded by the token, under the row's lock: commits only for the owner.
      finish: () => this.statement('complete', [key, token, retainMs]),
    });

  migrate = (): Promise<void> =>
    this.access.migrate(
      this.settings.pool,
      migrateSql(`"${this.settings.table}"`, this.settings.table),
    );

  sweep = async (): Promise<number> =>
    (await this.query('sweep', [this.settings.sweepEvery || 1000])).rowCount ?? 0;

  close = async (): Promise<void> => {
    if (this.settings.owned) await this.settings.pool.end();
  };
}

/**
 * A {@link PostgresStore}, shared by any number of listener instances. Every
 * operation is one atomic statement (an upsert that takes over only an expired
 * lease, an update or delete guarded by the token), so there is no
 * read-then-write race between instances.
 *
 * @example
 * ```ts
 * const store = createPostgresStore({ connection: process.env.DATABASE_URL });
 * await store.migrate();
 * ```
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  // 51: room for the index name "<table>_expires_at" within PostgreSQL's 63.
  const table = tableNameOption(options.table, {
    path: 'options.table',
    fallback: 'c2p_idempotency',
    maxLength: 51,
    pkg,
  });
  const { connection, max, connectionTimeoutMs } = poolSettings(options);
  const sweepEvery = integerOption(options.sweepEvery, 'options.sweepEvery', {
    min: 0,
    fallback: 1000,
    pkg,
  });
  const lockTimeoutMs = integerOption(options.lockTimeoutMs, 'options.lockTimeoutMs', {
    fallback: 5000,
    pkg,
  });
  const owned = typeof connection === 'string';
  const pool = owned ? openPool(connection, max, connectionTimeoutMs) : connection;
  return new PostgresStoreImpl({
    table,
    pool,
    owned,
    sweepEvery,
    lockTimeoutMs,
    clock: options.now,
  });
}

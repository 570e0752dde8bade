import type {
  InboxEntry,
  InboxLease,
  InboxRecord,
  InboxState,
  TransactionalInboxStore,
} from '@c2p/core';
import { C2pError } from '@c2p/core';
import { integerOption, invalidOption } from '@c2p/core/kit';
import type { Pool, PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import pg from 'pg';
import { checkout, rollback, unavailableWith } from './postgres-connection.js';
import {
  createNotificationChannel,
  openFromPool,
  openOwnClient,
} from './postgres-notifications.js';

const pkg = '@c2p/store-postgres';
const day = 24 * 60 * 60 * 1000;

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
   * Creates the table and its indexes if missing, then (with `durability:
   * 'verify'`) checks the durability settings. Idempotent; run it at deploy or start-up.
   */
  migrate(): Promise<void>;
  /**
   * Reads the durability settings and throws `STORE_UNAVAILABLE` naming what is
   * wrong unless an acknowledged commit is on disk (see `durability`).
   */
  verifyDurability(): Promise<void>;
  sweep(): Promise<number>;
  /**
   * Calls `listener` when any process stores, replays or retries an event in
   * this table (LISTEN/NOTIFY on `<table>_due`, sent in the same commit), so
   * workers elsewhere start at once rather than at their next poll. One
   * connection listens while anyone watches: its own for a connection string,
   * one held from your pool otherwise. Core's worker watches by itself.
   */
  watch(listener: () => void): () => void;
  /** Closes the pools the inbox opened, and the listening connection. */
  close(): Promise<void>;
}

interface Row {
  id: string;
  key: string;
  resource_key: string;
  event_type: string;
  payload: string;
  received_at: string;
  client_ip: string | null;
  state: InboxState;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  processed_at: string | null;
}

const columns =
  'id, key, resource_key, event_type, payload, received_at, client_ip, state, attempts, next_attempt_at, last_error, processed_at';

const toMs = (value: string | null): number | null => (value === null ? null : Number(value));

const toEntry = (row: Row): InboxEntry => ({
  id: row.id,
  key: row.key,
  resourceKey: row.resource_key,
  eventType: row.event_type,
  payload: row.payload,
  receivedAt: Number(row.received_at),
  clientIp: row.client_ip,
  state: row.state,
  attempts: row.attempts,
  nextAttemptAt: toMs(row.next_attempt_at),
  lastError: row.last_error,
  processedAt: toMs(row.processed_at),
});

/** Ids are bigserials; anything else names no event (and must not reach a bigint cast). */
const isId = (id: unknown): id is string => typeof id === 'string' && /^[0-9]{1,18}$/.test(id);

function isPool(value: unknown): value is Pool {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Pool).connect === 'function' &&
    typeof (value as Pool).query === 'function'
  );
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
  const table = options.table ?? 'c2p_inbox';
  if (typeof table !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(table)) {
    throw invalidOption(
      'options.table',
      `"${String(table)}" must be 1 to 41 letters, digits or _, not starting with a digit`,
      pkg,
    );
  }
  const retainMs = integerOption(options.retainMs, 'options.retainMs', { fallback: 30 * day, pkg });
  const max = integerOption(options.max, 'options.max', { fallback: 10, pkg });
  const workerMax = integerOption(options.workerMax, 'options.workerMax', { fallback: 10, pkg });
  const connectionTimeoutMs = integerOption(
    options.connectionTimeoutMs,
    'options.connectionTimeoutMs',
    { min: 0, fallback: 5000, pkg },
  );
  const sweepBatch = integerOption(options.sweepBatch, 'options.sweepBatch', {
    fallback: 1000,
    pkg,
  });
  const durability = options.durability ?? 'verify';
  if (durability !== 'verify' && durability !== 'trust') {
    throw invalidOption('options.durability', `must be 'verify' or 'trust'`, pkg);
  }
  const durabilityCheckMs = integerOption(options.durabilityCheckMs, 'options.durabilityCheckMs', {
    min: 0,
    fallback: 10_000,
    pkg,
  });
  const { connection } = options;
  const owned = typeof connection === 'string';
  if (owned && connection.length === 0) {
    throw invalidOption('options.connection', 'is an empty connection string', pkg);
  }
  if (!owned && !isPool(connection)) {
    throw invalidOption('options.connection', 'must be a connection string or a pg Pool', pkg);
  }
  if (options.workerConnection !== undefined && !isPool(options.workerConnection)) {
    throw invalidOption('options.workerConnection', 'must be a pg Pool', pkg);
  }
  const clock = options.now;

  const ownedPools: Pool[] = [];
  const open = (max: number): Pool => {
    const pool = new pg.Pool({
      connectionString: connection as string,
      max,
      connectionTimeoutMillis: connectionTimeoutMs,
    });
    // An idle client's error (the server restarted) would otherwise crash the
    // process; the pool drops that client and the next query connects anew.
    pool.on('error', () => undefined);
    ownedPools.push(pool);
    return pool;
  };
  // Two pools: handlers hold worker connections for as long as they run, and
  // must never leave an accepted delivery waiting for a connection.
  const ingest = owned ? open(max) : connection;
  const workers = options.workerConnection ?? (owned ? open(workerMax) : connection);

  const t = `"${table}"`;
  const at = 'COALESCE($1::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)';
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
  const ownsToken = `e.id = $2 AND e.lease_token = $3 AND e.${unfinished}`;
  // Renewal alone needs the lease not run out: it extends a live lease, never revives one.
  const held = `${ownsToken} AND e.locked_until > clock.at`;
  // The channel workers LISTEN on; a lateral call sends at most one notification per
  // statement's rows, and none when no row changed.
  const channel = `${table}_due`;
  const notifyDue = `CROSS JOIN LATERAL (SELECT pg_notify('${channel}', '') WHERE EXISTS (SELECT 1)) AS n`;
  const notifications = createNotificationChannel(
    channel,
    owned ? openOwnClient(connection, connectionTimeoutMs) : openFromPool(connection),
  );
  const sql = {
    // One statement, one commit for the whole delivery; arrival order is the id.
    enqueue: `
      WITH clock AS (SELECT ${at} AS at), inserted AS (
        INSERT INTO ${t} (key, resource_key, event_type, payload, received_at, client_ip, next_attempt_at)
        SELECT r.key, r.resource_key, r.event_type, r.payload, r.received_at, r.client_ip, clock.at
        FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])
          WITH ORDINALITY AS r(key, resource_key, event_type, payload, received_at, client_ip, n), clock
        ORDER BY r.n
        ON CONFLICT (key) DO NOTHING
        RETURNING key
      )
      -- Workers in other processes LISTEN: one notification per commit (PostgreSQL
      -- folds identical ones), sent only when it commits.
      SELECT key FROM inserted ${notifyDue}`,
    // Due, not leased, and the head of its resource: no earlier unfinished event
    // of the same resource (leased or not), and no other of its events leased
    // (a replayed dead event must wait for a later one already running).
    // SKIP LOCKED: concurrent workers pass over each other's rows instead of waiting.
    lease: `
      WITH clock AS (SELECT ${at} AS at),
      picked AS (
        SELECT e.id FROM ${t} AS e, clock
        WHERE e.${unfinished} AND e.next_attempt_at <= clock.at
          AND (e.locked_until IS NULL OR e.locked_until <= clock.at)
          AND NOT EXISTS (
            SELECT 1 FROM ${t} AS p
            WHERE p.resource_key = e.resource_key AND p.${unfinished} AND p.id <> e.id
              AND (p.id < e.id OR p.locked_until > clock.at))
        ORDER BY e.id
        LIMIT $2
        FOR UPDATE OF e SKIP LOCKED)
      UPDATE ${t} AS e
      SET attempts = e.attempts + 1, lease_token = gen_random_uuid()::text, locked_until = clock.at + $3
      FROM picked, clock
      WHERE e.id = picked.id
      RETURNING e.lease_token, ${columns
        .split(', ')
        .map((c) => `e.${c}`)
        .join(', ')}`,
    // Never waits on the row: while the holder's completeWithin runs, that
    // transaction locks it (and keeps every other worker off it), so the lease
    // is still held, and the answer is read from the last committed state.
    renew: `
      WITH clock AS (SELECT ${at} AS at),
      free AS (SELECT e.id FROM ${t} AS e, clock WHERE ${held} FOR UPDATE OF e SKIP LOCKED),
      renewed AS (
        UPDATE ${t} AS e SET locked_until = clock.at + $4 FROM free, clock WHERE e.id = free.id)
      SELECT EXISTS (SELECT 1 FROM ${t} AS e, clock WHERE ${held}) AS held`,
    complete: `
      WITH clock AS (SELECT ${at} AS at)
      UPDATE ${t} AS e
      SET state = 'processed', processed_at = clock.at, next_attempt_at = NULL,
        locked_until = NULL, lease_token = NULL
      FROM clock WHERE ${ownsToken}`,
    // completeWithin's fence: locks the holder's row for the handlers' whole
    // transaction without changing it. A row lock keeps other workers off the
    // event (SKIP LOCKED) and its resource's later events waiting, while a
    // duplicate delivery's INSERT ... ON CONFLICT does not wait on a lock-only
    // row, as it would on an updated one: ingestion never waits for handlers.
    lock: `
      WITH clock AS (SELECT ${at} AS at)
      SELECT e.id FROM ${t} AS e, clock WHERE ${ownsToken} FOR UPDATE OF e`,
    // Under that lock the event is still this token's, even if the handlers
    // outlasted locked_until: nobody could lease it meanwhile.
    finish: `
      WITH clock AS (SELECT ${at} AS at)
      UPDATE ${t} AS e
      SET state = 'processed', processed_at = clock.at, next_attempt_at = NULL,
        locked_until = NULL, lease_token = NULL
      FROM clock WHERE ${ownsToken}`,
    fail: `
      WITH clock AS (SELECT ${at} AS at)
      UPDATE ${t} AS e
      SET state = CASE WHEN $4::bigint IS NULL THEN 'dead' ELSE 'retrying' END,
        next_attempt_at = $4::bigint, last_error = $5, locked_until = NULL, lease_token = NULL
      FROM clock WHERE ${ownsToken}`,
    listOldest: `SELECT ${columns} FROM ${t} WHERE state = $1 ORDER BY id LIMIT $2`,
    listNewest: `SELECT ${columns} FROM ${t} WHERE state = $1 ORDER BY id DESC LIMIT $2`,
    listProcessed: `SELECT ${columns} FROM ${t} WHERE state = 'processed'
      ORDER BY processed_at DESC, id DESC LIMIT $1`,
    get: `SELECT ${columns} FROM ${t} WHERE id = $1`,
    counts: `SELECT state, count(*)::int AS n FROM ${t} GROUP BY state`,
    replay: `
      WITH clock AS (SELECT ${at} AS at), changed AS (
        UPDATE ${t} AS e
        SET state = 'pending', attempts = 0, next_attempt_at = clock.at, locked_until = NULL, lease_token = NULL
        FROM clock WHERE e.id = $2 AND e.state = 'dead'
        RETURNING e.id
      )
      SELECT id FROM changed ${notifyDue}`,
    retryNow: `
      WITH clock AS (SELECT ${at} AS at), changed AS (
        UPDATE ${t} AS e SET next_attempt_at = clock.at FROM clock
        WHERE e.id = $2 AND e.state = 'retrying'
        RETURNING e.id
      )
      SELECT id FROM changed ${notifyDue}`,
    sweep: `
      WITH clock AS (SELECT ${at} AS at)
      DELETE FROM ${t} WHERE id IN (
        SELECT e.id FROM ${t} AS e, clock
        WHERE e.state = 'processed' AND e.processed_at <= clock.at - $2
        ORDER BY e.processed_at LIMIT $3 FOR UPDATE OF e SKIP LOCKED)`,
  };
  const migrateSql = [
    'BEGIN',
    // Two instances migrating at once would otherwise race on the catalog.
    `SELECT pg_advisory_xact_lock(hashtext('c2p:' || '${table}'))`,
    `CREATE TABLE IF NOT EXISTS ${t} (
      id bigserial PRIMARY KEY,
      key text NOT NULL UNIQUE,
      resource_key text NOT NULL,
      event_type text NOT NULL,
      payload text NOT NULL,
      received_at bigint NOT NULL,
      client_ip text,
      state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'retrying', 'dead', 'processed')),
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at bigint,
      locked_until bigint,
      lease_token text,
      last_error text,
      processed_at bigint,
      unfinished boolean NOT NULL GENERATED ALWAYS AS (state IN ('pending', 'retrying')) STORED
    )`,
    // The lease's scan in arrival order, and its per-resource check: both only
    // over unfinished rows, so processed history does not slow them down.
    `CREATE INDEX IF NOT EXISTS "${table}_due" ON ${t} (id) WHERE ${unfinished}`,
    `CREATE INDEX IF NOT EXISTS "${table}_resource" ON ${t} (resource_key, id) WHERE ${unfinished}`,
    `CREATE INDEX IF NOT EXISTS "${table}_processed" ON ${t} (processed_at) WHERE state = 'processed'`,
    `CREATE INDEX IF NOT EXISTS "${table}_dead" ON ${t} (id) WHERE state = 'dead'`,
    'COMMIT',
  ];

  const unavailable = unavailableWith(pkg, t, 'inbox.migrate');

  const statement = (name: keyof typeof sql, values: unknown[]): QueryConfig => ({
    // Named: each connection parses and plans the statement once.
    name: `c2p_inbox_${name}_${table}`,
    text: sql[name],
    // Statements that read the clock take it as $1.
    values: sql[name].includes('$1::bigint') ? [clock ? clock() : null, ...values] : values,
  });

  const query = async <R extends QueryResultRow>(
    on: Pool | PoolClient,
    config: QueryConfig,
  ): Promise<QueryResult<R>> => {
    try {
      return await on.query<R>(config);
    } catch (cause) {
      throw unavailable(cause);
    }
  };

  const connect = async (pool: Pool): Promise<PoolClient> => {
    try {
      return await checkout(pool);
    } catch (cause) {
      throw unavailable(cause);
    }
  };

  const changed = async (pool: Pool, name: keyof typeof sql, values: unknown[]) =>
    (await query(pool, statement(name, values))).rowCount === 1;

  const verifyDurability = async (): Promise<void> => {
    const result = await query<{ commit: string; fsync: string; standbys: string }>(ingest, {
      text: `SELECT current_setting('synchronous_commit') AS commit, current_setting('fsync') AS fsync,
        current_setting('synchronous_standby_names') AS standbys`,
    });
    const { commit, fsync, standbys } = result.rows[0] ?? {};
    const wrong: string[] = [];
    if (fsync !== 'on') wrong.push(`fsync is ${fsync ?? 'unknown'}, needs on`);
    if (commit === 'local' && standbys !== '') {
      wrong.push(
        'synchronous_commit is local while synchronous_standby_names is set (a failover loses what the standby has not received), needs on',
      );
    } else if (
      commit !== 'local' &&
      !['on', 'remote_write', 'remote_apply'].includes(commit ?? '')
    ) {
      wrong.push(`synchronous_commit is ${commit ?? 'unknown'}, needs on`);
    }
    if (wrong.length > 0) {
      throw new C2pError('STORE_UNAVAILABLE', {
        message: `[${pkg}] PostgreSQL, as the inbox's connections see it, would lose acknowledged deliveries in a crash (${wrong.join('; ')}): the inbox refuses to accept deliveries until this is fixed (in the server's configuration, or ALTER ROLE / ALTER DATABASE ... RESET), or pass durability: 'trust'`,
      });
    }
  };
  // Checked before the first enqueue, again before each one until it passes,
  // and again once a passed check is durabilityCheckMs old.
  let check: { readonly done: Promise<void>; readonly at: number } | undefined;
  const checkDurability = (): Promise<void> => {
    const at = Date.now();
    if (!check || at - check.at >= durabilityCheckMs) {
      const done = verifyDurability();
      check = { done, at };
      done.catch(() => {
        if (check?.done === done) check = undefined;
      });
    }
    return check.done;
  };

  return {
    async enqueue(records: readonly InboxRecord[]): Promise<boolean[]> {
      if (records.length === 0) return [];
      if (durability === 'verify') await checkDurability();
      const result = await query<{ key: string }>(
        ingest,
        statement('enqueue', [
          records.map((r) => r.key),
          records.map((r) => r.resourceKey),
          records.map((r) => r.eventType),
          records.map((r) => r.payload),
          records.map((r) => r.receivedAt),
          records.map((r) => r.clientIp),
        ]),
      );
      // A key repeated within one delivery is inserted once: its first occurrence.
      const inserted = new Set(result.rows.map((row) => row.key));
      return records.map((r) => inserted.delete(r.key));
    },
    async lease(limit, leaseMs): Promise<InboxLease[]> {
      const result = await query<Row & { lease_token: string }>(
        workers,
        statement('lease', [limit, leaseMs]),
      );
      return result.rows
        .sort((a, b) => Number(a.id) - Number(b.id))
        .map((row) => ({ entry: toEntry(row), token: row.lease_token }));
    },
    async renew(id, token, leaseMs) {
      if (!isId(id)) return false;
      const result = await query<{ held: boolean }>(
        workers,
        statement('renew', [id, token, leaseMs]),
      );
      return result.rows[0]?.held === true;
    },
    async complete(id, token) {
      return isId(id) && changed(workers, 'complete', [id, token]);
    },
    async fail(id, token, failure) {
      return (
        isId(id) &&
        changed(workers, 'fail', [
          id,
          token,
          failure.retryAt === null ? null : Math.ceil(failure.retryAt),
          String(failure.error).slice(0, 2000),
        ])
      );
    },
    async completeWithin(id, token, work) {
      if (!isId(id)) return false;
      const client = await connect(workers);
      let broken: Error | undefined;
      try {
        await query(client, { text: 'BEGIN' });
        const owns = await query(client, statement('lock', [id, token]));
        if (owns.rowCount !== 1) {
          broken = await rollback(client);
          return false;
        }
        try {
          await work(client);
        } catch (error) {
          broken = await rollback(client);
          throw error;
        }
        const finished = await query(client, statement('finish', [id, token]));
        if (finished.rowCount !== 1) {
          broken = await rollback(client);
          return false;
        }
        const done = await query(client, { text: 'COMMIT' });
        if (done.command !== 'COMMIT') {
          // A statement inside work failed and the handler caught it: PostgreSQL
          // rolled everything back, which must not pass for success.
          throw new C2pError('STORE_UNAVAILABLE', {
            message: `[${pkg}] the transaction was aborted by a failed statement inside it, so nothing was committed`,
          });
        }
        return true;
      } catch (error) {
        if (error instanceof C2pError && !broken) {
          // The connection may have failed mid-transaction: leave nothing open.
          broken = (await rollback(client)) ?? error;
        }
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async list({ state, limit = 50 }) {
      const result =
        state === 'processed'
          ? await query<Row>(ingest, statement('listProcessed', [limit]))
          : await query<Row>(
              ingest,
              statement(state === 'dead' ? 'listNewest' : 'listOldest', [state, limit]),
            );
      return result.rows.map(toEntry);
    },
    async get(id) {
      if (!isId(id)) return undefined;
      const [row] = (await query<Row>(ingest, statement('get', [id]))).rows;
      return row ? toEntry(row) : undefined;
    },
    async counts() {
      const counts: Record<InboxState, number> = { pending: 0, retrying: 0, dead: 0, processed: 0 };
      const result = await query<{ state: InboxState; n: number }>(ingest, statement('counts', []));
      for (const row of result.rows) counts[row.state] = row.n;
      return counts;
    },
    async replay(id) {
      return isId(id) && changed(ingest, 'replay', [id]);
    },
    async retryNow(id) {
      return isId(id) && changed(ingest, 'retryNow', [id]);
    },
    async sweep() {
      const result = await query(workers, statement('sweep', [retainMs, sweepBatch]));
      return result.rowCount ?? 0;
    },
    async migrate() {
      const client = await connect(ingest);
      let broken: Error | undefined;
      try {
        for (const text of migrateSql) await query(client, { text });
      } catch (error) {
        broken = error instanceof Error ? error : new Error(String(error));
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release(broken);
      }
      if (durability === 'verify') await verifyDurability();
    },
    verifyDurability,
    watch: notifications.watch,
    async close() {
      await notifications.close();
      await Promise.all(ownedPools.splice(0).map((pool) => pool.end()));
    },
  };
}

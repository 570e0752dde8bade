import type { Pool, PoolClient } from 'pg';
import { normalizeOrder, type Order } from '../order.js';
import { createOrderBook, type OrderBook, type OrderQuery, pageOf } from '../order-book.js';

const table = 'reference_orders';

/** Creates the PostgreSQL order table, and adds what an older app's table lacks; safe when several instances start at once. */
export async function migratePostgresOrderBook(pool: Pool): Promise<void> {
  const sql = `CREATE TABLE IF NOT EXISTS ${table} (
    id TEXT PRIMARY KEY,
    doc JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
  );
  ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS merchant_ref TEXT;
  ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS state TEXT;
  ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS unsettled BOOLEAN NOT NULL DEFAULT false;
  UPDATE ${table} SET state = doc->>'state' WHERE state IS NULL AND doc <> 'null'::jsonb;
  CREATE INDEX IF NOT EXISTS ${table}_updated_at ON ${table} (updated_at, id);
  CREATE INDEX IF NOT EXISTS ${table}_merchant_ref ON ${table} (merchant_ref);
  CREATE INDEX IF NOT EXISTS ${table}_unsettled ON ${table} (updated_at, id) WHERE unsettled;`;
  try {
    await pool.query(sql);
  } catch {
    // Two instances creating the table at once: one loses a catalog race; the table exists now.
    await pool.query(sql);
  }
}

type Queryable = Pick<PoolClient, 'query'>;

const isClient = (tx: unknown): tx is PoolClient =>
  typeof (tx as PoolClient | undefined)?.query === 'function';

/** Locks the order's row (creating a placeholder if there is none), changes it, writes it. */
async function change(
  client: Queryable,
  id: string,
  fn: (current: Order | undefined) => Order | undefined,
): Promise<Order | undefined> {
  await client.query(
    `INSERT INTO ${table} (id, doc, updated_at) VALUES ($1, 'null'::jsonb, now()) ON CONFLICT (id) DO NOTHING`,
    [id],
  );
  const { rows } = await client.query<{ doc: Order | null }>(
    `SELECT doc FROM ${table} WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const stored = rows[0]?.doc ?? undefined;
  const next = fn(stored ? normalizeOrder(stored) : undefined);
  if (next) {
    await client.query(
      `UPDATE ${table} SET doc = $2, updated_at = $3, merchant_ref = $4, state = $5, unsettled = $6 WHERE id = $1`,
      [
        next.id,
        JSON.stringify(next),
        next.updatedAt,
        next.merchantTransactionId,
        next.state,
        next.unsettled,
      ],
    );
  }
  return next;
}

/**
 * Changes several orders in the running transaction with four statements
 * whatever their number: placeholders for the missing ones, one locking read
 * (in id order, so two deliveries sharing orders never deadlock), one update.
 */
async function changeEach(
  client: Queryable,
  ids: readonly string[],
  fn: (id: string, current: Order | undefined) => Order | undefined,
): Promise<void> {
  const sorted = [...new Set(ids)].sort();
  await client.query(
    `INSERT INTO ${table} (id, doc, updated_at) SELECT id, 'null'::jsonb, now() FROM unnest($1::text[]) AS id
     ORDER BY id ON CONFLICT (id) DO NOTHING`,
    [sorted],
  );
  const { rows } = await client.query<{ id: string; doc: Order | null }>(
    `SELECT id, doc FROM ${table} WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
    [sorted],
  );
  const stored = new Map(rows.map((row) => [row.id, row.doc]));
  const changed = sorted.flatMap((id) => {
    const doc = stored.get(id);
    const next = fn(id, doc ? normalizeOrder(doc) : undefined);
    return next ? [next] : [];
  });
  if (changed.length === 0) return;
  await client.query(
    `UPDATE ${table} AS o SET doc = c.doc, updated_at = c.updated_at, merchant_ref = c.merchant_ref,
       state = c.state, unsettled = c.unsettled
     FROM unnest($1::text[], $2::jsonb[], $3::timestamptz[], $4::text[], $5::text[], $6::boolean[])
       AS c(id, doc, updated_at, merchant_ref, state, unsettled)
     WHERE o.id = c.id`,
    [
      changed.map((o) => o.id),
      changed.map((o) => JSON.stringify(o)),
      changed.map((o) => o.updatedAt),
      changed.map((o) => o.merchantTransactionId),
      changed.map((o) => o.state),
      changed.map((o) => o.unsettled),
    ],
  );
}

/** Runs `work` in a transaction of its own on the pool; `lazy` commits without waiting for the disk. */
async function inTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  lazy = false,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(lazy ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** A listing's SQL and parameters. */
function listing(query: OrderQuery): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = [`doc <> 'null'::jsonb`];
  if (query.q !== undefined) {
    params.push(query.q);
    where.push(`(id = $${params.length} OR merchant_ref = $${params.length})`);
  }
  if (query.state !== undefined) {
    params.push(query.state);
    where.push(`state = $${params.length}`);
  }
  if (query.after) {
    params.push(query.after.updatedAt, query.after.id);
    const at = `$${params.length - 1}::timestamptz`;
    where.push(`(updated_at < ${at} OR (updated_at = ${at} AND id < $${params.length}))`);
  }
  params.push(query.limit + 1);
  return {
    sql: `SELECT doc FROM ${table} WHERE ${where.join(' AND ')} ORDER BY updated_at DESC, id DESC LIMIT $${params.length}`,
    params,
  };
}

/**
 * The order book in the PostgreSQL database the store uses. A handler's
 * `apply` runs on the store's transaction client, locking the order row, so
 * the fulfilment and the completed key commit together, across any number of
 * instances; what the intake and the worker record runs in a transaction of
 * its own on the pool.
 */
export function createPostgresOrderBook(pool: Pool): OrderBook {
  return createOrderBook({
    async update(id, fn, tx) {
      if (tx !== undefined) {
        if (!isClient(tx)) {
          throw new Error('the PostgreSQL order book must write inside the store transaction');
        }
        return change(tx, id, fn);
      }
      return inTransaction(pool, (client) => change(client, id, fn));
    },
    async updateEach(ids, fn) {
      // What the intake records is rebuilt by the handlers: no wait for the disk.
      await inTransaction(pool, (client) => changeEach(client, ids, fn), true);
    },
    async get(id, tx) {
      const client: Queryable = isClient(tx) ? tx : pool;
      const { rows } = await client.query<{ doc: Order | null }>(
        `SELECT doc FROM ${table} WHERE id = $1`,
        [id],
      );
      const doc = rows[0]?.doc;
      return doc ? normalizeOrder(doc) : undefined;
    },
    async list(query) {
      const { sql, params } = listing(query);
      const { rows } = await pool.query<{ doc: Order }>(sql, params);
      return pageOf(
        rows.map((row) => normalizeOrder(row.doc)),
        query.limit,
      );
    },
    async unsettled({ changedBefore, limit, after }) {
      const { rows } = await pool.query<{ doc: Order }>(
        `SELECT doc FROM ${table} WHERE unsettled AND updated_at <= $1
         AND ($2::timestamptz IS NULL OR updated_at > $2::timestamptz OR (updated_at = $2::timestamptz AND id > $3))
         ORDER BY updated_at, id LIMIT $4`,
        [changedBefore.toISOString(), after?.updatedAt ?? null, after?.id ?? '', limit + 1],
      );
      return pageOf(
        rows.map((row) => normalizeOrder(row.doc)),
        limit,
      );
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  });
}

import type Database from 'better-sqlite3';
import type { Pool, PoolClient } from 'pg';
import type { createClient } from 'redis';
import { applyOrderEvent, type Order, type OrderEvent } from './order.js';

/**
 * The merchant's order book. `apply` is a conditional state transition, keyed
 * by the event's idempotency key, so applying an event twice changes nothing:
 * the store deduplicates, and the book would not double-fulfil even without it.
 */
export interface OrderBook {
  /** Applies one event; `tx` is the store's transaction where there is one. Answers the new order, or `undefined` if unchanged. */
  apply(event: OrderEvent, tx: unknown): Promise<Order | undefined>;
  /**
   * The committed order. `tx`, when given, is the running event's transaction: a
   * book that can read through it without taking a lock does so (PostgreSQL), so a
   * handler holding one pool connection never waits for a second one.
   */
  get(id: string, tx?: unknown): Promise<Order | undefined>;
  /** The most recently changed orders, newest first. */
  recent(limit: number): Promise<Order[]>;
  /** Throws when the book's database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const table = 'reference_orders';

/**
 * The connection a SQLite store's transaction writes through. The store hands
 * handlers `{ db }`, whose getter begins the write transaction on first use,
 * so everything a handler does before touching it (the fulfilment call) holds
 * no lock; older stores handed the connection itself.
 */
function sqliteConnection(tx: unknown): Database.Database | undefined {
  if (tx !== null && typeof tx === 'object') {
    if (typeof (tx as Database.Database).prepare === 'function') return tx as Database.Database;
    const db = (tx as { db?: unknown }).db;
    if (
      db !== null &&
      typeof db === 'object' &&
      typeof (db as Database.Database).prepare === 'function'
    ) {
      return db as Database.Database;
    }
  }
  return undefined;
}

interface SqliteStatements {
  select: Database.Statement<[string], { doc: string }>;
  upsert: Database.Statement<[string, string, string]>;
}

// Prepared once per connection the store's transactions use.
const statements = new WeakMap<Database.Database, SqliteStatements>();

function prepared(db: Database.Database): SqliteStatements {
  let found = statements.get(db);
  if (!found) {
    found = {
      select: db.prepare<[string], { doc: string }>(`SELECT doc FROM ${table} WHERE id = ?`),
      upsert: db.prepare<[string, string, string]>(
        `INSERT INTO ${table} (id, doc, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
      ),
    };
    statements.set(db, found);
  }
  return found;
}

/**
 * The order book in the SQLite file the store uses. `apply` writes through the
 * store's transaction, so the fulfilment and the completed key commit together.
 * Reads use a second, read-only connection and so see committed orders only.
 */
export function createSqliteOrderBook(
  writer: Database.Database,
  reader: Database.Database,
): OrderBook {
  writer.exec(`CREATE TABLE IF NOT EXISTS ${table} (
    id TEXT PRIMARY KEY NOT NULL,
    doc TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS ${table}_updated_at ON ${table} (updated_at);`);
  const readOne = reader.prepare<[string], { doc: string }>(
    `SELECT doc FROM ${table} WHERE id = ?`,
  );
  const readRecent = reader.prepare<[number], { doc: string }>(
    `SELECT doc FROM ${table} ORDER BY updated_at DESC LIMIT ?`,
  );
  return {
    async apply(event, tx) {
      const db = sqliteConnection(tx);
      if (!db) throw new Error('the SQLite order book must write inside the store transaction');
      const { select, upsert } = prepared(db);
      const row = select.get(event.orderId);
      const next = applyOrderEvent(row ? (JSON.parse(row.doc) as Order) : undefined, event);
      if (next) upsert.run(next.id, JSON.stringify(next), next.updatedAt);
      return next;
    },
    async get(id) {
      const row = readOne.get(id);
      return row ? (JSON.parse(row.doc) as Order) : undefined;
    },
    async recent(limit) {
      return readRecent.all(limit).map((row) => JSON.parse(row.doc) as Order);
    },
    async ping() {
      reader.prepare('SELECT 1').get();
    },
    async close() {
      reader.close();
    },
  };
}

/** Creates the PostgreSQL order table; safe when several instances start at once. */
export async function migratePostgresOrderBook(pool: Pool): Promise<void> {
  const sql = `CREATE TABLE IF NOT EXISTS ${table} (
    id TEXT PRIMARY KEY,
    doc JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
  );
  CREATE INDEX IF NOT EXISTS ${table}_updated_at ON ${table} (updated_at);`;
  try {
    await pool.query(sql);
  } catch {
    // Two instances creating the table at once: one loses a catalog race; the table exists now.
    await pool.query(sql);
  }
}

/**
 * The order book in the PostgreSQL database the store uses. `apply` runs on
 * the store's transaction client, locking the order row, so the fulfilment and
 * the completed key commit together, across any number of instances.
 */
export function createPostgresOrderBook(pool: Pool): OrderBook {
  return {
    async apply(event, tx) {
      const client = tx as PoolClient;
      if (typeof client?.query !== 'function') {
        throw new Error('the PostgreSQL order book must write inside the store transaction');
      }
      await client.query(
        `INSERT INTO ${table} (id, doc, updated_at) VALUES ($1, 'null'::jsonb, now()) ON CONFLICT (id) DO NOTHING`,
        [event.orderId],
      );
      const { rows } = await client.query<{ doc: Order | null }>(
        `SELECT doc FROM ${table} WHERE id = $1 FOR UPDATE`,
        [event.orderId],
      );
      const next = applyOrderEvent(rows[0]?.doc ?? undefined, event);
      if (next) {
        await client.query(`UPDATE ${table} SET doc = $2, updated_at = $3 WHERE id = $1`, [
          next.id,
          JSON.stringify(next),
          next.updatedAt,
        ]);
      }
      return next;
    },
    async get(id, tx) {
      const client =
        typeof (tx as PoolClient | undefined)?.query === 'function' ? (tx as PoolClient) : pool;
      const { rows } = await client.query<{ doc: Order | null }>(
        `SELECT doc FROM ${table} WHERE id = $1`,
        [id],
      );
      return rows[0]?.doc ?? undefined;
    },
    async recent(limit) {
      const { rows } = await pool.query<{ doc: Order }>(
        `SELECT doc FROM ${table} WHERE doc <> 'null'::jsonb ORDER BY updated_at DESC LIMIT $1`,
        [limit],
      );
      return rows.map((row) => row.doc);
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
}

type RedisClient = ReturnType<typeof createClient>;

const casScript = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -10001)
return 1`;

/**
 * The order book in Redis, shared by every instance. Redis has no transaction
 * spanning the store's completion, so delivery is at-least-once into the book
 * (a crash between the book's write and the completion means a retry reaches
 * it again) and the book makes that safe: each write is a compare-and-set of
 * the whole order, and the transition ignores an event it has seen.
 */
export function createRedisOrderBook(client: RedisClient, prefix = 'c2p-reference'): OrderBook {
  const orderKey = (id: string): string => `${prefix}:order:${id}`;
  const indexKey = `${prefix}:orders`;
  const read = async (id: string): Promise<string | null> => client.get(orderKey(id));
  return {
    async apply(event) {
      for (let attempt = 0; attempt < 50; attempt++) {
        const before = await read(event.orderId);
        const next = applyOrderEvent(before ? (JSON.parse(before) as Order) : undefined, event);
        if (!next) return undefined;
        const swapped = await client.eval(casScript, {
          keys: [orderKey(next.id), indexKey],
          arguments: [
            before ?? '',
            JSON.stringify(next),
            String(Date.parse(next.updatedAt)),
            next.id,
          ],
        });
        if (swapped === 1) return next;
      }
      throw new Error('the order changed 50 times while applying one event');
    },
    async get(id) {
      const doc = await read(id);
      return doc ? (JSON.parse(doc) as Order) : undefined;
    },
    async recent(limit) {
      const ids = await client.zRange(indexKey, 0, limit - 1, { REV: true });
      if (ids.length === 0) return [];
      const docs = await client.mGet(ids.map(orderKey));
      return docs.flatMap((doc) => (doc ? [JSON.parse(doc) as Order] : []));
    },
    async ping() {
      await client.ping();
    },
    async close() {
      // The client is the store's too: whoever opened it closes it.
    },
  };
}

/**
 * The order book in this process's memory, for `C2P_STORE=memory`: gone at
 * restart, like the memory store's keys, and holding the last `capacity` orders. Each apply runs without awaiting in
 * between, so it is atomic within the process.
 */
export function createMemoryOrderBook(capacity = 10_000): OrderBook {
  // Insertion order is change order: the first key is the least recently changed.
  const orders = new Map<string, Order>();
  return {
    async apply(event) {
      const next = applyOrderEvent(orders.get(event.orderId), event);
      if (next) {
        orders.delete(next.id);
        orders.set(next.id, next);
        if (orders.size > capacity) orders.delete(orders.keys().next().value as string);
      }
      return next;
    },
    async get(id) {
      return orders.get(id);
    },
    async recent(limit) {
      return [...orders.values()].reverse().slice(0, limit);
    },
    async ping() {},
    async close() {
      orders.clear();
    },
  };
}

import Database from 'better-sqlite3';
import type { Pool } from 'pg';
import type { createClient } from 'redis';
import type { DeliveryEntry, DeliveryLogStorage, NewDeliveryEntry } from './delivery-log.js';

const table = 'reference_deliveries';

const parse = (seq: number | string, doc: string | NewDeliveryEntry): DeliveryEntry => ({
  seq: Number(seq),
  ...(typeof doc === 'string' ? (JSON.parse(doc) as NewDeliveryEntry) : doc),
});

/**
 * The log in the store's SQLite file, on a connection of its own: never inside
 * the store's transaction (a rolled-back event must still show its delivery),
 * and never waiting synchronously on another connection's write lock (a short
 * busy timeout, retried asynchronously until `deadlineMs`).
 */
export function createSqliteDeliveryStorage(
  path: string,
  capacity = 500,
  deadlineMs = 10_000,
): DeliveryLogStorage {
  const db = new Database(path);
  db.pragma('busy_timeout = 20');
  // The log shows recent deliveries; the inbox and the store hold what they
  // decided. Its commits need not wait for an fsync, which better-sqlite3 runs
  // on the event loop: under a burst, one per batch of log lines kept every
  // delivery waiting. In WAL mode (the store's file is), NORMAL loses at most
  // the last lines to a power cut, and never corrupts the file.
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc TEXT NOT NULL
  )`);
  const insert = db.prepare<[string]>(`INSERT INTO ${table} (doc) VALUES (?)`);
  const trim = db.prepare<[number]>(
    `DELETE FROM ${table} WHERE seq <= (SELECT seq FROM ${table} ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
  );
  const select = db.prepare<[number], { seq: number; doc: string }>(
    `SELECT seq, doc FROM ${table} ORDER BY seq DESC LIMIT ?`,
  );
  const appendAll = db.transaction((entries: NewDeliveryEntry[]) => {
    for (const entry of entries) insert.run(JSON.stringify(entry));
    trim.run(capacity);
  });
  return {
    async append(entries) {
      const deadline = Date.now() + deadlineMs;
      for (;;) {
        try {
          appendAll.immediate(entries);
          return;
        } catch (error) {
          const busy = (error as { code?: string }).code?.startsWith('SQLITE_BUSY');
          if (!busy || Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
    },
    async recent(limit) {
      return select.all(limit).map((row) => parse(row.seq, row.doc));
    },
    async close() {
      db.close();
    },
  };
}

/** Creates the PostgreSQL delivery table; safe when several instances start at once. */
export async function migratePostgresDeliveryStorage(pool: Pool): Promise<void> {
  const sql = `CREATE TABLE IF NOT EXISTS ${table} (
    seq BIGSERIAL PRIMARY KEY,
    doc JSONB NOT NULL
  )`;
  try {
    await pool.query(sql);
  } catch {
    // Two instances creating the table at once: one loses a catalog race; the table exists now.
    await pool.query(sql);
  }
}

/** The log in the store's PostgreSQL database, shared by every instance. */
export function createPostgresDeliveryStorage(pool: Pool, capacity = 500): DeliveryLogStorage {
  return {
    async append(entries) {
      // One statement: the batch and the trim commit together.
      await pool.query(
        `WITH added AS (
           INSERT INTO ${table} (doc) SELECT value FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(value, n) ORDER BY n
           RETURNING seq
         )
         DELETE FROM ${table} WHERE seq <= (
           SELECT seq FROM (SELECT seq FROM ${table} UNION ALL SELECT seq FROM added) s ORDER BY seq DESC LIMIT 1 OFFSET $2
         )`,
        [JSON.stringify(entries), capacity],
      );
    },
    async recent(limit) {
      const { rows } = await pool.query<{ seq: string; doc: NewDeliveryEntry }>(
        `SELECT seq, doc FROM ${table} ORDER BY seq DESC LIMIT $1`,
        [limit],
      );
      return rows.map((row) => parse(row.seq, row.doc));
    },
    async close() {
      // The pool is the store's: whoever opened it closes it.
    },
  };
}

type RedisClient = ReturnType<typeof createClient>;

/** The log in Redis: a capped list, newest first, numbered by a counter. */
export function createRedisDeliveryStorage(
  client: RedisClient,
  capacity = 500,
  prefix = 'c2p-reference',
): DeliveryLogStorage {
  const listKey = `${prefix}:deliveries`;
  const seqKey = `${prefix}:deliveries:seq`;
  return {
    async append(entries) {
      const last = await client.incrBy(seqKey, entries.length);
      const first = last - entries.length + 1;
      const docs = entries.map((entry, i) => JSON.stringify({ seq: first + i, ...entry }));
      await client
        .multi()
        .lPush(listKey, docs)
        .lTrim(listKey, 0, capacity - 1)
        .exec();
    },
    async recent(limit) {
      const docs = await client.lRange(listKey, 0, limit - 1);
      return docs.map((doc) => JSON.parse(doc) as DeliveryEntry).sort((a, b) => b.seq - a.seq);
    },
    async close() {
      // The client is the store's too: whoever opened it closes it.
    },
  };
}

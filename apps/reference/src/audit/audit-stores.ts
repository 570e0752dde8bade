import Database from 'better-sqlite3';
import type { Pool } from 'pg';
import type { createClient } from 'redis';
import {
  type AuditEntry,
  type AuditStorage,
  auditCapacity,
  type NewAuditEntry,
} from './audit-log.js';

const table = 'reference_audit';

const parse = (seq: number | string, doc: string | NewAuditEntry): AuditEntry => ({
  seq: Number(seq),
  ...(typeof doc === 'string' ? (JSON.parse(doc) as NewAuditEntry) : doc),
});

/**
 * The audit in the store's SQLite file, on a connection of its own (never inside
 * the inbox's transaction), retrying a busy database asynchronously until `deadlineMs`.
 */
export function createSqliteAuditStorage(
  path: string,
  capacity = auditCapacity,
  deadlineMs = 10_000,
): AuditStorage {
  const db = new Database(path);
  db.pragma('busy_timeout = 20');
  db.exec(
    `CREATE TABLE IF NOT EXISTS ${table} (seq INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL)`,
  );
  const insert = db.prepare<[string]>(`INSERT INTO ${table} (doc) VALUES (?)`);
  const trim = db.prepare<[number]>(
    `DELETE FROM ${table} WHERE seq <= (SELECT seq FROM ${table} ORDER BY seq DESC LIMIT 1 OFFSET ?)`,
  );
  const select = db.prepare<[number, number], { seq: number; doc: string }>(
    `SELECT seq, doc FROM ${table} WHERE seq < ? ORDER BY seq DESC LIMIT ?`,
  );
  const add = db.transaction((doc: string) => {
    insert.run(doc);
    trim.run(capacity);
  });
  return {
    async append(entry) {
      const deadline = Date.now() + deadlineMs;
      for (;;) {
        try {
          add.immediate(JSON.stringify(entry));
          return;
        } catch (error) {
          const busy = (error as { code?: string }).code?.startsWith('SQLITE_BUSY');
          if (!busy || Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      }
    },
    async page(limit, after) {
      return select
        .all(after ?? Number.MAX_SAFE_INTEGER, limit)
        .map((row) => parse(row.seq, row.doc));
    },
    async close() {
      db.close();
    },
  };
}

/** Creates the PostgreSQL audit table; safe when several instances start at once. */
export async function migratePostgresAuditStorage(pool: Pool): Promise<void> {
  const sql = `CREATE TABLE IF NOT EXISTS ${table} (seq BIGSERIAL PRIMARY KEY, doc JSONB NOT NULL)`;
  try {
    await pool.query(sql);
  } catch {
    // Two instances creating the table at once: one loses a catalog race; the table exists now.
    await pool.query(sql);
  }
}

/** The audit in the store's PostgreSQL database, shared by every instance. */
export function createPostgresAuditStorage(pool: Pool, capacity = auditCapacity): AuditStorage {
  return {
    async append(entry) {
      await pool.query(
        `WITH added AS (INSERT INTO ${table} (doc) VALUES ($1::jsonb) RETURNING seq)
         DELETE FROM ${table} WHERE seq <= (SELECT max(seq) FROM added) - $2`,
        [JSON.stringify(entry), capacity],
      );
    },
    async page(limit, after) {
      const { rows } = await pool.query<{ seq: string; doc: NewAuditEntry }>(
        `SELECT seq, doc FROM ${table} WHERE seq < $1 ORDER BY seq DESC LIMIT $2`,
        [after ?? Number.MAX_SAFE_INTEGER, limit],
      );
      return rows.map((row) => parse(row.seq, row.doc));
    },
    async close() {
      // The pool is the store's: whoever opened it closes it.
    },
  };
}

type RedisClient = ReturnType<typeof createClient>;

/** The audit in Redis: a sorted set scored by a counter, capped. */
export function createRedisAuditStorage(
  client: RedisClient,
  prefix = 'c2p-reference',
  capacity = auditCapacity,
): AuditStorage {
  const setKey = `${prefix}:audit`;
  const seqKey = `${prefix}:audit:seq`;
  return {
    async append(entry) {
      const seq = await client.incr(seqKey);
      await client
        .multi()
        .zAdd(setKey, { score: seq, value: JSON.stringify({ seq, ...entry }) })
        .zRemRangeByRank(setKey, 0, -(capacity + 1))
        .exec();
    },
    async page(limit, after) {
      const docs = await client.zRange(setKey, after === undefined ? '+inf' : `(${after}`, '-inf', {
        BY: 'SCORE',
        REV: true,
        LIMIT: { offset: 0, count: limit },
      });
      return docs.map((doc) => JSON.parse(doc) as AuditEntry);
    },
    async close() {
      // The client is the store's too: whoever opened it closes it.
    },
  };
}

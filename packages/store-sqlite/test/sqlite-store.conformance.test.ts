import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStoreConformance } from '@c2p/testing/store-conformance';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { createSqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'c2p-sqlite-'));
const file = join(dir, 'store.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const withDb = <T>(fn: (db: Database.Database) => T): T => {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
};

describeStoreConformance('sqlite', {
  clock: 'injected',
  createStore: ({ prefix, now }) => {
    // NORMAL: these cases are about semantics and process crashes, which NORMAL
    // survives too; FULL's fsync per commit would only make them slow.
    const store = createSqliteStore({ database: file, table: prefix, now, synchronous: 'NORMAL' });
    withDb((db) => db.exec(`CREATE TABLE IF NOT EXISTS ${prefix}_orders (id TEXT PRIMARY KEY)`));
    return store;
  },
  // A missing directory is created, so the unreachable path goes through a file.
  unreachable: () => {
    writeFileSync(join(dir, 'a-file'), '');
    return createSqliteStore({ database: join(dir, 'a-file', 'store.db') });
  },
  crossProcess: {
    module: new URL('./fixtures/sqlite-child.mjs', import.meta.url),
    args: ({ prefix }) => ({ file, table: prefix }),
  },
  transactional: {
    write: (tx, id, { prefix }) => {
      tx.db.prepare(`INSERT INTO ${prefix}_orders (id) VALUES (?)`).run(id);
    },
    exists: (id, { prefix }) =>
      withDb(
        (db) => db.prepare(`SELECT 1 FROM ${prefix}_orders WHERE id = ?`).get(id) !== undefined,
      ),
  },
});

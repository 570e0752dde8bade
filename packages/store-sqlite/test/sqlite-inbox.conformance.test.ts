import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeInboxConformance } from '@c2p/testing/inbox-conformance';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { createSqliteInbox } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'c2p-sqlite-inbox-conformance-'));
const file = join(dir, 'inbox.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const withDb = <T>(fn: (db: Database.Database) => T): T => {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
};

describeInboxConformance('sqlite', {
  durable: true,
  createInbox: ({ prefix, now, retainMs }) => {
    const inbox = createSqliteInbox({ database: file, table: prefix, now, retainMs });
    withDb((db) => db.exec(`CREATE TABLE IF NOT EXISTS ${prefix}_orders (id TEXT PRIMARY KEY)`));
    return inbox;
  },
  // A missing directory is created, so the unreachable path goes through a file.
  unreachable: () => {
    writeFileSync(join(dir, 'a-file'), '');
    return createSqliteInbox({ database: join(dir, 'a-file', 'inbox.db') });
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

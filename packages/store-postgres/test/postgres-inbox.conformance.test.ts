import { describeInboxConformance } from '@c2p/testing/inbox-conformance';
import pg from 'pg';
import { afterAll } from 'vitest';
import { createPostgresInbox } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const admin = new pg.Pool({ connectionString: url, max: 2 });
admin.on('error', () => undefined);
const tables = new Set<string>();
afterAll(async () => {
  for (const table of tables) {
    await admin
      .query(`DROP TABLE IF EXISTS ${table}, ${table}_orders, ${table}_settings, ${table}_counts`)
      .catch(() => undefined);
  }
  await admin.end();
});

describeInboxConformance('postgres', {
  durable: true,
  async createInbox({ prefix, now, retainMs }) {
    tables.add(prefix);
    const inbox = createPostgresInbox({
      connection: url,
      table: prefix,
      now,
      retainMs,
      max: 4,
      workerMax: 4,
    });
    await inbox.migrate();
    await admin.query(`CREATE TABLE IF NOT EXISTS ${prefix}_orders (id text PRIMARY KEY)`);
    return inbox;
  },
  unreachable: () =>
    createPostgresInbox({
      connection: 'postgres://postgres@127.0.0.1:1/c2p',
      connectionTimeoutMs: 2000,
    }),
  transactional: {
    write: async (tx, id, { prefix }) => {
      await tx.query(`INSERT INTO ${prefix}_orders (id) VALUES ($1)`, [id]);
    },
    exists: async (id, { prefix }) => {
      const result = await admin.query(`SELECT 1 FROM ${prefix}_orders WHERE id = $1`, [id]);
      return result.rowCount === 1;
    },
  },
});

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describeStoreConformance } from '@c2p/testing/store-conformance';
import pg from 'pg';
import { afterAll } from 'vitest';
import { createPostgresStore } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const admin = new pg.Pool({ connectionString: url, max: 2 });
admin.on('error', () => undefined);
const tables: string[] = [];
afterAll(async () => {
  for (const table of tables) {
    await admin.query(`DROP TABLE IF EXISTS ${table}, ${table}_orders`).catch(() => undefined);
  }
  await admin.end();
});

const services = fileURLToPath(new URL('../../../scripts/services.mjs', import.meta.url));

describeStoreConformance('postgres', {
  clock: 'injected',
  async createStore({ prefix, now }) {
    tables.push(prefix);
    const store = createPostgresStore({ connection: url, table: prefix, now });
    await store.migrate();
    await admin.query(`CREATE TABLE IF NOT EXISTS ${prefix}_orders (id text PRIMARY KEY)`);
    return store;
  },
  unreachable: () =>
    createPostgresStore({
      connection: 'postgres://postgres@127.0.0.1:1/c2p',
      connectionTimeoutMs: 2000,
    }),
  restartServer: async () => {
    await promisify(execFile)(process.execPath, [services, 'restart', 'postgres']);
  },
  crossProcess: {
    module: new URL('./fixtures/postgres-child.mjs', import.meta.url),
    async args({ prefix }) {
      tables.push(prefix);
      const store = createPostgresStore({ connection: url, table: prefix });
      await store.migrate();
      await store.close();
      return { url, table: prefix };
    },
  },
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

import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type AuditStorage,
  createMemoryAuditStorage,
  type NewAuditEntry,
} from '../src/audit/audit-log.js';
import {
  createPostgresAuditStorage,
  createRedisAuditStorage,
  createSqliteAuditStorage,
  migratePostgresAuditStorage,
} from '../src/audit/audit-stores.js';
import { serviceUrl, tempDir } from './support/reference.js';

const entry = (status: number): NewAuditEntry => ({
  at: new Date().toISOString(),
  action: 'replay',
  target: `inbox:${status}`,
  outcome: status === 200 ? 'ok' : 'refused',
  status,
  code: status === 200 ? null : 'CROSS_ORIGIN',
  remoteAddress: '127.0.0.1',
});

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

// Each storage gets a fresh place: a new file, a new PostgreSQL schema, a new Redis prefix.
const storages: Array<[string, (capacity: number) => Promise<AuditStorage>]> = [
  ['memory', async (capacity) => createMemoryAuditStorage(capacity)],
  [
    'sqlite',
    async (capacity) => {
      const dir = tempDir();
      cleanups.push(async () => dir.remove());
      return createSqliteAuditStorage(`${dir.path}/reference.db`, capacity);
    },
  ],
  [
    'postgres',
    async (capacity) => {
      const schema = `audit_${crypto.randomUUID().replaceAll('-', '')}`;
      const admin = new pg.Pool({ connectionString: serviceUrl('C2P_TEST_POSTGRES_URL'), max: 1 });
      await admin.query(`CREATE SCHEMA ${schema}`);
      const pool = new pg.Pool({
        connectionString: serviceUrl('C2P_TEST_POSTGRES_URL'),
        options: `-c search_path=${schema}`,
      });
      await migratePostgresAuditStorage(pool);
      cleanups.push(async () => {
        await pool.end();
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      });
      return createPostgresAuditStorage(pool, capacity);
    },
  ],
  [
    'redis',
    async (capacity) => {
      const client = createClient({ url: serviceUrl('C2P_TEST_REDIS_URL') });
      await client.connect();
      const prefix = `c2p-reference-test:${crypto.randomUUID()}`;
      cleanups.push(async () => {
        await client.del([`${prefix}:audit`, `${prefix}:audit:seq`]);
        await client.close();
      });
      return createRedisAuditStorage(client, prefix, capacity);
    },
  ],
];

describe.each(storages)('the audit in %s', (_name, open) => {
  it('pages newest first through `after`, and keeps only the newest `capacity`', async () => {
    const storage = await open(4);
    expect(await storage.page(10, undefined)).toEqual([]);
    for (const status of [200, 401, 403, 421, 200]) await storage.append(entry(status));
    const first = await storage.page(2, undefined);
    expect(first.map((e) => e.status)).toEqual([200, 421]);
    expect(first[0]).toMatchObject({
      action: 'replay',
      target: 'inbox:200',
      outcome: 'ok',
      code: null,
    });
    const second = await storage.page(2, first[1]?.seq);
    expect(second.map((e) => e.status)).toEqual([403, 401]);
    // The oldest of five is gone: four are kept.
    expect(await storage.page(2, second[1]?.seq)).toEqual([]);
    expect((await storage.page(10, undefined)).map((e) => e.seq)).toEqual(
      [...first, ...second].map((e) => e.seq),
    );
    await storage.close();
  });
});

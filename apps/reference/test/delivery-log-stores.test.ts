import type { DeliveryReport } from '@c2p/core';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DeliveryLogStorage,
  type NewDeliveryEntry,
  toDeliveryEntry,
} from '../src/delivery-log.js';
import {
  createPostgresDeliveryStorage,
  createRedisDeliveryStorage,
  createSqliteDeliveryStorage,
  migratePostgresDeliveryStorage,
} from '../src/delivery-log-stores.js';
import { serviceUrl, tempDir } from './support/reference.js';

const entry = (status: number): NewDeliveryEntry => {
  const report: DeliveryReport = {
    status,
    code: undefined,
    step: 'events',
    clientIp: '127.0.0.1',
    events: [],
  };
  return toDeliveryEntry('express', report);
};

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

// Each storage gets a fresh place: a new file, a new PostgreSQL schema, a new Redis prefix.
const storages: Array<[string, (capacity: number) => Promise<DeliveryLogStorage>]> = [
  [
    'sqlite',
    async (capacity) => {
      const dir = tempDir();
      const path = `${dir.path}/reference.db`;
      new Database(path).pragma('journal_mode = WAL');
      cleanups.push(async () => dir.remove());
      return createSqliteDeliveryStorage(path, capacity);
    },
  ],
  [
    'postgres',
    async (capacity) => {
      const schema = `log_${crypto.randomUUID().replaceAll('-', '')}`;
      const admin = new pg.Pool({ connectionString: serviceUrl('C2P_TEST_POSTGRES_URL'), max: 1 });
      await admin.query(`CREATE SCHEMA ${schema}`);
      const pool = new pg.Pool({
        connectionString: serviceUrl('C2P_TEST_POSTGRES_URL'),
        options: `-c search_path=${schema}`,
      });
      await migratePostgresDeliveryStorage(pool);
      cleanups.push(async () => {
        await pool.end();
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      });
      return createPostgresDeliveryStorage(pool, capacity);
    },
  ],
  [
    'redis',
    async (capacity) => {
      const client = createClient({ url: serviceUrl('C2P_TEST_REDIS_URL') });
      await client.connect();
      const prefix = `c2p-reference-test:${crypto.randomUUID()}`;
      cleanups.push(async () => {
        await client.del([`${prefix}:deliveries`, `${prefix}:deliveries:seq`]);
        await client.close();
      });
      return createRedisDeliveryStorage(client, capacity, prefix);
    },
  ],
];

describe.each(storages)('the delivery log in %s', (_name, open) => {
  it('answers newest first, numbered in order, and keeps only the newest `capacity`', async () => {
    const storage = await open(3);
    expect(await storage.recent(10)).toEqual([]);
    await storage.append([entry(201), entry(202)]);
    await storage.append([entry(203)]);
    await storage.append([entry(204), entry(205)]);
    const recent = await storage.recent(10);
    expect(recent.map((e) => e.status)).toEqual([205, 204, 203]);
    expect(recent[0]?.seq).toBeGreaterThan(recent[1]?.seq as number);
    expect(recent[1]?.seq).toBeGreaterThan(recent[2]?.seq as number);
    expect(recent[0]).toMatchObject({
      listener: 'express',
      step: 'events',
      clientIp: '127.0.0.1',
    });
    expect((await storage.recent(1)).map((e) => e.status)).toEqual([205]);
    await storage.close();
  });
});

import { randomBytes } from 'node:crypto';
import { isC2pError } from '@c2p/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { PostgresStoreOptions } from '../src/index.js';
import { createPostgresStore } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const pool = new pg.Pool({ connectionString: url, max: 4 });
pool.on('error', () => undefined);
const table = `c2p_${randomBytes(6).toString('hex')}`;
afterAll(async () => {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.end();
});

describe('createPostgresStore', () => {
  it.each([
    [{ table: 'x"; DROP TABLE y; --' }, 'options.table'],
    [{ max: 0 }, 'options.max'],
    [{ connectionTimeoutMs: -5 }, 'options.connectionTimeoutMs'],
    [{ sweepEvery: 0.5 }, 'options.sweepEvery'],
    [{ lockTimeoutMs: 0 }, 'options.lockTimeoutMs'],
    [{ connection: '' }, 'options.connection'],
    [{ connection: { query: 1 } }, 'options.connection'],
  ])('rejects %o naming %s', (bad, path) => {
    const options = { connection: url, ...bad } as unknown as PostgresStoreOptions;
    const error = (() => {
      try {
        createPostgresStore(options);
      } catch (e) {
        return e;
      }
    })();
    expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toContain(`[@c2p/store-postgres] ${path}:`);
  });

  it('says to run migrate() when its table is missing, as STORE_UNAVAILABLE', async () => {
    const store = createPostgresStore({ connection: pool, table: `${table}_missing` });
    const error = await store.claim('k', 1000).catch((e: unknown) => e);
    expect(isC2pError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain('run store.migrate()');
  });

  it('migrates idempotently, works on a pool passed in, and leaves that pool open', async () => {
    const store = createPostgresStore({ connection: pool, table });
    await Promise.all([store.migrate(), store.migrate()]);
    await store.migrate();
    const claim = await store.claim('k', 60_000);
    expect(claim.status).toBe('acquired');
    await store.close();
    const rows = await pool.query(`SELECT key, completed FROM ${table}`);
    expect(rows.rows).toEqual([{ key: 'k', completed: false }]);
  });

  it('sweeps expired keys in bounded batches, and by itself every sweepEvery claims', async () => {
    let time = 5_000_000;
    const sweepTable = `${table}_sweep`;
    const store = createPostgresStore({
      connection: pool,
      table: sweepTable,
      now: () => time,
      sweepEvery: 10,
    });
    await store.migrate();
    try {
      for (let i = 0; i < 9; i++) await store.claim(`old-${i}`, 100);
      time += 101;
      await store.claim('new', 100_000); // the 10th claim sweeps, off the delivery's path
      const count = async (): Promise<number> =>
        Number((await pool.query(`SELECT count(*) AS c FROM ${sweepTable}`)).rows[0].c);
      await expect.poll(count).toBe(1);
      time += 200_000;
      expect(await store.sweep()).toBe(1);
      expect(await count()).toBe(0);
    } finally {
      await pool.query(`DROP TABLE IF EXISTS ${sweepTable}`);
    }
  });
});

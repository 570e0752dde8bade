// The edges of the PostgreSQL store's rules: every option's bounds and message,
// the exact end of a lease or a retention, the sweep's batch and counter, a
// closed store. Found by mutation testing (`npm run mutation -- store-postgres`).
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
const tables: string[] = [];
afterAll(async () => {
  for (const table of tables) await pool.query(`DROP TABLE IF EXISTS "${table}"`);
  await pool.end();
});
const fresh = (): string => {
  const table = `c2p_${randomBytes(6).toString('hex')}`;
  tables.push(table);
  return table;
};

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
};

describe('createPostgresStore options', () => {
  it.each([
    ['x', true],
    ['_9', true],
    ['Webhook_Keys_2', true],
    [`c${'a'.repeat(50)}`, true],
    [`c${'a'.repeat(51)}`, false],
    ['9a', false],
    ['a b', false],
    ['', false],
    [42, false],
  ])('a table named %j is accepted: %s', (table, ok) => {
    const create = () =>
      createPostgresStore({ connection: pool, table } as unknown as PostgresStoreOptions);
    if (ok) {
      expect(create()).toBeDefined();
      return;
    }
    const error = thrown(create);
    expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toBe(
      `[@c2p/store-postgres] options.table: "${String(table)}" must be 1 to 51 letters, digits or _, not starting with a digit`,
    );
  });

  it('migrates and works under a table name of the longest length', async () => {
    const table = `c${randomBytes(25).toString('hex')}`;
    tables.push(table);
    const store = createPostgresStore({ connection: pool, table });
    await store.migrate();
    expect((await store.claim('k', 1000)).status).toBe('acquired');
  });

  it.each([
    [{ max: 0 }, 'options.max: must be a positive integer'],
    [{ connectionTimeoutMs: -1 }, 'options.connectionTimeoutMs: must be a non-negative integer'],
    [{ sweepEvery: -1 }, 'options.sweepEvery: must be a non-negative integer'],
    [{ lockTimeoutMs: 0 }, 'options.lockTimeoutMs: must be a positive integer'],
    [{ connection: '' }, 'options.connection: is an empty connection string'],
    [{ connection: null }, 'options.connection: must be a connection string or a pg Pool'],
    [{ connection: 42 }, 'options.connection: must be a connection string or a pg Pool'],
    [{ connection: {} }, 'options.connection: must be a connection string or a pg Pool'],
    [
      { connection: { query: () => undefined } },
      'options.connection: must be a connection string or a pg Pool',
    ],
    [
      { connection: { connect: () => undefined } },
      'options.connection: must be a connection string or a pg Pool',
    ],
  ])('refuses %o with its message', (bad, message) => {
    const error = thrown(() =>
      createPostgresStore({ connection: url, ...bad } as unknown as PostgresStoreOptions),
    );
    expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toBe(`[@c2p/store-postgres] ${message}`);
  });

  it('accepts 0 for connectionTimeoutMs and sweepEvery, and a pool-like object', async () => {
    const table = fresh();
    const store = createPostgresStore({
      connection: url,
      table,
      connectionTimeoutMs: 0,
      sweepEvery: 0,
      max: 1,
      lockTimeoutMs: 1,
    });
    await store.migrate();
    expect((await store.claim('k', 1000)).status).toBe('acquired');
    await store.close();
    const like = {
      connect: () => pool.connect(),
      query: (...args: unknown[]) => (pool.query as (...a: unknown[]) => unknown)(...args),
    };
    const other = createPostgresStore({ connection: like as unknown as pg.Pool, table });
    expect(await other.claim('k', 1000)).toEqual({ status: 'in_progress' });
  });
});

describe('the store at the exact end of a lease or a retention', () => {
  it('holds a lease until its last millisecond, and frees the key at its end', async () => {
    let time = 1_000_000;
    const store = createPostgresStore({ connection: pool, table: fresh(), now: () => time });
    await store.migrate();
    const { token } = (await store.claim('k', 100)) as { token: string };
    time += 99;
    expect(await store.claim('k', 100)).toEqual({ status: 'in_progress' });
    let ran = false;
    time += 1;
    expect(
      await store.completeWithin('k', token, 1000, async () => {
        ran = true;
      }),
    ).toBe(false);
    expect(ran).toBe(false);
    expect(await store.complete('k', token, 1000)).toBe(false);
    expect(await store.release('k', token)).toBe(false);
    expect((await store.claim('k', 100)).status).toBe('acquired');
  });

  it('answers duplicate to processOnce until the retention ends, then processes again', async () => {
    let time = 1_000_000;
    const store = createPostgresStore({ connection: pool, table: fresh(), now: () => time });
    await store.migrate();
    let runs = 0;
    const work = async (): Promise<void> => {
      runs++;
    };
    expect(await store.processOnce('k', 500, work)).toBe('processed');
    time += 499;
    expect(await store.processOnce('k', 500, work)).toBe('duplicate');
    expect(await store.claim('k', 100)).toEqual({ status: 'completed' });
    time += 1;
    expect(await store.processOnce('k', 500, work)).toBe('processed');
    expect(runs).toBe(2);
  });
});

describe('the store sweeps', () => {
  const count = async (table: string): Promise<number> =>
    Number((await pool.query(`SELECT count(*) AS c FROM "${table}"`)).rows[0].c);

  it('by itself once every sweepEvery claims, at most sweepEvery keys, counting again after each sweep', async () => {
    let time = 1_000_000;
    const table = fresh();
    const store = createPostgresStore({
      connection: pool,
      table,
      now: () => time,
      sweepEvery: 3,
    });
    await store.migrate();
    // Claims 1 to 3: the 3rd sweeps (nothing has expired yet), and the count starts again.
    for (const key of ['o1', 'o2', 'o3', 'o4', 'o5']) await store.claim(key, 10);
    time += 10;
    await expect.poll(() => count(table)).toBe(5);
    await store.claim('n1', 60_000); // the 3rd claim since that sweep: sweeps 3 of the 5 expired
    await expect.poll(() => count(table)).toBe(3);
    await store.claim('n2', 60_000); // the 1st since
    // Give a wrong sweep the time to land.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await count(table)).toBe(4);
    expect(await store.sweep()).toBe(2);
    expect(await store.sweep()).toBe(0);
  });

  it('never by itself with sweepEvery 0, and then up to 1,000 keys a sweep', async () => {
    const time = 1_000_000;
    const table = fresh();
    const store = createPostgresStore({
      connection: pool,
      table,
      now: () => time,
      sweepEvery: 0,
    });
    await store.migrate();
    await pool.query(
      `INSERT INTO "${table}" (key, token, completed, expires_at)
       SELECT 'k' || i, 't', true, $1 FROM generate_series(1, 1005) AS i`,
      [time - 1],
    );
    for (let i = 0; i < 5; i++) await store.claim(`new${i}`, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await count(table)).toBe(1010);
    expect(await store.sweep()).toBe(1000);
    expect(await store.sweep()).toBe(5);
    expect(await count(table)).toBe(5);
  });
});

describe('what the first mutation run left alive', () => {
  it('refuses a table name that is not a string, even one that prints as a valid name', () => {
    const error = thrown(() =>
      createPostgresStore({
        connection: pool,
        table: ['webhooks'],
      } as unknown as PostgresStoreOptions),
    );
    expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
  });

  it('migrate() creates the expiry index the sweep uses', async () => {
    const table = fresh();
    await createPostgresStore({ connection: pool, table }).migrate();
    const { rows } = await pool.query('SELECT indexname FROM pg_indexes WHERE tablename = $1', [
      table,
    ]);
    expect(rows.map((r) => r.indexname).sort()).toEqual([`${table}_expires_at`, `${table}_pkey`]);
  });

  it('fails processOnce on a missing table with STORE_UNAVAILABLE naming migrate, not in_progress', async () => {
    const store = createPostgresStore({ connection: pool, table: `${fresh()}_never` });
    const error = await store
      .processOnce('k', 1000, async () => undefined)
      .catch((e: unknown) => e);
    expect(isC2pError(error, 'STORE_UNAVAILABLE'), String(error)).toBe(true);
    expect((error as Error).message).toContain('does not exist: run store.migrate()');
  });

  it('does not blame a missing table when the server cannot be reached', async () => {
    const store = createPostgresStore({
      connection: 'postgres://postgres@127.0.0.1:1/c2p',
      connectionTimeoutMs: 2000,
    });
    const error = await store.claim('k', 1000).catch((e: unknown) => e);
    expect(isC2pError(error, 'STORE_UNAVAILABLE'), String(error)).toBe(true);
    expect((error as Error).message).not.toContain('does not exist');
    await store.close();
  });

  it('says why nothing was committed when a statement inside the work failed and the work swallowed it', async () => {
    const store = createPostgresStore({ connection: pool, table: fresh() });
    await store.migrate();
    const error = await store
      .processOnce('k', 60_000, async (client) => {
        await client.query('SELECT 1/0').catch(() => undefined);
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      '[@c2p/store-postgres] the transaction was aborted by a failed statement inside it, so nothing was committed',
    );
  });
});

describe('closing', () => {
  it('ends the pool it opened: every later operation fails with STORE_UNAVAILABLE', async () => {
    const table = fresh();
    const store = createPostgresStore({ connection: url, table });
    await store.migrate();
    await store.close();
    const failures = await Promise.allSettled([
      store.claim('k', 1000),
      store.processOnce('k', 1000, async () => undefined),
      store.completeWithin('k', 't', 1000, async () => undefined),
    ]);
    for (const failure of failures) {
      expect(failure.status).toBe('rejected');
      const error = (failure as PromiseRejectedResult).reason;
      expect(isC2pError(error, 'STORE_UNAVAILABLE'), String(error)).toBe(true);
    }
  });
});

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { isC2pError } from '@c2p/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const admin = new pg.Pool({ connectionString: url, max: 4 });
admin.on('error', () => undefined);
const tables: string[] = [];
const stores: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.allSettled(stores.map((s) => s.close()));
  for (const table of tables) {
    await admin
      .query(`DROP TABLE IF EXISTS ${table}, ${table}_orders, ${table}_settings, ${table}_counts`)
      .catch(() => undefined);
  }
  await admin.end();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh store on its own table, with an orders table (no unique key, so doubles would show). */
async function fresh(options: { lockTimeoutMs?: number; max?: number } = {}) {
  const table = `c2p_${randomBytes(6).toString('hex')}`;
  tables.push(table);
  const store = createPostgresStore({ connection: url, table, ...options });
  stores.push(store);
  await store.migrate();
  await admin.query(`CREATE TABLE ${table}_orders (key text NOT NULL)`);
  const orders = async (key?: string): Promise<number> => {
    const result = key
      ? await admin.query(`SELECT count(*)::int AS n FROM ${table}_orders WHERE key = $1`, [key])
      : await admin.query(`SELECT count(*)::int AS n FROM ${table}_orders`);
    return result.rows[0].n as number;
  };
  const write = (key: string) => async (client: pg.PoolClient) => {
    await client.query(`INSERT INTO ${table}_orders (key) VALUES ($1)`, [key]);
  };
  return { table, store, orders, write };
}

describe('processOnce (PostgreSQL)', () => {
  it('commits the work with the key, then answers duplicate without running work', async () => {
    const { store, orders, write } = await fresh();
    expect(await store.processOnce('a', 60_000, write('a'))).toBe('processed');
    let ran = false;
    expect(
      await store.processOnce('a', 60_000, async () => {
        ran = true;
      }),
    ).toBe('duplicate');
    expect(ran).toBe(false);
    expect(await orders('a')).toBe(1);
    // The claim API sees the same completed key.
    expect(await store.claim('a', 1000)).toEqual({ status: 'completed' });
  });

  it('rolls the work and the key back when work throws, rethrows it, and the next call processes', async () => {
    const { store, orders, write } = await fresh();
    const boom = new Error('handler failed');
    await expect(
      store.processOnce('a', 60_000, async (client) => {
        await write('a')(client);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await orders('a')).toBe(0);
    expect(await store.processOnce('a', 60_000, write('a'))).toBe('processed');
    expect(await orders('a')).toBe(1);
  });

  it('never answers processed when a statement inside work failed and work swallowed it', async () => {
    const { store, orders, write } = await fresh();
    const result = await store
      .processOnce('a', 60_000, async (client) => {
        await write('a')(client);
        await client.query('SELECT 1/0').catch(() => undefined);
      })
      .catch((e: unknown) => e);
    expect(isC2pError(result, 'STORE_UNAVAILABLE')).toBe(true);
    expect(await orders('a')).toBe(0);
    expect(await store.processOnce('a', 60_000, write('a'))).toBe('processed');
  });

  it('runs work once when 20 deliveries of one key race: the others wait, then answer duplicate', async () => {
    const { store, orders, table } = await fresh({ max: 24 });
    let runs = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        store.processOnce('hot', 60_000, async (client) => {
          runs++;
          await client.query(`INSERT INTO ${table}_orders (key) VALUES ('hot')`);
          await sleep(200);
        }),
      ),
    );
    expect(runs).toBe(1);
    expect(results.filter((r) => r === 'processed')).toHaveLength(1);
    expect(results.filter((r) => r === 'duplicate')).toHaveLength(19);
    expect(await orders('hot')).toBe(1);
  });

  it('answers in_progress after lockTimeoutMs, and lets the waiter process if the owner rolls back', async () => {
    const { store, orders, write } = await fresh({ lockTimeoutMs: 200 });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => {
      started = resolve;
    });
    const owner = store.processOnce('a', 60_000, async (client) => {
      await write('a')(client);
      started();
      await held;
      throw new Error('owner failed');
    });
    await inside;
    const t0 = performance.now();
    expect(await store.processOnce('a', 60_000, write('a'))).toBe('in_progress');
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(150);
    expect(waited).toBeLessThan(3000);
    // A waiter inside its bound takes over as soon as the owner rolls back.
    const waiter = store.processOnce('a', 60_000, write('a'));
    await sleep(50);
    release();
    await expect(owner).rejects.toThrow('owner failed');
    expect(await waiter).toBe('processed');
    expect(await orders('a')).toBe(1);
  });

  it("bounds only the duplicate's wait: work's own lock waits keep the session's lock_timeout", async () => {
    const { store } = await fresh({ lockTimeoutMs: 123 });
    let inside = '';
    await store.processOnce('a', 60_000, async (client) => {
      inside = (await client.query('SHOW lock_timeout')).rows[0].lock_timeout;
    });
    expect(inside).toBe('0');
  });

  it('takes over a claim that never completed (a crashed owner of the claim API) and fences that owner off', async () => {
    const { store, orders, write } = await fresh();
    const claim = await store.claim('a', 600_000);
    if (claim.status !== 'acquired') throw new Error(claim.status);
    expect(await store.processOnce('a', 60_000, write('a'))).toBe('processed');
    expect(await store.completeWithin('a', claim.token, 60_000, write('a'))).toBe(false);
    expect(await store.complete('a', claim.token, 60_000)).toBe(false);
    expect(await orders('a')).toBe(1);
  });

  it('processes a key again once its retention has ended', async () => {
    let time = 1_000_000;
    const table = `c2p_${randomBytes(6).toString('hex')}`;
    tables.push(table);
    const store = createPostgresStore({ connection: url, table, now: () => time });
    stores.push(store);
    await store.migrate();
    const work = async (): Promise<void> => undefined;
    expect(await store.processOnce('a', 1000, work)).toBe('processed');
    time += 999;
    expect(await store.processOnce('a', 1000, work)).toBe('duplicate');
    time += 2;
    expect(await store.processOnce('a', 1000, work)).toBe('processed');
  });

  it('leaves nothing behind when a listener process is SIGKILLed inside work, so the next delivery processes at once', async () => {
    const { table, store, orders, write } = await fresh();
    const keys = Array.from({ length: 400 }, (_, i) => `k-${i}`);
    let kills = 0;
    let insideAtKill = 0;
    const afterKillMs: number[] = [];
    for (let round = 0; round < 6; round++) {
      const stopAt = 1 + Math.floor(Math.random() * 30);
      const child = spawn(process.execPath, ['fixtures/process-once-child.mjs'], {
        cwd: new URL('.', import.meta.url).pathname,
        env: { ...process.env, C2P_CHILD_ARGS: JSON.stringify({ url, table, keys, stopAt }) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
      });
      const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
      // Kill it while it is inside a handler: after its write, before its commit.
      const killedInside = await new Promise<string | undefined>((resolve) => {
        let seen = 0;
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const lines = out.split('\n');
          out = lines.pop() ?? '';
          for (const line of lines) {
            if (line.startsWith('inside ') && ++seen === stopAt) {
              child.kill('SIGKILL');
              resolve(line.slice('inside '.length));
            }
            if (line === 'done') resolve(undefined);
          }
        });
        child.on('close', () => resolve(undefined));
      });
      await exited;
      if (!killedInside) throw new Error(`child ended without being killed: ${err}`);
      kills++;
      // Its uncommitted write and key are gone; the next delivery processes it at once.
      if ((await orders(killedInside)) === 0) insideAtKill++;
      const t0 = performance.now();
      expect(await store.processOnce(killedInside, 600_000, write(killedInside))).toBe('processed');
      afterKillMs.push(performance.now() - t0);
    }
    // Every key: processed now or a duplicate, and each order written exactly once.
    const results = await Promise.all(keys.map((k) => store.processOnce(k, 600_000, write(k))));
    const doubled = await admin.query(
      `SELECT key FROM ${table}_orders GROUP BY key HAVING count(*) > 1`,
    );
    expect(doubled.rows).toEqual([]);
    expect(await orders()).toBe(keys.length);
    const slowest = Math.max(...afterKillMs);
    console.info(
      `[store-postgres] processOnce SIGKILL: ${kills} kills inside a handler, ${insideAtKill} killed writes rolled back, ` +
        `next delivery processed in at most ${slowest.toFixed(0)} ms; ${results.filter((r) => r === 'duplicate').length} keys already done, ` +
        `${results.filter((r) => r === 'processed').length} processed after; 0 doubled, 0 lost`,
    );
    expect(insideAtKill).toBe(kills);
    expect(slowest).toBeLessThan(2000);
  }, 60_000);
});

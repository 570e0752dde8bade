import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AttemptReport } from '@c2p/core';
import { createHandlers, isC2pError, startInboxWorker } from '@c2p/core';
import type { InboxRecord } from '@c2p/core/kit';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { PostgresInbox, PostgresInboxOptions } from '../src/index.js';
import { createPostgresInbox } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const pool = new pg.Pool({ connectionString: url, max: 4 });
pool.on('error', () => undefined);
const tables: string[] = [];
const inboxes: PostgresInbox[] = [];
afterAll(async () => {
  await Promise.allSettled(inboxes.map((inbox) => inbox.close()));
  for (const table of tables) {
    await pool
      .query(`DROP TABLE IF EXISTS ${table}, ${table}_orders, ${table}_settings, ${table}_counts`)
      .catch(() => undefined);
  }
  await pool.end();
});

const services = fileURLToPath(new URL('../../../scripts/services.mjs', import.meta.url));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const freshName = (): string => {
  const table = `c2p_${randomBytes(6).toString('hex')}`;
  tables.push(table);
  return table;
};

async function fresh(options: Partial<PostgresInboxOptions> = {}): Promise<PostgresInbox> {
  const table = freshName();
  const inbox = createPostgresInbox({ connection: url, table, ...options });
  inboxes.push(inbox);
  await inbox.migrate();
  await pool.query(`CREATE TABLE IF NOT EXISTS ${table}_orders (id text PRIMARY KEY)`);
  return inbox;
}

let serial = 0;
const record = (resource: string): InboxRecord => ({
  key: `${resource}:${++serial}`,
  resourceKey: `payment-request:${resource}`,
  eventType: 'PAYMENT-COMPLETED',
  payload: JSON.stringify({ eventType: 'PAYMENT-COMPLETED', resource: { id: resource } }),
  receivedAt: Date.now(),
  clientIp: '127.0.0.1',
});

describe('createPostgresInbox', () => {
  it.each([
    [{ table: 'x"; DROP TABLE y; --' }, 'options.table'],
    [{ max: 0 }, 'options.max'],
    [{ workerMax: 1.5 }, 'options.workerMax'],
    [{ retainMs: -1 }, 'options.retainMs'],
    [{ connectionTimeoutMs: -5 }, 'options.connectionTimeoutMs'],
    [{ sweepBatch: 0 }, 'options.sweepBatch'],
    [{ connection: '' }, 'options.connection'],
    [{ connection: { query: 1 } }, 'options.connection'],
    [{ workerConnection: 'postgres://x' }, 'options.workerConnection'],
    [{ durability: 'hope' }, 'options.durability'],
    [{ durabilityCheckMs: -1 }, 'options.durabilityCheckMs'],
  ])('rejects %o naming %s', (bad, path) => {
    const options = { connection: url, ...bad } as unknown as PostgresInboxOptions;
    const error = (() => {
      try {
        createPostgresInbox(options);
      } catch (e) {
        return e;
      }
    })();
    expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toContain(`[@c2p/store-postgres] ${path}:`);
  });

  it('says to run migrate() when its table is missing, as STORE_UNAVAILABLE', async () => {
    const inbox = createPostgresInbox({ connection: pool, table: freshName() });
    const error = await inbox.enqueue([record('PR-1')]).catch((e: unknown) => e);
    expect(isC2pError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain('run inbox.migrate()');
  });

  it('migrates idempotently, works on a pool passed in, and leaves that pool open', async () => {
    const table = freshName();
    const inbox = createPostgresInbox({ connection: pool, table });
    await Promise.all([inbox.migrate(), inbox.migrate()]);
    await inbox.migrate();
    expect(await inbox.enqueue([record('PR-1')])).toEqual([true]);
    await inbox.close();
    const rows = await pool.query(`SELECT state, attempts FROM ${table}`);
    expect(rows.rows).toEqual([{ state: 'pending', attempts: 0 }]);
  });

  it('refuses deliveries when its connections run synchronous_commit = off, naming the setting, unless trusted', async () => {
    // A pool of the test's own whose every connection runs SET synchronous_commit = off.
    const lax = new pg.Pool({
      connectionString: url,
      max: 2,
      options: '-c synchronous_commit=off',
    });
    lax.on('error', () => undefined);
    try {
      const table = freshName();
      const inbox = createPostgresInbox({ connection: lax, table });
      const refused = await inbox.migrate().catch((e: unknown) => e);
      expect(isC2pError(refused, 'STORE_UNAVAILABLE')).toBe(true);
      expect((refused as Error).message).toContain('synchronous_commit is off, needs on');
      expect((refused as Error).message).toContain("durability: 'trust'");
      const notStored = await inbox.enqueue([record('PR-1')]).catch((e: unknown) => e);
      expect(isC2pError(notStored, 'STORE_UNAVAILABLE')).toBe(true);
      expect((notStored as Error).message).toContain('synchronous_commit is off');
      expect((await pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows).toEqual([
        { n: 0 },
      ]);
      const trusting = createPostgresInbox({ connection: lax, table, durability: 'trust' });
      await trusting.migrate();
      expect(await trusting.enqueue([record('PR-1')])).toEqual([true]);
    } finally {
      await lax.end();
    }
  });

  it('reads the settings again once a passed check is durabilityCheckMs old', async () => {
    const one = new pg.Pool({ connectionString: url, max: 1 });
    one.on('error', () => undefined);
    try {
      const table = freshName();
      const inbox = createPostgresInbox({ connection: one, table, durabilityCheckMs: 100 });
      await inbox.migrate();
      expect(await inbox.enqueue([record('PR-1')])).toEqual([true]);
      // The pool's one connection turns lax, as an ALTER ROLE ... SET would for new ones.
      await one.query('SET synchronous_commit = off');
      await sleep(150);
      const refused = await inbox.enqueue([record('PR-2')]).catch((e: unknown) => e);
      expect(isC2pError(refused, 'STORE_UNAVAILABLE')).toBe(true);
      expect((refused as Error).message).toContain('synchronous_commit is off');
      await one.query('SET synchronous_commit = on');
      expect(await inbox.enqueue([record('PR-3')])).toEqual([true]);
      expect((await inbox.counts()).pending).toBe(2);
    } finally {
      await one.end();
    }
  });

  it('never answers true when a statement inside work failed and the handler swallowed it', async () => {
    const inbox = await fresh();
    await inbox.enqueue([record('PR-1')]);
    const [lease] = await inbox.lease(1, 30_000);
    if (!lease) throw new Error('expected a lease');
    const result = await inbox
      .completeWithin(lease.entry.id, lease.token, async (client) => {
        await client.query('SELECT 1/0').catch(() => undefined);
      })
      .catch((e: unknown) => e);
    expect(isC2pError(result, 'STORE_UNAVAILABLE')).toBe(true);
    expect((await inbox.get(lease.entry.id))?.state).toBe('pending');
    expect(await inbox.complete(lease.entry.id, lease.token)).toBe(true);
  });

  it('renews without waiting while the holder runs completeWithin, and keeps other workers off the event', async () => {
    const inbox = await fresh();
    await inbox.enqueue([record('PR-1'), record('PR-1')]);
    const [lease] = await inbox.lease(10, 300);
    if (!lease) throw new Error('expected a lease');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const running = inbox.completeWithin(lease.entry.id, lease.token, () => held);
    await sleep(50);
    const t0 = performance.now();
    expect(await inbox.renew(lease.entry.id, lease.token, 300)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1000);
    // Past the lease, the transaction's row lock still keeps the event and its resource.
    await sleep(400);
    expect(await inbox.lease(10, 300)).toEqual([]);
    release();
    expect(await running).toBe(true);
    expect(await inbox.renew(lease.entry.id, lease.token, 300)).toBe(false);
    const [next] = await inbox.lease(10, 300);
    expect(next?.entry.id).not.toBe(lease.entry.id);
  });

  it('records the failure of a handler that outlived its lease inside completeWithin: retrying, then dead, not leased again at once', async () => {
    // The row lock of the running transaction keeps renewals from landing, so
    // locked_until runs out while the handler runs; nobody can take over meanwhile.
    const inbox = await fresh();
    await inbox.enqueue([record('PR-slow')]);
    const reports: AttemptReport[] = [];
    const worker = startInboxWorker({
      inbox,
      leaseMs: 300,
      pollIntervalMs: 50,
      sweepIntervalMs: 0,
      retry: { maxAttempts: 2, baseDelayMs: 200, jitter: 0 },
      handlers: createHandlers<pg.PoolClient>().onAny(async () => {
        await sleep(600);
        throw new Error('the order system answered 503');
      }),
      onAttempt: (report) => reports.push(report),
    });
    try {
      const deadline = Date.now() + 10_000;
      while (reports.length < 2 && Date.now() < deadline) await sleep(50);
    } finally {
      await worker.stop();
    }
    expect(reports.map((r) => r.outcome)).toEqual(['retrying', 'dead']);
    const [dead] = await inbox.list({ state: 'dead' });
    expect(dead).toMatchObject({ attempts: 2, lastError: expect.stringContaining('503') });
  });

  it('commits completeWithin after the lease ran out with nobody taking over, and refuses a token that was taken over', async () => {
    const inbox = await fresh();
    const table = tables.at(-1) as string;
    await inbox.enqueue([record('PR-1'), record('PR-2')]);
    const [late, stale] = await inbox.lease(2, 100);
    if (!late || !stale) throw new Error('expected two leases');
    await sleep(150);
    // Nobody took PR-1 over: its work commits.
    expect(
      await inbox.completeWithin(late.entry.id, late.token, async (client) => {
        await client.query(`INSERT INTO ${table}_orders (id) VALUES ('late')`);
      }),
    ).toBe(true);
    expect((await inbox.get(late.entry.id))?.state).toBe('processed');
    // PR-2 was taken over: the old token's work is not even started, nor can it record anything.
    const [taken] = await inbox.lease(1, 30_000);
    expect(taken?.entry.id).toBe(stale.entry.id);
    let ran = false;
    expect(
      await inbox.completeWithin(stale.entry.id, stale.token, async () => {
        ran = true;
      }),
    ).toBe(false);
    expect(ran).toBe(false);
    expect(await inbox.fail(stale.entry.id, stale.token, { error: 'x', retryAt: null })).toBe(
      false,
    );
    expect(await inbox.complete(stale.entry.id, stale.token)).toBe(false);
    expect(await inbox.renew(stale.entry.id, stale.token, 30_000)).toBe(false);
    expect(await inbox.complete(stale.entry.id, taken?.token ?? '')).toBe(true);
    const orders = await pool.query(`SELECT id FROM ${table}_orders`);
    expect(orders.rows).toEqual([{ id: 'late' }]);
  });

  it('accepts deliveries at once while every worker connection is held by a slow handler, redeliveries of the running events too', async () => {
    const inbox = await fresh({ workerMax: 2, max: 2 });
    const running = [record('PR-1'), record('PR-2')];
    await inbox.enqueue(running);
    const leases = await inbox.lease(2, 30_000);
    expect(leases).toHaveLength(2);
    const slow = leases.map((l) => inbox.completeWithin(l.entry.id, l.token, () => sleep(1500)));
    await sleep(100);
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      expect(await inbox.enqueue([record(`PR-new-${i}`)])).toEqual([true]);
      times.push(performance.now() - t0);
    }
    // A duplicate of an event whose handlers are running: no wait on its row.
    for (const duplicate of running) {
      const t0 = performance.now();
      expect(await inbox.enqueue([duplicate])).toEqual([false]);
      times.push(performance.now() - t0);
    }
    expect(Math.max(...times)).toBeLessThan(1000);
    expect(await Promise.all(slow)).toEqual([true, true]);
    console.info(
      `[store-postgres] inbox: 10 new deliveries and 2 redeliveries of the running events answered while both worker connections ran 1.5 s handlers, slowest ${Math.max(...times).toFixed(0)} ms`,
    );
  });

  it('enqueues single-event deliveries at c=1 and c=50 (printed beside a bare INSERT), storing each once', async () => {
    const inbox = await fresh();
    let stored = 0;
    const measure = async (concurrency: number, ms: number): Promise<number> => {
      let done = 0;
      const end = performance.now() + ms;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < end) {
            const [inserted] = await inbox.enqueue([record(`PR-${done % 500}`)]);
            if (inserted !== true) throw new Error('a new key was answered as a duplicate');
            done++;
          }
        }),
      );
      stored += done;
      return done / ((performance.now() - t0) / 1000);
    };
    const bare = freshName();
    await pool.query(`CREATE TABLE ${bare} (id bigserial PRIMARY KEY, key text UNIQUE)`);
    let bareDone = 0;
    const bareEnd = performance.now() + 1500;
    const bareStart = performance.now();
    while (performance.now() < bareEnd) {
      await pool.query(`INSERT INTO ${bare} (key) VALUES ($1)`, [`k${bareDone++}`]);
    }
    const bareRate = bareDone / ((performance.now() - bareStart) / 1000);
    const c1 = await measure(1, 1500);
    const c50 = await measure(50, 1500);
    const counts = await inbox.counts();
    console.info(
      `[store-postgres] inbox enqueue, one event per delivery, one commit each: c=1 ${Math.round(c1)}/s, ` +
        `c=50 ${Math.round(c50)}/s (pool of 10); a bare autocommit INSERT at c=1 in the same run: ${Math.round(bareRate)}/s; ` +
        `stored ${counts.pending} of ${stored}`,
    );
    expect(counts.pending).toBe(stored);
    expect(c50).toBeGreaterThan(c1);
  }, 30_000);

  it('answers STORE_UNAVAILABLE while its server restarts, never true for an uncommitted delivery, and recovers without a new inbox', async () => {
    const inbox = await fresh();
    const before = record('PR-before');
    expect(await inbox.enqueue([before])).toEqual([true]);
    let running = true;
    const accepted: string[] = [];
    const failures: unknown[] = [];
    const load = (async () => {
      while (running) {
        const r = record('PR-during');
        try {
          const [inserted] = await inbox.enqueue([r]);
          if (inserted) accepted.push(r.key);
        } catch (error) {
          failures.push(error);
        }
        await sleep(10);
      }
    })();
    await sleep(100);
    await promisify(execFile)(process.execPath, [services, 'restart', 'postgres']);
    const deadline = Date.now() + 30_000;
    let after: boolean[] | undefined;
    while (!after) {
      try {
        after = await inbox.enqueue([record('PR-after')]);
      } catch (error) {
        expect(isC2pError(error, 'STORE_UNAVAILABLE'), String(error)).toBe(true);
        if (Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
    running = false;
    await load;
    expect(after).toEqual([true]);
    for (const error of failures)
      expect(isC2pError(error, 'STORE_UNAVAILABLE'), String(error)).toBe(true);
    // Every delivery answered true is stored: nothing was acknowledged without its commit.
    const stored = new Set(
      (await inbox.list({ state: 'pending', limit: 100_000 })).map((e) => e.key),
    );
    const missing = [before.key, ...accepted].filter((key) => !stored.has(key));
    expect(missing).toEqual([]);
    const [lease] = await inbox.lease(1, 30_000);
    expect(lease?.entry.key).toBe(before.key);
    console.info(
      `[store-postgres] inbox across a server restart: ${accepted.length} deliveries accepted, ${failures.length} answered STORE_UNAVAILABLE, 0 accepted but lost`,
    );
  }, 60_000);
});

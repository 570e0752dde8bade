import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isC2pError } from '@c2p/core';
import type { InboxLease, InboxRecord } from '@c2p/core/kit';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SqliteInbox, SqliteInboxOptions } from '../src/index.js';
import { createSqliteInbox, createSqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'c2p-sqlite-inbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (): string => join(dir, `inbox-${n++}.db`);

let time = 1_000_000;
const now = (): number => time;
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

const open = (options: Partial<SqliteInboxOptions> = {}): SqliteInbox => {
  const inbox = createSqliteInbox({ database: file(), now, ...options });
  opened.push(inbox);
  return inbox;
};

const record = (key: string, resourceKey = `r:${key}`): InboxRecord => ({
  key,
  resourceKey,
  eventType: 'PAYMENT-COMPLETED',
  payload: JSON.stringify({ key }),
  receivedAt: time,
  clientIp: '203.0.113.7',
});

const unavailable = (error: unknown): boolean => isC2pError(error, 'STORE_UNAVAILABLE');

describe('createSqliteInbox: enqueue', () => {
  it('stores a delivery, answers duplicates false, and keeps every field', async () => {
    const inbox = open();
    expect(await inbox.enqueue([record('a'), record('b')])).toEqual([true, true]);
    expect(await inbox.enqueue([record('b'), record('c')])).toEqual([false, true]);
    expect(await inbox.enqueue([])).toEqual([]);
    const [a] = await inbox.list({ state: 'pending' });
    expect(a).toEqual({
      id: expect.stringMatching(/^[1-9][0-9]*$/),
      key: 'a',
      resourceKey: 'r:a',
      eventType: 'PAYMENT-COMPLETED',
      payload: '{"key":"a"}',
      receivedAt: time,
      clientIp: '203.0.113.7',
      state: 'pending',
      attempts: 0,
      nextAttemptAt: time,
      lastError: null,
      processedAt: null,
    });
    expect(await inbox.counts()).toEqual({
      pending: 3,
      retrying: 0,
      dead: 0,
      processed: 0,
      resolved: 0,
    });
  });

  it('inserts a key delivered twice at once exactly once, whether in one group or two', async () => {
    const inbox = open();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => inbox.enqueue([record('same'), record(`x${n++}`)])),
    );
    expect(results.filter(([first]) => first === true)).toHaveLength(1);
    expect(results.every(([, second]) => second === true)).toBe(true);
    expect((await inbox.counts()).pending).toBe(21);
  });

  it('answers STORE_UNAVAILABLE at once when the commit queue is full, storing nothing of it', async () => {
    const inbox = open({ queueLimit: 5 });
    const first = inbox.enqueue([record('a'), record('b'), record('c')]);
    const second = inbox.enqueue([record('d'), record('e'), record('f')]);
    const error = await second.catch((e: unknown) => e);
    expect(unavailable(error), String(error)).toBe(true);
    expect((error as Error).message).toContain('options.queueLimit');
    expect(await first).toEqual([true, true, true]);
    expect((await inbox.counts()).pending).toBe(3);
    expect(await inbox.enqueue([record('d')])).toEqual([true]);
  });

  it('fails only the delivery whose row is bad, when it shared a group commit', async () => {
    const inbox = open();
    const bad = { ...record('bad'), payload: { not: 'text' } } as unknown as InboxRecord;
    const [good1, failed, good2] = await Promise.allSettled([
      inbox.enqueue([record('g1')]),
      inbox.enqueue([record('b1'), bad]),
      inbox.enqueue([record('g2')]),
    ]);
    expect(good1).toEqual({ status: 'fulfilled', value: [true] });
    expect(good2).toEqual({ status: 'fulfilled', value: [true] });
    expect(failed.status).toBe('rejected');
    expect(unavailable((failed as PromiseRejectedResult).reason)).toBe(true);
    // One delivery, one commit: its good row was not stored either.
    expect((await inbox.list({ state: 'pending' })).map((e) => e.key)).toEqual(['g1', 'g2']);
  });

  it('uses WAL and synchronous=FULL by default', async () => {
    const db = new Database(file());
    opened.push(createSqliteInbox({ database: db }));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    await opened.pop()?.close();
    expect(db.open).toBe(true);
    db.close();
  });
});

describe('createSqliteInbox: sharing a Database', () => {
  it('refuses a synchronous setting other than the one a store or inbox already uses on the same Database', async () => {
    const db = new Database(file());
    const store = createSqliteStore({ database: db });
    let error: unknown;
    try {
      createSqliteInbox({ database: db, synchronous: 'NORMAL' });
    } catch (e) {
      error = e;
    }
    expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toContain(
      '[@c2p/store-sqlite] options.synchronous: "NORMAL" differs from the setting another store or inbox already uses on this Database ("FULL")',
    );
    // The store's commits keep their fsync.
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    const inbox = createSqliteInbox({ database: db, synchronous: 'FULL' });
    expect(await inbox.enqueue([record('a')])).toEqual([true]);
    await inbox.close();
    await store.close();
    // Once nothing uses the Database, a new user may choose again.
    const normal = createSqliteInbox({ database: db, synchronous: 'NORMAL' });
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    await normal.close();
    db.close();
  });
});

describe('createSqliteInbox: lease, complete, fail', () => {
  it('leases only the head of each resource, in arrival order, counting the attempt', async () => {
    const inbox = open();
    await inbox.enqueue([record('a1', 'r1'), record('a2', 'r1'), record('b1', 'r2')]);
    const first = await inbox.lease(10, 1000);
    expect(first.map((l) => [l.entry.key, l.entry.attempts])).toEqual([
      ['a1', 1],
      ['b1', 1],
    ]);
    // Leased heads are not leased again, and still block their resource.
    expect(await inbox.lease(10, 1000)).toEqual([]);
    const [a1, b1] = first as [(typeof first)[0], (typeof first)[0]];
    expect(await inbox.complete(a1.entry.id, a1.token)).toBe(true);
    expect(await inbox.complete(a1.entry.id, a1.token)).toBe(false);
    const second = await inbox.lease(10, 1000);
    expect(second.map((l) => l.entry.key)).toEqual(['a2']);
    // The limit holds.
    expect(await inbox.fail(b1.entry.id, b1.token, { error: 'down', retryAt: time })).toBe(true);
    await inbox.enqueue([record('c1', 'r3')]);
    expect((await inbox.lease(1, 1000)).map((l) => l.entry.key)).toEqual(['b1']);
  });

  it('keeps a retrying event blocking its resource until due, and a dead one not at all', async () => {
    const inbox = open();
    await inbox.enqueue([record('a1', 'r1'), record('a2', 'r1'), record('a3', 'r1')]);
    const [a1] = await inbox.lease(10, 1000);
    expect(
      await inbox.fail(a1?.entry.id ?? '', a1?.token ?? '', { error: 'e1', retryAt: time + 500 }),
    ).toBe(true);
    expect(await inbox.lease(10, 1000)).toEqual([]);
    const retrying = await inbox.get(a1?.entry.id ?? '');
    expect(retrying).toMatchObject({
      state: 'retrying',
      lastError: 'e1',
      nextAttemptAt: time + 500,
    });
    time += 500;
    const [again] = await inbox.lease(10, 1000);
    expect(again?.entry).toMatchObject({ key: 'a1', attempts: 2 });
    expect(
      await inbox.fail(again?.entry.id ?? '', again?.token ?? '', { error: 'e2', retryAt: null }),
    ).toBe(true);
    expect((await inbox.get(a1?.entry.id ?? ''))?.state).toBe('dead');
    // Dead does not block: a2 is the head now.
    expect((await inbox.lease(10, 1000)).map((l) => l.entry.key)).toEqual(['a2']);
  });

  it('takes an expired lease over with a new token; the old token then changes nothing', async () => {
    const inbox = open();
    await inbox.enqueue([record('a')]);
    const [old] = await inbox.lease(1, 1000);
    time += 999;
    expect(await inbox.renew(old?.entry.id ?? '', old?.token ?? '', 1000)).toBe(true);
    time += 999;
    expect(await inbox.lease(1, 1000)).toEqual([]);
    time += 2;
    expect(await inbox.renew(old?.entry.id ?? '', old?.token ?? '', 1000)).toBe(false);
    const [taken] = await inbox.lease(1, 1000);
    expect(taken?.token).not.toBe(old?.token);
    expect(taken?.entry.attempts).toBe(2);
    expect(await inbox.complete(old?.entry.id ?? '', old?.token ?? '')).toBe(false);
    expect(
      await inbox.fail(old?.entry.id ?? '', old?.token ?? '', { error: 'x', retryAt: null }),
    ).toBe(false);
    expect(await inbox.complete(taken?.entry.id ?? '', taken?.token ?? '')).toBe(true);
    expect(await inbox.get(taken?.entry.id ?? '')).toMatchObject({
      state: 'processed',
      processedAt: time,
      nextAttemptAt: null,
    });
  });

  it('replays a dead event and retries a retrying one now; refuses other states', async () => {
    const inbox = open();
    await inbox.enqueue([record('a'), record('b')]);
    const [a, b] = await inbox.lease(10, 1000);
    await inbox.fail(a?.entry.id ?? '', a?.token ?? '', { error: 'gone', retryAt: null });
    await inbox.fail(b?.entry.id ?? '', b?.token ?? '', { error: 'later', retryAt: time + 60_000 });
    expect(await inbox.retryNow(a?.entry.id ?? '')).toBe(false);
    expect(await inbox.replay(b?.entry.id ?? '')).toBe(false);
    expect(await inbox.replay(a?.entry.id ?? '')).toBe(true);
    expect(await inbox.get(a?.entry.id ?? '')).toMatchObject({
      state: 'pending',
      attempts: 0,
      lastError: null,
      nextAttemptAt: time,
    });
    expect(await inbox.retryNow(b?.entry.id ?? '')).toBe(true);
    expect((await inbox.lease(10, 1000)).map((l) => l.entry.key)).toEqual(['a', 'b']);
    for (const id of ['nope', '0', '-1', '1.5', '99999']) {
      expect(await inbox.replay(id)).toBe(false);
      expect(await inbox.retryNow(id)).toBe(false);
      expect(await inbox.complete(id, 'token')).toBe(false);
      expect(await inbox.get(id)).toBeUndefined();
    }
  });

  it('lists oldest first for pending and retrying, newest first otherwise, within the limit', async () => {
    const inbox = open();
    await inbox.enqueue(['a', 'b', 'c', 'd'].map((k) => record(k)));
    expect((await inbox.list({ state: 'pending', limit: 3 })).map((e) => e.key)).toEqual([
      'a',
      'b',
      'c',
    ]);
    for (const lease of await inbox.lease(10, 1000))
      await inbox.complete(lease.entry.id, lease.token);
    expect((await inbox.list({ state: 'processed' })).map((e) => e.key)).toEqual([
      'd',
      'c',
      'b',
      'a',
    ]);
    expect(await inbox.counts()).toEqual({
      pending: 0,
      retrying: 0,
      dead: 0,
      processed: 4,
      resolved: 0,
    });
  });

  it('sweeps processed events past the retention in bounded batches; their keys are new again', async () => {
    const inbox = open({ retainMs: 10_000, sweepBatch: 2 });
    await inbox.enqueue(['a', 'b', 'c', 'd'].map((k) => record(k)));
    const leases = await inbox.lease(10, 1000);
    for (const lease of leases.slice(0, 3)) await inbox.complete(lease.entry.id, lease.token);
    time += 10_000;
    expect(await inbox.sweep()).toBe(2);
    expect(await inbox.sweep()).toBe(1);
    expect(await inbox.sweep()).toBe(0);
    expect(await inbox.counts()).toEqual({
      pending: 1,
      retrying: 0,
      dead: 0,
      processed: 0,
      resolved: 0,
    });
    expect(await inbox.enqueue([record('a'), record('d')])).toEqual([true, false]);
  });
});

describe('createSqliteInbox: completeWithin', () => {
  const withOrders = (inbox: SqliteInbox, path: string): (() => string[]) => {
    const db = new Database(path);
    db.exec('CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY)');
    db.close();
    opened.push(inbox);
    return () => {
      const reader = new Database(path, { readonly: true });
      const ids = reader.prepare('SELECT id FROM orders ORDER BY id').pluck().all() as string[];
      reader.close();
      return ids;
    };
  };

  it('commits the handler writes with processed; rolls both back when it throws', async () => {
    const path = file();
    const inbox = createSqliteInbox({ database: path, now });
    const orders = withOrders(inbox, path);
    await inbox.enqueue([record('a'), record('b')]);
    const [a, b] = await inbox.lease(10, 1000);
    const boom = new Error('handler failed');
    await expect(
      inbox.completeWithin(a?.entry.id ?? '', a?.token ?? '', async (tx) => {
        tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('from-a');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(
      await inbox.completeWithin(b?.entry.id ?? '', b?.token ?? '', async (tx) => {
        tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('from-b');
      }),
    ).toBe(true);
    expect(orders()).toEqual(['from-b']);
    expect((await inbox.get(a?.entry.id ?? ''))?.state).toBe('pending');
    expect((await inbox.get(b?.entry.id ?? ''))?.state).toBe('processed');
  });

  it('commits when the lease ran out inside the handler with nobody taking over, and nothing when it was taken over', async () => {
    const path = file();
    const inbox = createSqliteInbox({ database: path, now });
    const orders = withOrders(inbox, path);
    await inbox.enqueue([record('a'), record('b')]);
    const [a, b] = await inbox.lease(10, 1000);
    if (!a || !b) throw new Error('expected two leases');
    // The handler holds the write lock past its lease: nobody could take over, so it commits.
    expect(
      await inbox.completeWithin(a.entry.id, a.token, async (tx) => {
        tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('late');
        time += 1000;
      }),
    ).toBe(true);
    expect((await inbox.get(a.entry.id))?.state).toBe('processed');
    // Taken over while the handler waited before touching tx.db: nothing of it commits.
    let taken: InboxLease | undefined;
    const done = await inbox.completeWithin(b.entry.id, b.token, async (tx) => {
      [taken] = await inbox.lease(1, 1000); // another worker, during the handler's network call
      tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('stale');
    });
    expect(done).toBe(false);
    expect(taken?.entry.id).toBe(b.entry.id);
    expect(orders()).toEqual(['late']);
    expect((await inbox.get(b.entry.id))?.state).toBe('pending');
    // A stale token's work is not even started, nor does it record anything.
    let staleRan = false;
    expect(
      await inbox.completeWithin(b.entry.id, b.token, async () => {
        staleRan = true;
      }),
    ).toBe(false);
    expect(staleRan).toBe(false);
    expect(await inbox.fail(b.entry.id, b.token, { error: 'x', retryAt: null })).toBe(false);
    expect(await inbox.complete(taken?.entry.id ?? '', taken?.token ?? '')).toBe(true);
  });

  it('accepts deliveries while a handler waits on the network before touching tx.db', async () => {
    const path = file();
    const inbox = createSqliteInbox({ database: path });
    const orders = withOrders(inbox, path);
    await inbox.enqueue([record('slow')]);
    const [slow] = await inbox.lease(1, 60_000);
    const handler = inbox.completeWithin(slow?.entry.id ?? '', slow?.token ?? '', async (tx) => {
      await sleep(1000); // the downstream call
      tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('slow');
    });
    await sleep(50);
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      expect(await inbox.enqueue([record(`during-${i}`)])).toEqual([true]);
      latencies.push(performance.now() - started);
    }
    const worst = Math.max(...latencies);
    console.info(`enqueue while a handler waits 1 s on the network: worst ${worst.toFixed(1)} ms`);
    expect(worst).toBeLessThan(200);
    expect(await handler).toBe(true);
    expect(orders()).toEqual(['slow']);
    expect((await inbox.counts()).pending).toBe(20);
  });

  it('shares one queue with a store on the same Database: a rolled-back handler takes no delivery with it', async () => {
    const path = file();
    const db = new Database(path);
    db.exec('CREATE TABLE orders (id TEXT PRIMARY KEY)');
    const store = createSqliteStore({ database: db });
    const inbox = createSqliteInbox({ database: db });
    opened.push(store, inbox);
    const failing = store.processOnce('k', 60_000, async (tx) => {
      tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('rolled-back');
      await sleep(100); // holds the connection: the delivery below must wait, not join
      throw new Error('handler failed');
    });
    const accepted = inbox.enqueue([record('during')]);
    await expect(failing).rejects.toThrow('handler failed');
    expect(await accepted).toEqual([true]);
    expect(db.prepare('SELECT count(*) AS c FROM orders').get()).toEqual({ c: 0 });
    expect((await inbox.list({ state: 'pending' })).map((e) => e.key)).toEqual(['during']);
    await store.close();
    await inbox.close();
    db.close();
  });
});

describe('createSqliteInbox: a worker SIGKILLed inside completeWithin', () => {
  it('leaves nothing committed and the event is leased again when its lease runs out', async () => {
    const path = file();
    const inbox = createSqliteInbox({ database: path });
    opened.push(inbox);
    const db = new Database(path);
    db.exec('CREATE TABLE orders (id TEXT PRIMARY KEY)');
    db.close();
    await inbox.enqueue([{ ...record('crash'), receivedAt: Date.now() }]);
    const program = fileURLToPath(new URL('./fixtures/inbox-worker-child.mjs', import.meta.url));
    const child = spawn(process.execPath, [program, path, '1000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('held')) resolve();
      });
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // The killed worker's lease still holds; its write lock died with it.
    expect(await inbox.lease(1, 60_000)).toEqual([]);
    expect(await inbox.enqueue([{ ...record('after-crash'), receivedAt: Date.now() }])).toEqual([
      true,
    ]);
    await sleep(1100);
    const [again] = await inbox.lease(1, 60_000);
    expect(again?.entry).toMatchObject({ key: 'crash', attempts: 2, state: 'pending' });
    expect(
      await inbox.completeWithin(again?.entry.id ?? '', again?.token ?? '', async (tx) => {
        tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('crash');
      }),
    ).toBe(true);
    const reader = new Database(path, { readonly: true });
    expect(reader.prepare('SELECT id FROM orders').pluck().all()).toEqual(['crash']);
    reader.close();
  }, 30_000);
});

describe('createSqliteInbox: group commit figures', () => {
  it('accepts more deliveries per second at c=50 with group commit than one commit each', async () => {
    const runMs = 700;
    const measure = async (groupCommit: boolean, concurrency: number): Promise<number> => {
      const inbox = open({ groupCommit, now: Date.now });
      let accepted = 0;
      let i = 0;
      const until = performance.now() + runMs;
      const client = async (): Promise<void> => {
        while (performance.now() < until) {
          const key = `k${i++}`;
          await inbox.enqueue([{ ...record(key), receivedAt: Date.now() }]);
          accepted++;
        }
      };
      const started = performance.now();
      await Promise.all(Array.from({ length: concurrency }, client));
      return Math.round(accepted / ((performance.now() - started) / 1000));
    };
    const rows: [string, number, number][] = [];
    for (const concurrency of [1, 50]) {
      rows.push([
        `c=${concurrency}`,
        await measure(true, concurrency),
        await measure(false, concurrency),
      ]);
    }
    console.info(
      `SQLite inbox enqueue/s, synchronous=FULL, one event per delivery (${runMs} ms each):\n${rows
        .map(([c, group, single]) => `  ${c}: group commit ${group}/s, one commit each ${single}/s`)
        .join('\n')}`,
    );
    const [, group50, single50] = rows[1] as [string, number, number];
    expect(group50).toBeGreaterThan(single50 * 2);
  }, 30_000);
});

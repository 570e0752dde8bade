// The edges of the SQLite store's and inbox's rules: the exact moment a lease or a
// retention ends, the bounds of every option, batch sizes, ids the port may hand
// back. Found by mutation testing (`npm run mutation -- store-sqlite`): each case
// fails when one operator or constant of the rule it names is changed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isC2pError } from '@c2p/core';
import type { InboxRecord } from '@c2p/core/kit';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SqliteInboxOptions, SqliteStoreOptions } from '../src/index.js';
import { createSqliteInbox, createSqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'c2p-sqlite-boundaries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (): string => join(dir, `db-${n++}.db`);

let time = 1_000_000;
const now = (): number => time;
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

const store = (options: Partial<SqliteStoreOptions> = {}) => {
  const s = createSqliteStore({ database: file(), now, synchronous: 'NORMAL', ...options });
  opened.push(s);
  return s;
};
const inbox = (options: Partial<SqliteInboxOptions> = {}) => {
  const i = createSqliteInbox({ database: file(), now, synchronous: 'NORMAL', ...options });
  opened.push(i);
  return i;
};

const record = (key: string, resourceKey = `r:${key}`): InboxRecord => ({
  key,
  resourceKey,
  eventType: 'PAYMENT-COMPLETED',
  payload: '{}',
  receivedAt: time,
  clientIp: null,
});

const rows = (path: string, table: string): number => {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare(`SELECT count(*) AS c FROM ${table}`).get() as { c: number }).c;
  } finally {
    db.close();
  }
};

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
};

describe('options', () => {
  it.each([
    ['x', true],
    ['_9', true],
    ['Webhook_Keys_2', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['9a', false],
    ['a b', false],
    ['', false],
  ])('a table named %j is accepted: %s (store and inbox)', async (table, ok) => {
    for (const make of [store, inbox]) {
      if (ok) {
        const s = make({ table });
        await s.migrate();
      } else {
        const error = thrown(() => make({ table }));
        expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
        expect((error as Error).message).toContain('[@c2p/store-sqlite] options.table:');
        expect((error as Error).message).toContain('must be 1 to 63 letters, digits or _');
      }
    }
  });

  it.each([null, {}, undefined, 42])(
    'refuses the database %j, naming options.database',
    (database) => {
      for (const create of [createSqliteStore, createSqliteInbox]) {
        const error = thrown(() => create({ database } as never));
        expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
        expect((error as Error).message).toBe(
          '[@c2p/store-sqlite] options.database: must be a file path or a better-sqlite3 Database',
        );
      }
    },
  );

  it('accepts 0 for the store timings and sweepEvery, and for the inbox busyTimeoutMs', async () => {
    const s = store({ busyTimeoutMs: 0, duplicateWaitMs: 0, sweepEvery: 0 });
    expect(await s.claim('k', 1000)).toMatchObject({ status: 'acquired' });
    const i = inbox({ busyTimeoutMs: 0 });
    expect(await i.enqueue([record('a')])).toEqual([true]);
  });

  it.each([
    [{ retainMs: 0 }, 'options.retainMs: must be a positive integer'],
    [{ queueLimit: 0 }, 'options.queueLimit: must be a positive integer'],
    [{ sweepBatch: 0 }, 'options.sweepBatch: must be a positive integer'],
    [{ busyTimeoutMs: -1 }, 'options.busyTimeoutMs: must be a non-negative integer'],
    [{ synchronous: 'OFF' }, 'options.synchronous: "OFF" is not FULL or NORMAL'],
  ])('the inbox refuses %o naming the option', (bad, message) => {
    const error = thrown(() => createSqliteInbox({ database: file(), ...bad } as never));
    expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toBe(`[@c2p/store-sqlite] ${message}`);
  });

  it.each([
    [{ busyTimeoutMs: 1.5 }, 'options.busyTimeoutMs: must be a non-negative integer'],
    [{ duplicateWaitMs: -1 }, 'options.duplicateWaitMs: must be a non-negative integer'],
    [{ sweepEvery: -1 }, 'options.sweepEvery: must be a non-negative integer'],
  ])('the store refuses %o naming the option', (bad, message) => {
    const error = thrown(() => createSqliteStore({ database: file(), ...bad } as never));
    expect((error as Error).message).toBe(`[@c2p/store-sqlite] ${message}`);
  });
});

describe('the store at the exact end of a lease or a retention', () => {
  it('holds a lease until its last millisecond, and frees the key at its end', async () => {
    const s = store();
    const { token } = (await s.claim('k', 100)) as { token: string };
    time += 99;
    expect(await s.claim('k', 100)).toEqual({ status: 'in_progress' });
    time += 1;
    const again = await s.claim('k', 100);
    expect(again.status).toBe('acquired');
    // The first owner's lease is over: it can neither complete nor release.
    expect(await s.complete('k', token, 1000)).toBe(false);
    expect(await s.release('k', token)).toBe(false);
  });

  it('keeps a completed key until its last millisecond, then answers acquired', async () => {
    const s = store();
    const { token } = (await s.claim('k', 100)) as { token: string };
    expect(await s.complete('k', token, 500)).toBe(true);
    time += 499;
    expect(await s.claim('k', 100)).toEqual({ status: 'completed' });
    time += 1;
    expect((await s.claim('k', 100)).status).toBe('acquired');
  });

  it('answers duplicate to processOnce until the retention ends, then processes again', async () => {
    const s = store();
    let runs = 0;
    const work = async (): Promise<void> => {
      runs++;
    };
    expect(await s.processOnce('k', 500, work)).toBe('processed');
    time += 499;
    expect(await s.processOnce('k', 500, work)).toBe('duplicate');
    time += 1;
    expect(await s.processOnce('k', 500, work)).toBe('processed');
    expect(runs).toBe(2);
  });

  it('completes within a lease only while it is held: not at its end', async () => {
    const s = store();
    const { token } = (await s.claim('k', 100)) as { token: string };
    time += 100;
    let ran = false;
    expect(
      await s.completeWithin('k', token, 1000, async () => {
        ran = true;
      }),
    ).toBe(false);
    expect(ran).toBe(false);
  });
});

describe('the store sweeps', () => {
  it('by itself once every sweepEvery claims, at most sweepEvery keys, counting again after each sweep', async () => {
    const path = file();
    const s = store({ database: path, sweepEvery: 3 });
    // Claims 1 to 3: the 3rd sweeps (nothing has expired yet), and the count starts again.
    for (const key of ['o1', 'o2', 'o3', 'o4', 'o5']) await s.claim(key, 10);
    time += 10;
    expect(rows(path, 'c2p_idempotency')).toBe(5);
    await s.claim('n1', 60_000); // the 3rd claim since that sweep: sweeps 3 of the 5 expired
    expect(rows(path, 'c2p_idempotency')).toBe(3);
    await s.claim('n2', 60_000); // the 1st since
    expect(rows(path, 'c2p_idempotency')).toBe(4);
    expect(await s.sweep()).toBe(2);
    expect(await s.sweep()).toBe(0);
  });

  it('never by itself with sweepEvery 0, and then up to 1,000 keys a sweep', async () => {
    const path = file();
    const s = store({ database: path, sweepEvery: 0 });
    await s.migrate();
    const db = new Database(path);
    const insert = db.prepare(
      "INSERT INTO c2p_idempotency (key, token, completed, expires_at) VALUES (?, 't', 1, ?)",
    );
    db.transaction(() => {
      for (let i = 0; i < 1005; i++) insert.run(`k${i}`, time - 1);
    })();
    db.close();
    for (let i = 0; i < 5; i++) await s.claim(`new${i}`, 60_000);
    expect(rows(path, 'c2p_idempotency')).toBe(1010);
    expect(await s.sweep()).toBe(1000);
    expect(await s.sweep()).toBe(5);
    expect(rows(path, 'c2p_idempotency')).toBe(5);
  });
});

describe('the inbox', () => {
  it('accepts a delivery that fills the commit queue exactly', async () => {
    const i = inbox({ queueLimit: 3 });
    expect(await i.enqueue([record('a'), record('b'), record('c')])).toEqual([true, true, true]);
    const [first, second] = await Promise.allSettled([
      i.enqueue([record('d'), record('e')]),
      i.enqueue([record('f'), record('g')]),
    ]);
    expect(first).toEqual({ status: 'fulfilled', value: [true, true] });
    expect(second.status).toBe('rejected');
  });

  it('leases nothing for a limit below 1', async () => {
    const i = inbox();
    await i.enqueue([record('a'), record('b')]);
    for (const limit of [0, -1, Number.NaN]) expect(await i.lease(limit, 1000)).toEqual([]);
    expect(await i.lease(1, 1000)).toHaveLength(1);
  });

  it('lists 50 by default; retrying oldest first, dead newest first', async () => {
    const i = inbox();
    await i.enqueue(Array.from({ length: 55 }, (_, k) => record(`e${k}`)));
    expect(await i.list({ state: 'pending' })).toHaveLength(50);
    const leases = await i.lease(4, 1000);
    const [a, b, c, d] = leases.map((l) => ({ id: l.entry.id, token: l.token, key: l.entry.key }));
    for (const l of [a, b])
      await i.fail(l?.id ?? '', l?.token ?? '', { error: 'x', retryAt: time + 1 });
    for (const l of [c, d])
      await i.fail(l?.id ?? '', l?.token ?? '', { error: 'x', retryAt: null });
    expect((await i.list({ state: 'retrying' })).map((e) => e.key)).toEqual([a?.key, b?.key]);
    expect((await i.list({ state: 'dead' })).map((e) => e.key)).toEqual([d?.key, c?.key]);
  });

  it('finds an event by the decimal id it gave, never by another spelling of it', async () => {
    const path = file();
    const i = inbox({ database: path });
    await i.enqueue([record('a')]);
    const [entry] = await i.list({ state: 'pending' });
    expect(entry?.id).toBe('1');
    for (const id of ['01', '+1', ' 1', '1 ', '1e0', '0x1']) {
      expect(await i.get(id)).toBeUndefined();
      expect(await i.replay(id)).toBe(false);
    }
    // Ids run to 16 digits (SQLite's rowids past 2^53 are not exact in JavaScript).
    const db = new Database(path);
    db.prepare(
      `INSERT INTO c2p_inbox (id, key, resource_key, event_type, payload, received_at, next_attempt_at)
       VALUES (1234567890123456, 'big', 'r:big', 'X', '{}', 1, 1)`,
    ).run();
    db.close();
    expect((await i.get('1234567890123456'))?.key).toBe('big');
    expect(await i.get('12345678901234567')).toBeUndefined();
  });

  it('fails only the delivery that breaks a constraint, when it shared a group commit', async () => {
    const i = inbox();
    const bad = { ...record('bad'), resourceKey: null } as unknown as InboxRecord;
    const [good, failed, other] = await Promise.allSettled([
      i.enqueue([record('g1')]),
      i.enqueue([record('b1'), bad]),
      i.enqueue([record('g2')]),
    ]);
    expect(good).toEqual({ status: 'fulfilled', value: [true] });
    expect(other).toEqual({ status: 'fulfilled', value: [true] });
    expect(failed.status).toBe('rejected');
    const error = (failed as PromiseRejectedResult).reason as Error;
    expect(isC2pError(error, 'STORE_UNAVAILABLE'), String(error)).toBe(true);
    expect((error.cause as { code?: string }).code).toMatch(/^SQLITE_CONSTRAINT/);
    expect((await i.list({ state: 'pending' })).map((e) => e.key)).toEqual(['g1', 'g2']);
  });

  it('fails only the delivery with a number SQLite cannot store, when it shared a group commit', async () => {
    const i = inbox();
    const huge = { ...record('huge'), receivedAt: 2n ** 70n } as unknown as InboxRecord;
    const [good, failed] = await Promise.allSettled([i.enqueue([record('g1')]), i.enqueue([huge])]);
    expect(good).toEqual({ status: 'fulfilled', value: [true] });
    expect(failed.status).toBe('rejected');
    expect((await i.list({ state: 'pending' })).map((e) => e.key)).toEqual(['g1']);
  });

  it('commits the deliveries queued before close, and refuses those after', async () => {
    const path = file();
    const i = createSqliteInbox({ database: path, now });
    const pending = i.enqueue([record('a'), record('b')]);
    const closing = i.close();
    const error = await i.enqueue([record('c')]).catch((e: unknown) => e);
    expect((error as Error).message).toBe('[@c2p/store-sqlite] the store is closed');
    await closing;
    expect(await pending).toEqual([true, true]);
    expect(rows(path, 'c2p_inbox')).toBe(2);
  });
});

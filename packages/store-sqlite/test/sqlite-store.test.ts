import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isC2pError } from '@c2p/core';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { SqliteStoreOptions } from '../src/index.js';
import { createSqliteInbox, createSqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'c2p-sqlite-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (): string => join(dir, `db-${n++}.db`);

describe('createSqliteStore', () => {
  it.each([
    [{ table: 'bad-name' }, 'options.table'],
    [{ table: '1abc' }, 'options.table'],
    [{ synchronous: 'OFF' }, 'options.synchronous'],
    [{ busyTimeoutMs: -1 }, 'options.busyTimeoutMs'],
    [{ sweepEvery: 1.5 }, 'options.sweepEvery'],
    [{ duplicateWaitMs: '5s' }, 'options.duplicateWaitMs'],
    [{ database: 42 }, 'options.database'],
  ])('rejects %o naming %s', (bad, path) => {
    const options = { database: file(), ...bad } as unknown as SqliteStoreOptions;
    expect(() => createSqliteStore(options)).toThrow(`[@c2p/store-sqlite] ${path}:`);
    try {
      createSqliteStore(options);
    } catch (error) {
      expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
    }
  });

  it('uses WAL and synchronous=FULL by default, NORMAL when asked', async () => {
    const full = new Database(file());
    const normal = new Database(file());
    const a = createSqliteStore({ database: full });
    const b = createSqliteStore({ database: normal, synchronous: 'NORMAL' });
    expect(full.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(full.pragma('synchronous', { simple: true })).toBe(2);
    expect(normal.pragma('synchronous', { simple: true })).toBe(1);
    await a.close();
    await b.close();
    // A database passed in is the caller's: close() leaves it open.
    expect(full.open).toBe(true);
    full.close();
    normal.close();
  });

  it('migrates at creation and again without harm, under the chosen table name', async () => {
    const path = file();
    const store = createSqliteStore({ database: path, table: 'webhook_keys' });
    await store.migrate();
    await store.migrate();
    const claim = await store.claim('k', 1000);
    expect(claim.status).toBe('acquired');
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT key FROM webhook_keys').all()).toEqual([{ key: 'k' }]);
    db.close();
    await store.close();
  });

  it('sweeps expired keys in bounded batches, and by itself every sweepEvery claims', async () => {
    let time = 1_000_000;
    const path = file();
    const store = createSqliteStore({ database: path, now: () => time, sweepEvery: 10 });
    for (let i = 0; i < 9; i++) await store.claim(`old-${i}`, 100);
    time += 101;
    const count = (): number => {
      const db = new Database(path, { readonly: true });
      const row = db.prepare('SELECT count(*) AS c FROM c2p_idempotency').get() as { c: number };
      db.close();
      return row.c;
    };
    expect(count()).toBe(9);
    await store.claim('new', 100_000); // the 10th claim sweeps
    expect(count()).toBe(1);
    time += 200_000;
    expect(await store.sweep()).toBe(1);
    expect(count()).toBe(0);
    await store.close();
  });

  it('fails with STORE_UNAVAILABLE once closed', async () => {
    const store = createSqliteStore({ database: file() });
    await store.close();
    await expect(store.claim('k', 1000)).rejects.toSatisfy((e) =>
      isC2pError(e, 'STORE_UNAVAILABLE'),
    );
  });

  it('answers in_progress to a concurrent duplicate once duplicateWaitMs has passed', async () => {
    const store = createSqliteStore({ database: file(), duplicateWaitMs: 50 });
    let release: () => void = () => undefined;
    const first = store.processOnce('k', 60_000, () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 10));
    const started = performance.now();
    let ran = false;
    expect(
      await store.processOnce('k', 60_000, async () => {
        ran = true;
      }),
    ).toBe('in_progress');
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(45);
    expect(waited).toBeLessThan(1000);
    expect(ran).toBe(false);
    release();
    expect(await first).toBe('processed');
    expect(await store.processOnce('k', 60_000, async () => undefined)).toBe('duplicate');
    await store.close();
  });

  it('closes only itself when an inbox shares its Database, once however often it is closed', async () => {
    const db = new Database(file());
    const store = createSqliteStore({ database: db });
    const inbox = createSqliteInbox({ database: db });
    await store.close();
    await store.close();
    await expect(store.claim('k', 1000)).rejects.toSatisfy((e) =>
      isC2pError(e, 'STORE_UNAVAILABLE'),
    );
    await expect(store.processOnce('k', 1000, async () => undefined)).rejects.toSatisfy((e) =>
      isC2pError(e, 'STORE_UNAVAILABLE'),
    );
    expect(await inbox.counts()).toEqual({
      pending: 0,
      retrying: 0,
      dead: 0,
      processed: 0,
      resolved: 0,
    });
    await inbox.close();
    expect(db.open).toBe(true);
    db.close();
  });

  it('wraps driver failures inside a claim as STORE_UNAVAILABLE with the cause', async () => {
    const db = new Database(file());
    const store = createSqliteStore({ database: db });
    db.close();
    const error = await store.claim('k', 1000).catch((e: unknown) => e);
    expect(isC2pError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});

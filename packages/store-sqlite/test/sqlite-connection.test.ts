// What the shared connection under the SQLite store and inbox does at its edges:
// a WAL file deleted alone, a transaction the application itself opened on a
// Database it passed in, a Database closed under the store, files that are not
// databases, a handle closed while another user keeps the connection. Found by
// mutation testing (`npm run mutation -- store-sqlite`).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isC2pError } from '@c2p/core';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteInbox, createSqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'c2p-sqlite-connection-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (): string => join(dir, `db-${n++}.db`);

const unavailable = (error: unknown): boolean => isC2pError(error, 'STORE_UNAVAILABLE');
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
};

describe('the WAL file deleted alone under a running store', () => {
  it('fails the operations after the next check (at most a second later), naming the WAL file', async () => {
    const path = file();
    const store = createSqliteStore({ database: path, synchronous: 'NORMAL' });
    expect((await store.claim('a', 60_000)).status).toBe('acquired');
    // The WAL file is looked at once a second: the first look records it.
    await sleep(1050);
    expect((await store.claim('b', 60_000)).status).toBe('acquired');
    rmSync(`${path}-wal`);
    await sleep(1050);
    const error = await store.claim('c', 60_000).catch((e: unknown) => e);
    expect(unavailable(error), String(error)).toBe(true);
    expect((error as Error).message).toBe(
      `[@c2p/store-sqlite] the database file ${path}-wal was deleted or replaced while open: nothing more is written (it would be lost); restart the process to open the file again`,
    );
    // It stays failed.
    await expect(store.processOnce('d', 1000, async () => undefined)).rejects.toBe(error);
    await store.close();
  }, 10_000);
});

describe('a transaction the application opened on the Database it passed in', () => {
  it('makes processOnce wait for it, then run, when it ends within busyTimeoutMs', async () => {
    const db = new Database(file());
    const store = createSqliteStore({ database: db, busyTimeoutMs: 5000 });
    db.exec('CREATE TABLE orders (id TEXT)');
    db.exec('BEGIN');
    setTimeout(() => db.exec('COMMIT'), 150);
    const started = performance.now();
    const result = await store.processOnce('k', 60_000, async (tx) => {
      tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('o-1');
    });
    expect(result).toBe('processed');
    expect(performance.now() - started).toBeGreaterThan(100);
    expect(db.prepare('SELECT id FROM orders').pluck().all()).toEqual(['o-1']);
    await store.close();
    db.close();
  });

  it('fails processOnce with STORE_UNAVAILABLE once busyTimeoutMs has passed, committing nothing of it', async () => {
    const db = new Database(file());
    const store = createSqliteStore({ database: db, busyTimeoutMs: 300 });
    db.exec('CREATE TABLE orders (id TEXT)');
    db.exec('BEGIN');
    const started = performance.now();
    let attempts = 0;
    const error = await store
      .processOnce('k', 60_000, async (tx) => {
        attempts++;
        tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('o-1');
      })
      .catch((e: unknown) => e);
    const tookMs = performance.now() - started;
    db.exec('ROLLBACK');
    expect(unavailable(error), String(error)).toBe(true);
    expect((error as Error).message).toBe(
      '[@c2p/store-sqlite] the database stayed locked by another connection for 300 ms (busyTimeoutMs)',
    );
    expect(tookMs).toBeGreaterThan(250);
    expect(tookMs).toBeLessThan(3000);
    expect(attempts).toBeGreaterThan(1);
    expect(db.prepare('SELECT count(*) FROM orders').pluck().get()).toBe(0);
    // Once the application's transaction is over, the same key processes.
    expect(await store.processOnce('k', 60_000, async () => undefined)).toBe('processed');
    await store.close();
    db.close();
  });
});

describe('a Database closed under the store and inbox', () => {
  it('fails reads and writes with STORE_UNAVAILABLE carrying the driver error', async () => {
    const db = new Database(file());
    const inbox = createSqliteInbox({ database: db });
    const store = createSqliteStore({ database: db });
    db.close();
    const failures = await Promise.allSettled([
      inbox.counts(),
      inbox.list({ state: 'pending' }),
      inbox.get('1'),
      inbox.lease(1, 1000),
      inbox.enqueue([
        {
          key: 'k',
          resourceKey: 'r',
          eventType: 'X',
          payload: '{}',
          receivedAt: 1,
          clientIp: null,
        },
      ]),
      store.processOnce('k', 1000, async () => undefined),
    ]);
    for (const failure of failures) {
      expect(failure.status).toBe('rejected');
      const error = (failure as PromiseRejectedResult).reason as Error;
      expect(unavailable(error), String(error)).toBe(true);
      expect(error.cause).toBeInstanceOf(TypeError);
      expect((error.cause as Error).message).toMatch(/database connection is not open/);
    }
  });
});

describe('opening what is not a usable database', () => {
  it('fails a file that is not a database with STORE_UNAVAILABLE carrying the driver error', () => {
    const path = file();
    writeFileSync(path, 'this is not a SQLite database, but a long enough text file '.repeat(20));
    for (const create of [createSqliteStore, createSqliteInbox]) {
      const error = thrown(() => create({ database: path })) as Error;
      expect(unavailable(error), String(error)).toBe(true);
      expect((error.cause as Error).message).toBe('file is not a database');
      expect(error.message).toBe(
        '[@c2p/store-sqlite] cannot set up the database: file is not a database',
      );
    }
  });

  it('says it cannot set up a database whose table of that name is something else', () => {
    const path = file();
    const db = new Database(path);
    db.exec('CREATE TABLE c2p_idempotency (id TEXT); CREATE TABLE c2p_inbox (id TEXT)');
    db.close();
    const storeError = thrown(() => createSqliteStore({ database: path }));
    expect(unavailable(storeError), String(storeError)).toBe(true);
    expect((storeError as Error).message).toBe(
      '[@c2p/store-sqlite] cannot set up the database: no such column: expires_at',
    );
    const inboxError = thrown(() => createSqliteInbox({ database: path }));
    expect((inboxError as Error).message).toBe(
      '[@c2p/store-sqlite] cannot set up the database: no such column: resource_key',
    );
  });

  it('says it cannot open a directory as the database, naming it', () => {
    const path = join(dir, `a-directory-${n++}`);
    mkdirSync(path);
    const error = thrown(() => createSqliteStore({ database: path }));
    expect(unavailable(error), String(error)).toBe(true);
    expect((error as Error).message).toBe(
      `[@c2p/store-sqlite] cannot open the database ${path}: unable to open database file`,
    );
  });
});

describe('closing', () => {
  it('closes the file a store opened with its last user: the WAL file is checkpointed away', async () => {
    const path = file();
    const store = createSqliteStore({ database: path });
    await store.claim('k', 1000);
    expect(existsSync(`${path}-wal`)).toBe(true);
    await store.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('fails every operation of a closed inbox while a store keeps the Database open', async () => {
    const db = new Database(file());
    const store = createSqliteStore({ database: db });
    const inbox = createSqliteInbox({ database: db });
    await inbox.close();
    const failures = await Promise.allSettled([
      inbox.counts(),
      inbox.list({ state: 'pending' }),
      inbox.get('1'),
      inbox.lease(1, 1000),
      inbox.completeWithin('1', 't', async () => undefined),
      inbox.sweep(),
      inbox.migrate(),
    ]);
    for (const failure of failures) {
      expect(failure.status).toBe('rejected');
      expect(((failure as PromiseRejectedResult).reason as Error).message).toBe(
        '[@c2p/store-sqlite] the store is closed',
      );
    }
    expect((await store.claim('k', 1000)).status).toBe('acquired');
    await store.close();
    db.close();
  });
});

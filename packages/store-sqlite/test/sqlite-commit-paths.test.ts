import { rmSync, statSync, writeFileSync } from 'node:fs';
import { isC2pError } from '@c2p/core';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createSqliteInbox, createSqliteStore } from '../src/index.js';
import { databaseFiles, inboxRecord, lockHolders, tempFolder } from './support/sqlite-files.js';

const file = databaseFiles(tempFolder('commit-paths'));
const holdWriteLock = lockHolders();

const record = inboxRecord;
const unavailable = (error: unknown): boolean => isC2pError(error, 'STORE_UNAVAILABLE');

describe('group commit', () => {
  it('is the default: 50 concurrent deliveries write a fraction of the WAL that 50 commits do', async () => {
    const walBytes = async (groupCommit: boolean | undefined): Promise<number> => {
      const path = file();
      const inbox = createSqliteInbox({
        database: path,
        synchronous: 'NORMAL',
        ...(groupCommit === undefined ? {} : { groupCommit }),
      });
      const before = statSync(`${path}-wal`).size;
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => inbox.enqueue([record(`k${i}`)])),
      );
      expect(answers.flat()).toEqual(Array(50).fill(true));
      const size = statSync(`${path}-wal`).size - before;
      await inbox.close();
      return size;
    };
    const byDefault = await walBytes(undefined);
    const single = await walBytes(false);
    console.info(
      `SQLite inbox, 50 concurrent deliveries: WAL grew ${byDefault} bytes with group commit (the default), ${single} with one commit each`,
    );
    expect(byDefault * 5).toBeLessThan(single);
  });

  it('fails a whole group at its deadline when another process holds the lock, without retrying each delivery', async () => {
    const path = file();
    const inbox = createSqliteInbox({ database: path, busyTimeoutMs: 300 });
    await holdWriteLock(path, 5000);
    const started = performance.now();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => inbox.enqueue([record(`k${i}`)])),
    );
    const tookMs = performance.now() - started;
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const error = (outcome as PromiseRejectedResult).reason as Error;
      expect(unavailable(error), String(error)).toBe(true);
      expect((error.cause as { code?: string }).code).toBe('SQLITE_BUSY');
    }
    // One deadline for the group, not ten one after the other (3 s).
    expect(tookMs).toBeLessThan(2000);
    await inbox.close();
  }, 20_000);
});

describe('processOnce', () => {
  it("carries SQLite's busy error as the cause when the handler's write lock never comes", async () => {
    const path = file();
    const store = createSqliteStore({ database: path, busyTimeoutMs: 300 });
    await holdWriteLock(path, 5000);
    const error = (await store
      .processOnce('k', 60_000, async (tx) => void tx.db.exec('SELECT 1'))
      .catch((e: unknown) => e)) as Error;
    expect(unavailable(error), String(error)).toBe(true);
    expect(error.message).toContain('locked by another connection for 300 ms');
    expect((error.cause as { code?: string }).code).toBe('SQLITE_BUSY');
    await store.close();
  }, 20_000);

  it('answers duplicate when another connection completed the key while a handler that never read tx.db ran', async () => {
    const path = file();
    const store = createSqliteStore({ database: path, synchronous: 'NORMAL' });
    const other = createSqliteStore({ database: path, synchronous: 'NORMAL' });
    const result = await store.processOnce('k', 60_000, async () => {
      expect(await other.processOnce('k', 60_000, async () => undefined)).toBe('processed');
    });
    expect(result).toBe('duplicate');
    // The key keeps the other's completion: still a duplicate for both.
    expect(await store.processOnce('k', 60_000, async () => undefined)).toBe('duplicate');
    await other.close();
    await store.close();
  });

  it('takes over a key that was claimed but never completed, and fences the claimant off', async () => {
    const store = createSqliteStore({ database: file(), synchronous: 'NORMAL' });
    const claim = (await store.claim('k', 60_000)) as { status: string; token: string };
    expect(claim.status).toBe('acquired');
    let ran = false;
    expect(
      await store.processOnce('k', 60_000, async () => {
        ran = true;
      }),
    ).toBe('processed');
    expect(ran).toBe(true);
    expect(await store.complete('k', claim.token, 60_000)).toBe(false);
    expect(await store.claim('k', 60_000)).toEqual({ status: 'completed' });
    await store.close();
  });

  it('fails at once, naming the deleted file, when the file goes while a handler waits to write', async () => {
    const path = file();
    const store = createSqliteStore({ database: path, busyTimeoutMs: 5000 });
    await store.claim('warm', 1000);
    const started = performance.now();
    const error = (await store
      .processOnce('k', 60_000, async (tx) => {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
        tx.db.exec('SELECT 1');
      })
      .catch((e: unknown) => e)) as Error;
    expect(unavailable(error), String(error)).toBe(true);
    expect(error.message).toContain(`database file ${path} was deleted or replaced`);
    expect(performance.now() - started).toBeLessThan(2000);
    await store.close();
  });

  it('commits nothing and says so when the file goes after the handler wrote', async () => {
    const path = file();
    const store = createSqliteStore({ database: path });
    const db = new Database(path);
    db.exec('CREATE TABLE orders (id TEXT)');
    db.close();
    const error = (await store
      .processOnce('k', 60_000, async (tx) => {
        tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('o-1');
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
      })
      .catch((e: unknown) => e)) as Error;
    expect(unavailable(error), String(error)).toBe(true);
    expect(error.message).toContain(`database file ${path} was deleted or replaced`);
    await store.close();
  });
});

describe('set-up', () => {
  it('migrate() creates the table again after it was dropped', async () => {
    const path = file();
    const store = createSqliteStore({ database: path });
    const db = new Database(path);
    db.exec('DROP TABLE c2p_idempotency');
    db.close();
    await store.migrate();
    expect((await store.claim('k', 1000)).status).toBe('acquired');
    await store.close();
  });

  it('refuses a table name that is not a string, even one that prints as a valid name', () => {
    for (const create of [createSqliteStore, createSqliteInbox]) {
      let error: unknown;
      try {
        create({ database: file(), table: ['webhooks'] } as never);
      } catch (e) {
        error = e;
      }
      expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
      expect((error as Error).message).toContain('options.table');
    }
  });

  it('leaves a Database it was given open when that is not a database', () => {
    const path = file();
    writeFileSync(path, 'not a SQLite database, a text file long enough to be read '.repeat(20));
    const db = new Database(path);
    expect(() => createSqliteStore({ database: db })).toThrow();
    expect(db.open).toBe(true);
    db.close();
  });
});

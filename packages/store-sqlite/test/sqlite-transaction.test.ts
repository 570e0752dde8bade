import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createSqliteInbox, createSqliteStore } from '../src/index.js';
import { databaseFiles, lockHolders, tempFolder } from './support/sqlite-files.js';

const file = databaseFiles(tempFolder('transaction'));
const holdWriteLock = lockHolders();

const caught = (error: unknown): { name: string; message: string } => ({
  name: (error as Error).name,
  message: (error as Error).message,
});

describe('a handler reading tx.db', () => {
  it('is told another transaction of this process holds the write lock, and is run again after it', async () => {
    const path = file();
    const store = createSqliteStore({ database: path, synchronous: 'NORMAL' });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = store.processOnce('a', 60_000, async (tx) => {
      tx.db.exec('SELECT 1');
      await held;
    });
    await sleep(20);
    const seen: { name: string; message: string }[] = [];
    let runs = 0;
    const second = store.processOnce('b', 60_000, async (tx) => {
      runs++;
      try {
        tx.db.exec('SELECT 1');
      } catch (error) {
        seen.push(caught(error));
        throw error;
      }
    });
    await sleep(50);
    release();
    expect(await first).toBe('processed');
    expect(await second).toBe('processed');
    expect(seen).toEqual([
      {
        name: 'WriteLockConflict',
        message:
          '[@c2p/store-sqlite] the write lock is held by another transaction of this process; the store retries the whole transaction',
      },
    ]);
    expect(runs).toBe(2);
    await store.close();
  });

  it('is told another connection holds the write lock, and is run again once it is free', async () => {
    const path = file();
    const store = createSqliteStore({ database: path, synchronous: 'NORMAL' });
    await store.migrate();
    await holdWriteLock(path, 300);
    const seen: { name: string; message: string }[] = [];
    const result = await store.processOnce('k', 60_000, async (tx) => {
      try {
        tx.db.exec('SELECT 1');
      } catch (error) {
        seen.push(caught(error));
        throw error;
      }
    });
    expect(result).toBe('processed');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toEqual({
      name: 'WriteLockConflict',
      message:
        '[@c2p/store-sqlite] the write lock is held by another connection; the store retries the whole transaction',
    });
    // A conflict the handler swallows is still a conflict: it is run again.
    let attempts = 0;
    const again = await holdWriteLock(path, 300);
    const exited = new Promise((resolve) => again.once('exit', resolve));
    const secondReads: string[] = [];
    expect(
      await store.processOnce('swallowed', 60_000, async (tx) => {
        attempts++;
        try {
          tx.db.exec('SELECT 1');
        } catch {
          if (attempts > 1) return;
          // Swallowed. Even once the other connection is gone, this attempt's
          // tx.db keeps throwing the same conflict: the store runs it again.
          await exited;
          try {
            tx.db.exec('SELECT 1');
            secondReads.push('opened');
          } catch (error) {
            secondReads.push((error as Error).message);
          }
        }
      }),
    ).toBe('processed');
    expect(secondReads).toEqual([
      '[@c2p/store-sqlite] the write lock is held by another connection; the store retries the whole transaction',
    ]);
    expect(attempts).toBeGreaterThan(1);
    await store.close();
  }, 20_000);

  it('is told the event was settled elsewhere when another connection completed it meanwhile: duplicate, nothing written', async () => {
    const path = file();
    const store = createSqliteStore({ database: path, synchronous: 'NORMAL' });
    const other = createSqliteStore({ database: path, synchronous: 'NORMAL' });
    const db = new Database(path);
    db.exec('CREATE TABLE orders (id TEXT)');
    const seen: { name: string; message: string }[] = [];
    const result = await store.processOnce('k', 60_000, async (tx) => {
      // Another process completes the key while this handler waits on the network.
      expect(await other.processOnce('k', 60_000, async () => undefined)).toBe('processed');
      try {
        tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('o-1');
      } catch (error) {
        seen.push(caught(error));
      }
    });
    expect(result).toBe('duplicate');
    expect(seen).toEqual([
      {
        name: 'TransactionSettled',
        message:
          '[@c2p/store-sqlite] this event was settled elsewhere; the transaction is not needed',
      },
    ]);
    expect(db.prepare('SELECT count(*) FROM orders').pluck().get()).toBe(0);
    db.close();
    await other.close();
    await store.close();
  });

  it('is told the lease was settled when another owner took it over meanwhile: false, nothing written', async () => {
    let time = 1_000_000;
    const path = file();
    const store = createSqliteStore({ database: path, now: () => time });
    const db = new Database(path);
    db.exec('CREATE TABLE orders (id TEXT)');
    const stale = (await store.claim('k', 100)) as { token: string };
    const seen: string[] = [];
    const done = await store.completeWithin('k', stale.token, 60_000, async (tx) => {
      time += 100;
      expect((await store.claim('k', 100)).status).toBe('acquired');
      try {
        tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('o-1');
      } catch (error) {
        seen.push((error as Error).name);
      }
      // Reading it again answers the same (a write now would escape the rollback).
      try {
        tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('o-2');
        seen.push('wrote');
      } catch (error) {
        seen.push((error as Error).name);
      }
    });
    expect(done).toBe(false);
    expect(seen).toEqual(['TransactionSettled', 'TransactionSettled']);
    expect(db.prepare('SELECT count(*) FROM orders').pluck().get()).toBe(0);
    db.close();
    await store.close();
  });

  it('in an inbox: a token taken over meanwhile is settled, false, and the new holder completes', async () => {
    let time = 1_000_000;
    const path = file();
    const inbox = createSqliteInbox({ database: path, now: () => time });
    const db = new Database(path);
    db.exec('CREATE TABLE orders (id TEXT)');
    await inbox.enqueue([
      {
        key: 'e',
        resourceKey: 'r',
        eventType: 'X',
        payload: '{}',
        receivedAt: time,
        clientIp: null,
      },
    ]);
    const [old] = await inbox.lease(1, 100);
    const settledSeen: string[] = [];
    let taken: { id: string; token: string } | undefined;
    const done = await inbox.completeWithin(old?.entry.id ?? '', old?.token ?? '', async (tx) => {
      time += 100;
      const [lease] = await inbox.lease(1, 60_000);
      taken = lease && { id: lease.entry.id, token: lease.token };
      try {
        tx.db.prepare('INSERT INTO orders (id) VALUES (?)').run('o-1');
      } catch (error) {
        settledSeen.push((error as Error).message);
      }
    });
    expect(settledSeen).toEqual([
      '[@c2p/store-sqlite] this event was settled elsewhere; the transaction is not needed',
    ]);
    expect(done).toBe(false);
    expect(db.prepare('SELECT count(*) FROM orders').pluck().get()).toBe(0);
    expect(await inbox.complete(taken?.id ?? '', taken?.token ?? '')).toBe(true);
    db.close();
    await inbox.close();
  });
});

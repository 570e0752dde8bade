// The inbox worker's own writes commit without waiting for an fsync; a delivery's
// commit, an operator's action and every write of the sync-mode store keep the
// configured `synchronous = FULL`. SQLite's setting is per connection and cannot
// change inside a transaction, so each write sets it before it begins: what a
// statement inside the transaction reads is what its COMMIT does.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createSqliteInbox, createSqliteStore } from '../src/index.js';
import { databaseFiles, inboxRecord, tempFolder } from './support/sqlite-files.js';

const file = databaseFiles(tempFolder('worker-commits'));

const FULL = 2;
const NORMAL = 1;
const syncOf = (db: Database.Database): number =>
  db.pragma('synchronous', { simple: true }) as number;

describe('SQLite inbox: the worker commits without an fsync, deliveries with one', () => {
  it('under FULL: leases, completions, failures and renewals run NORMAL; deliveries and operator actions FULL', async () => {
    // A Database passed in is the inbox's connection: its setting can be read between writes.
    const db = new Database(file());
    const inbox = createSqliteInbox({ database: db });
    const connection = { db };
    const seen: Record<string, number> = {};
    await inbox.enqueue([inboxRecord('a'), inboxRecord('b'), inboxRecord('c')]);
    seen.delivery = syncOf(connection.db);
    const [a, b, c] = await inbox.lease(3, 60_000);
    if (!a || !b || !c) throw new Error('expected three leases');
    seen.lease = syncOf(connection.db);
    await inbox.completeWithin(a.entry.id, a.token, async (tx) => {
      seen.handlerTransaction = syncOf(tx.db);
    });
    await inbox.renew(b.entry.id, b.token, 60_000);
    seen.renew = syncOf(connection.db);
    await inbox.fail(b.entry.id, b.token, { retryAt: null, error: 'boom' });
    seen.fail = syncOf(connection.db);
    await inbox.replay(b.entry.id);
    seen.operatorReplay = syncOf(connection.db);
    await inbox.complete(c.entry.id, c.token);
    seen.complete = syncOf(connection.db);
    await inbox.enqueue([inboxRecord('d')]);
    seen.nextDelivery = syncOf(connection.db);
    await inbox.close();
    db.close();
    expect(seen).toEqual({
      delivery: FULL,
      lease: NORMAL,
      handlerTransaction: NORMAL,
      renew: NORMAL,
      fail: NORMAL,
      operatorReplay: FULL,
      complete: NORMAL,
      nextDelivery: FULL,
    });
  });

  it('the sync-mode store on the same database keeps FULL, even right after a worker write', async () => {
    const db = new Database(file());
    const inbox = createSqliteInbox({ database: db });
    const connection = { db };
    const store = createSqliteStore({ database: db });
    await inbox.enqueue([inboxRecord('a')]);
    await inbox.lease(1, 60_000);
    expect(syncOf(connection.db)).toBe(NORMAL);
    let inside = 0;
    await store.processOnce('key-1', 60_000, async (tx) => {
      inside = syncOf(tx.db);
    });
    expect(inside).toBe(FULL);
    await store.close();
    await inbox.close();
    db.close();
  });

  it('under NORMAL it changes nothing', async () => {
    const db = new Database(file());
    const inbox = createSqliteInbox({ database: db, synchronous: 'NORMAL' });
    const connection = { db };
    await inbox.enqueue([inboxRecord('a')]);
    expect(syncOf(connection.db)).toBe(NORMAL);
    await inbox.lease(1, 60_000);
    expect(syncOf(connection.db)).toBe(NORMAL);
    await inbox.close();
    db.close();
  });
});

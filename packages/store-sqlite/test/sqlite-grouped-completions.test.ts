/**
 * The worker's completions join one commit: a handler that wrote nothing through
 * `tx.db` leaves only its event's completion to write, and completions that
 * settle together are committed in one transaction (one fsync), each in a
 * savepoint of its own.
 */
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSqliteInbox } from '../src/index.js';
import { openConnection } from '../src/sqlite-connection.js';
import { databaseFiles, inboxRecord, tempFolder } from './support/sqlite-files.js';

const file = databaseFiles(tempFolder('grouped-completions'));

const record = inboxRecord;

const noWrites = async (): Promise<void> => undefined;

describe("the worker's completions", () => {
  it('settling together write a fraction of the WAL that one commit each does, and every event is processed', async () => {
    const walBytes = async (together: boolean): Promise<number> => {
      const path = file();
      const inbox = createSqliteInbox({ database: path, synchronous: 'NORMAL' });
      await inbox.enqueue(Array.from({ length: 50 }, (_, i) => record(`k${i}`)));
      const leases = await inbox.lease(50, 60_000);
      expect(leases).toHaveLength(50);
      const before = statSync(`${path}-wal`).size;
      const complete = (lease: (typeof leases)[number]) =>
        inbox.completeWithin(lease.entry.id, lease.token, noWrites);
      const done: boolean[] = [];
      if (together) done.push(...(await Promise.all(leases.map(complete))));
      else for (const lease of leases) done.push(await complete(lease));
      const size = statSync(`${path}-wal`).size - before;
      expect(done).toEqual(Array(50).fill(true));
      expect((await inbox.list({ state: 'processed', limit: 100 })).length).toBe(50);
      await inbox.close();
      return size;
    };
    const together = await walBytes(true);
    const oneByOne = await walBytes(false);
    console.info(
      `SQLite inbox, 50 completions settling together: WAL grew ${together} bytes, ${oneByOne} with one commit each`,
    );
    expect(together * 5).toBeLessThan(oneByOne);
  });

  it('in one group: a token that no longer holds its event answers false alone, the others are processed', async () => {
    const inbox = createSqliteInbox({ database: file(), synchronous: 'NORMAL' });
    await inbox.enqueue([record('a'), record('b'), record('c')]);
    const [a, b, c] = await inbox.lease(3, 60_000);
    if (!a || !b || !c) throw new Error('expected three leases');
    const done = await Promise.all([
      inbox.completeWithin(a.entry.id, a.token, noWrites),
      inbox.completeWithin(b.entry.id, 'not-its-token', noWrites),
      inbox.completeWithin(c.entry.id, c.token, noWrites),
    ]);
    expect(done).toEqual([true, false, true]);
    expect((await inbox.get(a.entry.id))?.state).toBe('processed');
    expect((await inbox.get(b.entry.id))?.state).toBe('pending');
    expect((await inbox.get(c.entry.id))?.state).toBe('processed');
    await inbox.close();
  });
});

describe('a group of completions on the connection', () => {
  it('rolls back one that answers commit: false and keeps the rest; one that throws fails alone', async () => {
    const connection = openConnection(file(), 'NORMAL');
    const { db } = connection;
    db.exec('CREATE TABLE t (name TEXT PRIMARY KEY)');
    const insert = (name: string) => () => {
      db.prepare('INSERT INTO t (name) VALUES (?)').run(name);
      return { commit: name !== 'rolled-back', value: name };
    };
    const throws = () => {
      db.prepare('INSERT INTO t (name) VALUES (?)').run('before-the-throw');
      throw new Error('this completion fails');
    };
    const finishes = [insert('one'), insert('rolled-back'), throws, insert('two')];
    const outcomes = await Promise.allSettled(
      finishes.map((finish) => connection.transact(noWrites, finish, 1_000)),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    // Refused as the store's failure, with the completion's own error as its cause.
    const refused = (outcomes[2] as PromiseRejectedResult).reason as Error & { cause?: Error };
    expect(refused.cause?.message).toBe('this completion fails');
    const names = db.prepare('SELECT name FROM t ORDER BY name').pluck().all();
    expect(names).toEqual(['one', 'two']);
    await connection.close();
  });
});

// In-memory databases (":memory:", or a Database opened on one): no file to
// check for deletion, no directory to create, and every operation still works.
import type { InboxRecord } from '@c2p/core/kit';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createSqliteInbox, createSqliteStore } from '../src/index.js';

const record: InboxRecord = {
  key: 'e',
  resourceKey: 'r',
  eventType: 'PAYMENT-COMPLETED',
  payload: '{}',
  receivedAt: 1,
  clientIp: null,
};

describe('an in-memory database', () => {
  it.each([
    [':memory:', () => ':memory:'],
    ['a Database on :memory:', () => new Database(':memory:')],
    ['an anonymous temporary Database', () => new Database('')],
  ])('serves a store and an inbox: %s', async (_, database) => {
    const db = database();
    const store = createSqliteStore({ database: db });
    expect((await store.claim('k', 60_000)).status).toBe('acquired');
    expect(await store.processOnce('p', 60_000, async (tx) => void tx.db.exec('SELECT 1'))).toBe(
      'processed',
    );
    expect(await store.processOnce('p', 60_000, async () => undefined)).toBe('duplicate');
    await store.close();
    const inbox = createSqliteInbox({ database: db });
    expect(await inbox.enqueue([record])).toEqual([true]);
    const [lease] = await inbox.lease(1, 60_000);
    expect(
      await inbox.completeWithin(lease?.entry.id ?? '', lease?.token ?? '', async () => {}),
    ).toBe(true);
    expect(await inbox.counts()).toEqual({
      pending: 0,
      retrying: 0,
      dead: 0,
      processed: 1,
      resolved: 0,
    });
    await inbox.close();
    if (typeof db !== 'string') db.close();
  });
});

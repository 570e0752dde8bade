// The SQLite inbox's defaults and the ids it refuses, seen from outside: the
// 30-day retention, the 10,000-event queue, sweeps of 1,000, and operations on
// ids it never gave. Found by mutation testing (`npm run mutation -- store-sqlite`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isC2pError } from '@c2p/core';
import type { InboxRecord } from '@c2p/core/kit';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteInbox, createSqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'c2p-sqlite-inbox-edges-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (): string => join(dir, `db-${n++}.db`);

const day = 24 * 60 * 60 * 1000;
const record = (key: string, receivedAt = 1): InboxRecord => ({
  key,
  resourceKey: `r:${key}`,
  eventType: 'PAYMENT-COMPLETED',
  payload: '{}',
  receivedAt,
  clientIp: null,
});

describe('the inbox defaults', () => {
  it('keeps a processed event 30 days, then sweeps it', async () => {
    let time = 1_000_000;
    const inbox = createSqliteInbox({ database: file(), now: () => time, synchronous: 'NORMAL' });
    await inbox.enqueue([record('a', time)]);
    const [lease] = await inbox.lease(1, 1000);
    expect(await inbox.complete(lease?.entry.id ?? '', lease?.token ?? '')).toBe(true);
    time += 30 * day - 1;
    expect(await inbox.sweep()).toBe(0);
    time += 1;
    expect(await inbox.sweep()).toBe(1);
    await inbox.close();
  });

  it('queues up to 10,000 events: one delivery of 10,001 is refused at once', async () => {
    const inbox = createSqliteInbox({ database: file(), synchronous: 'NORMAL' });
    const many = Array.from({ length: 10_001 }, (_, i) => record(`k${i}`));
    const error = await inbox.enqueue(many).catch((e: unknown) => e);
    expect(isC2pError(error, 'STORE_UNAVAILABLE'), String(error)).toBe(true);
    expect((error as Error).message).toBe(
      "[@c2p/store-sqlite] the inbox's commit queue is full (10000 events, options.queueLimit)",
    );
    expect(await inbox.enqueue(many.slice(0, 10_000))).toHaveLength(10_000);
    expect((await inbox.counts()).pending).toBe(10_000);
    await inbox.close();
  });

  it('sweeps at most 1,000 events at a time', async () => {
    const path = file();
    const inbox = createSqliteInbox({ database: path, retainMs: 1000, synchronous: 'NORMAL' });
    const db = new Database(path);
    const insert = db.prepare(
      `INSERT INTO c2p_inbox (key, resource_key, event_type, payload, received_at, state, processed_at)
       VALUES (?, 'r', 'X', '{}', 1, 'processed', 1)`,
    );
    db.transaction(() => {
      for (let i = 0; i < 1005; i++) insert.run(`k${i}`);
    })();
    db.close();
    expect(await inbox.sweep()).toBe(1000);
    expect(await inbox.sweep()).toBe(5);
    await inbox.close();
  });
});

describe('ids the inbox never gave', () => {
  it('answer false or nothing, and run no handler', async () => {
    const inbox = createSqliteInbox({ database: file(), synchronous: 'NORMAL' });
    await inbox.enqueue([record('a')]);
    const [lease] = await inbox.lease(1, 60_000);
    let ran = false;
    for (const id of ['nope', '0', '-1', '1.5', '']) {
      expect(await inbox.renew(id, lease?.token ?? '', 1000)).toBe(false);
      expect(await inbox.fail(id, lease?.token ?? '', { error: 'x', retryAt: null })).toBe(false);
      expect(
        await inbox.completeWithin(id, lease?.token ?? '', async () => {
          ran = true;
        }),
      ).toBe(false);
    }
    expect(ran).toBe(false);
    // The real id still works.
    expect(await inbox.renew(lease?.entry.id ?? '', lease?.token ?? '', 1000)).toBe(true);
    await inbox.close();
  });
});

describe('closing an inbox twice', () => {
  it('closes only itself, once: the store on the same Database keeps working', async () => {
    const db = new Database(file());
    const store = createSqliteStore({ database: db });
    const inbox = createSqliteInbox({ database: db });
    await inbox.close();
    await inbox.close();
    expect((await store.claim('k', 1000)).status).toBe('acquired');
    await store.close();
    expect(db.open).toBe(true);
    db.close();
  });
});

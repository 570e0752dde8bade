import { randomBytes } from 'node:crypto';
import { isC2pError } from '@c2p/core';
import type { InboxRecord } from '@c2p/core/kit';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisInbox, RedisInboxOptions } from '../src/index.js';
import { createRedisInbox } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const client = createClient({ url });
client.on('error', () => undefined);
const root = `c2p_${randomBytes(6).toString('hex')}`;
const opened: RedisInbox[] = [];
beforeAll(async () => {
  await client.connect();
});
afterAll(async () => {
  await Promise.allSettled(opened.map((inbox) => inbox.close()));
  for await (const keys of client.scanIterator({ MATCH: `${root}*`, COUNT: 1000 })) {
    if (keys.length > 0) await client.del(keys);
  }
  await client.close();
});

let prefixes = 0;
const freshPrefix = (): string => `${root}:${++prefixes}:`;
// The test server runs `appendfsync everysec`: redis-inbox.test.ts checks durability on its own.
const open = (keyPrefix: string, options: Partial<RedisInboxOptions> = {}): RedisInbox => {
  const inbox = createRedisInbox({ client: url, keyPrefix, durability: 'trust', ...options });
  opened.push(inbox);
  return inbox;
};

let serial = 0;
const record = (resource: string, eventType = 'PAYMENT-COMPLETED'): InboxRecord => ({
  key: `${resource}:${++serial}`,
  resourceKey: `payment-request:${resource}`,
  eventType,
  payload: JSON.stringify({ eventType, resource: { id: resource } }),
  receivedAt: Date.now(),
  clientIp: '127.0.0.1',
});

/** Leases every due event and fails it for good: `count` dead events. */
async function killAll(inbox: RedisInbox, count: number): Promise<void> {
  let dead = 0;
  while (dead < count) {
    const leases = await inbox.lease(100, 30_000);
    if (leases.length === 0) throw new Error(`only ${dead} of ${count} events were due`);
    for (const { entry, token } of leases) {
      await inbox.fail(entry.id, token, { error: 'down', retryAt: null });
      dead++;
    }
  }
}

describe('Redis inbox operations', () => {
  it('pauses every process of the inbox, across a new client, and accepts deliveries meanwhile', async () => {
    const prefix = freshPrefix();
    const one = open(prefix);
    const other = open(prefix);
    await one.setPaused(true);
    expect(await other.enqueue([record('P-1'), record('P-2')])).toEqual([true, true]);
    expect(await other.lease(10, 30_000)).toEqual([]);
    expect(await one.lease(10, 30_000)).toEqual([]);
    expect(await open(prefix).isPaused()).toBe(true);
    await other.setPaused(false);
    expect(await one.isPaused()).toBe(false);
    expect((await one.lease(10, 30_000)).map(({ entry }) => entry.resourceKey)).toEqual([
      'payment-request:P-1',
      'payment-request:P-2',
    ]);
  });

  it('replays each dead event once when two clients replay the same filter at once', async () => {
    const prefix = freshPrefix();
    const one = open(prefix);
    const other = open(prefix);
    await one.enqueue(Array.from({ length: 1200 }, (_, n) => record(`R-${n}`)));
    await killAll(one, 1200);
    const filter = { eventType: 'PAYMENT-COMPLETED' };
    expect(await other.replayMatching(filter, { dryRun: true })).toBe(1200);
    const counts = await Promise.all([
      one.replayMatching(filter),
      other.replayMatching(filter),
      other.replayMatching({ state: 'dead' }),
    ]);
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(1200);
    expect(await one.replayMatching(filter)).toBe(0);
    expect((await one.counts()).pending).toBe(1200);
    let replays = 0;
    for (const id of ['1', '600', '1200']) {
      replays += (await one.history(id)).filter((item) => item.action === 'replayed').length;
    }
    expect(replays).toBe(3);
  });

  it('refuses to bulk-replay any state but dead, naming filter.state', async () => {
    const error = await open(freshPrefix())
      .replayMatching({ state: 'pending' })
      .catch((e: unknown) => e);
    expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toContain('filter.state');
  });

  it('keeps the newest 50 history items of an event, attempts with their duration', async () => {
    const inbox = open(freshPrefix());
    await inbox.enqueue([record('H-1')]);
    for (let round = 0; round < 30; round++) {
      const [lease] = await inbox.lease(1, 30_000);
      if (!lease) throw new Error('nothing due');
      await inbox.fail(lease.entry.id, lease.token, {
        error: `down "${round}"`,
        retryAt: null,
        startedAt: Date.now() - 40,
      });
      expect(await inbox.replay(lease.entry.id)).toBe(true);
    }
    const [lease] = await inbox.lease(1, 30_000);
    if (!lease) throw new Error('nothing due');
    await inbox.complete(lease.entry.id, lease.token, { startedAt: Date.now() - 5 });
    const history = await inbox.history(lease.entry.id);
    expect(history).toHaveLength(50);
    expect(history[0]).toMatchObject({ action: 'replayed' });
    expect(history[1]).toMatchObject({ action: 'attempt', outcome: 'dead', error: 'down "6"' });
    expect(history[1]?.durationMs).toBeGreaterThanOrEqual(30);
    expect(history[49]).toMatchObject({ action: 'attempt', outcome: 'processed' });
  });

  it('sweeps processed and resolved events past the retention, their indexes and history too', async () => {
    const prefix = freshPrefix();
    let now = 1_000_000;
    const inbox = open(prefix, { retainMs: 1000, now: () => now });
    await inbox.enqueue(['S-1', 'S-2', 'S-3', 'S-4'].map((id) => record(id)));
    const [first, second, third] = await inbox.lease(3, 30_000);
    if (!first || !second || !third) throw new Error('three leases expected');
    await inbox.complete(first.entry.id, first.token);
    await inbox.fail(second.entry.id, second.token, { error: 'x', retryAt: null });
    await inbox.fail(third.entry.id, third.token, { error: 'x', retryAt: null });
    expect(await inbox.resolve(third.entry.id, 'done by hand')).toBe(true);
    expect(await inbox.resolve(third.entry.id, 'again')).toBe(false);
    now += 5000;
    expect(await inbox.sweep()).toBe(2);
    expect(await inbox.counts()).toEqual({
      pending: 1,
      retrying: 0,
      dead: 1,
      processed: 0,
      resolved: 0,
    });
    expect(await inbox.history(first.entry.id)).toEqual([]);
    expect((await inbox.search({})).entries.map((entry) => entry.id)).toEqual(['4', '2']);
    expect(await client.exists(`${prefix}x:r:payment-request:S-1`)).toBe(0);
  });

  it('finds, after an upgrade, the events an earlier version stored without search indexes', async () => {
    const prefix = freshPrefix();
    const before = open(prefix);
    await before.enqueue(Array.from({ length: 1100 }, (_, n) => record(`U-${n % 10}`)));
    // What the previous version wrote: no x:* keys.
    for await (const keys of client.scanIterator({ MATCH: `${prefix}x:*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.del(keys);
    }
    const after = open(prefix);
    const page = await after.search({ resourceKey: 'payment-request:U-3', limit: 100 });
    expect(page.entries).toHaveLength(100);
    const rest = await after.search({
      resourceKey: 'payment-request:U-3',
      limit: 100,
      after: page.next,
    });
    expect(rest.entries).toHaveLength(10);
    expect(rest.next).toBeNull();
  });

  it('pages through 1,200 events with a filter that only the scan checks (time), no gaps', async () => {
    const prefix = freshPrefix();
    const inbox = open(prefix);
    const since = Date.now() - 1;
    await inbox.enqueue(Array.from({ length: 1200 }, (_, n) => record(`T-${n}`)));
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: Awaited<ReturnType<RedisInbox['search']>> = await inbox.search({
        receivedSince: since,
        limit: 500,
        after,
      });
      seen.push(...page.entries.map((entry) => entry.id));
      after = page.next;
    } while (after !== null);
    expect(seen).toHaveLength(1200);
    expect(new Set(seen).size).toBe(1200);
    expect(seen[0]).toBe('1200');
    expect(seen[1199]).toBe('1');
  });
});

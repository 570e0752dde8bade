import { randomBytes } from 'node:crypto';
import { isC2pError } from '@c2p/core';
import type { InboxRecord } from '@c2p/core/kit';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisInbox, RedisInboxOptions } from '../src/index.js';
import { createRedisInbox } from '../src/index.js';
import { type PrivateRedis, startPrivateRedis } from './private-redis.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const client = createClient({ url });
client.on('error', () => undefined);
const prefix = `c2p_${randomBytes(6).toString('hex')}:`;
// A server of this file's own with the settings a 2xx needs, killed on purpose below.
let durable: PrivateRedis;
const opened: RedisInbox[] = [];
beforeAll(async () => {
  await client.connect();
  durable = await startPrivateRedis([
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--maxmemory-policy',
    'noeviction',
  ]);
}, 30_000);
afterAll(async () => {
  await Promise.allSettled(opened.map((inbox) => inbox.close()));
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length > 0) await client.del(keys);
  }
  await client.close();
  await durable?.dispose();
});

const open = (options: RedisInboxOptions): RedisInbox => {
  const inbox = createRedisInbox(options);
  opened.push(inbox);
  return inbox;
};
let serial = 0;
const record = (resource: string, n = ++serial): InboxRecord => ({
  key: `payment-request:${resource}:PAID:${n}`,
  resourceKey: `payment-request:${resource}`,
  eventType: 'PAYMENT-COMPLETED',
  payload: JSON.stringify({ eventType: 'PAYMENT-COMPLETED', resource: { id: resource } }),
  receivedAt: Date.now(),
  clientIp: '127.0.0.1',
});
const error = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (caught) {
    return caught as Error;
  }
  throw new Error('expected a rejection');
};

describe('createRedisInbox', () => {
  it.each([
    [{ client: 'http://localhost' }, 'options.client'],
    [{ client: 42 }, 'options.client'],
    [{ keyPrefix: '' }, 'options.keyPrefix'],
    [{ retainMs: 0 }, 'options.retainMs'],
    [{ sweepBatch: 1.5 }, 'options.sweepBatch'],
    [{ readyTimeoutMs: -1 }, 'options.readyTimeoutMs'],
    [{ durability: 'hope' }, 'options.durability'],
    [{ durabilityCheckMs: -1 }, 'options.durabilityCheckMs'],
    [{ now: 5 }, 'options.now'],
  ])('rejects %o naming %s', (bad, path) => {
    const options = { client: url, ...bad } as unknown as RedisInboxOptions;
    let caught: unknown;
    try {
      createRedisInbox(options);
    } catch (e) {
      caught = e;
    }
    expect(isC2pError(caught, 'INVALID_OPTIONS')).toBe(true);
    expect((caught as Error).message).toContain(`[@c2p/store-redis] ${path}:`);
  });

  it('refuses deliveries on a server that would lose them in a crash, naming the setting, and still drains what is stored', async () => {
    // The shared test server runs appendfsync everysec.
    const trusting = open({ client: url, keyPrefix: `${prefix}drain:`, durability: 'trust' });
    await trusting.enqueue([record('PR-1')]);
    const inbox = open({ client: url, keyPrefix: `${prefix}drain:` });
    const refused = await error(inbox.enqueue([record('PR-2')]));
    expect(isC2pError(refused, 'STORE_UNAVAILABLE')).toBe(true);
    expect(refused.message).toContain('appendfsync is everysec, needs always');
    await expect(inbox.verifyDurability()).rejects.toThrow('appendfsync is everysec');
    expect(await inbox.counts()).toEqual({
      pending: 1,
      retrying: 0,
      dead: 0,
      processed: 0,
      resolved: 0,
    });
    const [lease] = await inbox.lease(5, 10_000);
    expect(lease && (await inbox.complete(lease.entry.id, lease.token))).toBe(true);
  });

  it('accepts deliveries on a server with appendonly yes, appendfsync always and noeviction', async () => {
    const inbox = open({ client: durable.url, keyPrefix: `${prefix}ok:` });
    await inbox.verifyDurability();
    expect(await inbox.enqueue([record('PR-1')])).toEqual([true]);
  });

  it('refuses the very next delivery once appendfsync is weakened at run time, however recent the last check', async () => {
    const admin = createClient({ url: durable.url });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      // The default durabilityCheckMs (10 s): a cached check would accept PR-2.
      const inbox = open({ client: durable.url, keyPrefix: `${prefix}at-once:` });
      // Two deliveries: the second is checked on the connected client, a check
      // the inbox used to trust for durabilityCheckMs.
      expect(await inbox.enqueue([record('PR-1')])).toEqual([true]);
      expect(await inbox.enqueue([record('PR-1')])).toEqual([true]);
      await admin.configSet('appendfsync', 'everysec');
      const second = record('PR-2');
      const refused = await error(inbox.enqueue([second]));
      expect(isC2pError(refused, 'STORE_UNAVAILABLE')).toBe(true);
      expect(refused.message).toContain('appendfsync is everysec, needs always');
      await admin.configSet('appendfsync', 'always');
      // Written in the same round trip as the refused check: Clik2pay's retry is a duplicate.
      expect(await inbox.enqueue([second])).toEqual([false]);
      expect(await inbox.enqueue([record('PR-3')])).toEqual([true]);
    } finally {
      await admin.configSet('appendfsync', 'always');
      await admin.close();
    }
  });

  it('reads the settings again once a passed check is durabilityCheckMs old, and refuses once they weakened', async () => {
    const admin = createClient({ url: durable.url });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      const inbox = open({
        client: durable.url,
        keyPrefix: `${prefix}recheck:`,
        durabilityCheckMs: 200,
      });
      expect(await inbox.enqueue([record('PR-1')])).toEqual([true]);
      await admin.configSet('appendfsync', 'everysec');
      await new Promise((resolve) => setTimeout(resolve, 250));
      const refused = await error(inbox.enqueue([record('PR-2')]));
      expect(isC2pError(refused, 'STORE_UNAVAILABLE')).toBe(true);
      expect(refused.message).toContain('appendfsync is everysec, needs always');
      await admin.configSet('appendfsync', 'always');
      expect(await inbox.enqueue([record('PR-3')])).toEqual([true]);
      // PR-2 was refused, yet written in the same round trip as the check: its
      // retry is a duplicate. No 2xx was given for it while the settings were weak.
      expect((await inbox.counts()).pending).toBe(3);
    } finally {
      await admin.configSet('appendfsync', 'always');
      await admin.close();
    }
  });

  it('reads the settings again after a reconnect, however recent the last check', async () => {
    const admin = createClient({ url: durable.url });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      const inbox = open({
        client: durable.url,
        keyPrefix: `${prefix}reconnect:`,
        durabilityCheckMs: 600_000,
      });
      expect(await inbox.enqueue([record('PR-1')])).toEqual([true]);
      await admin.configSet('appendfsync', 'everysec');
      // Drops every other client's connection (the inbox's included); they reconnect.
      await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
      const deadline = Date.now() + 5_000;
      let refused: Error | undefined;
      while (!refused) {
        try {
          await inbox.enqueue([record('PR-2')]);
          throw new Error('a delivery was accepted after a reconnect to a server running everysec');
        } catch (caught) {
          const message = (caught as Error).message;
          if (message.includes('appendfsync is everysec')) refused = caught as Error;
          else if (!isC2pError(caught, 'STORE_UNAVAILABLE') || Date.now() > deadline) throw caught;
          else await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      expect(isC2pError(refused, 'STORE_UNAVAILABLE')).toBe(true);
    } finally {
      await admin.configSet('appendfsync', 'always');
      await admin.close();
    }
  });

  it('refuses deliveries when it cannot read the settings (CONFIG forbidden), and says how to vouch for them', async () => {
    const admin = createClient({ url: durable.url });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.sendCommand(['ACL', 'SETUSER', 'noconfig', 'on', '>pw', '~*', '+@all', '-config']);
    await admin.close();
    const limited = durable.url.replace('redis://', 'redis://noconfig:pw@');
    const refused = await error(
      open({ client: limited, keyPrefix: `${prefix}acl:` }).enqueue([record('PR-1')]),
    );
    expect(isC2pError(refused, 'STORE_UNAVAILABLE')).toBe(true);
    expect(refused.message).toContain("cannot read the Redis server's persistence settings");
    expect(refused.message).toContain("durability: 'trust'");
    const trusted = open({ client: limited, keyPrefix: `${prefix}acl:`, durability: 'trust' });
    expect(await trusted.enqueue([record('PR-1')])).toEqual([true]);
  });

  it('answers STORE_UNAVAILABLE (not a settings complaint) when the server cannot be reached', async () => {
    const inbox = open({ client: 'redis://127.0.0.1:1', readyTimeoutMs: 300 });
    const refused = await error(inbox.enqueue([record('PR-1')]));
    expect(isC2pError(refused, 'STORE_UNAVAILABLE')).toBe(true);
    expect(refused.message).not.toContain('persistence');
  });

  it('works on a client passed in, leaves it open, and sends its scripts again after a script flush', async () => {
    const inbox = createRedisInbox({ client, keyPrefix: `${prefix}own:`, durability: 'trust' });
    await client.scriptFlush();
    expect(await inbox.enqueue([record('PR-1')])).toEqual([true]);
    expect(await client.hLen(`${prefix}own:keys`)).toBe(1);
    await inbox.close();
    expect(client.isReady).toBe(true);
    await expect(inbox.counts()).rejects.toSatisfy((e) => isC2pError(e, 'STORE_UNAVAILABLE'));
  });

  it('lets a replayed event wait for its resource’s live lease, then take over when that lease runs out', async () => {
    let time = Date.now();
    const inbox = open({
      client: url,
      keyPrefix: `${prefix}replay:`,
      now: () => time,
      durability: 'trust',
    });
    const [a, b] = [record('R1'), record('R1')];
    await inbox.enqueue([a, b]);
    const [first] = await inbox.lease(5, 60_000);
    if (!first) throw new Error('expected a lease');
    await inbox.fail(first.entry.id, first.token, { error: 'poison', retryAt: null });
    const [second] = await inbox.lease(5, 1_000);
    expect(second?.entry.key).toBe(b.key);
    expect(await inbox.replay(first.entry.id)).toBe(true);
    // The later event is leased: the replayed one waits, nothing else runs.
    expect(await inbox.lease(5, 60_000)).toEqual([]);
    time += 1_001;
    // Its lease ran out: the earlier (replayed) event goes first, then the later one.
    const [third] = await inbox.lease(5, 60_000);
    expect(third?.entry.key).toBe(a.key);
    expect(await inbox.lease(5, 60_000)).toEqual([]);
    expect(third && (await inbox.complete(third.entry.id, third.token))).toBe(true);
    const [fourth] = await inbox.lease(5, 60_000);
    expect(fourth?.entry).toMatchObject({ key: b.key, attempts: 2 });
  });

  it('keeps every acknowledged delivery through a SIGKILL of Redis (appendfsync always), each with its deduplication key', async () => {
    const keyPrefix = `${prefix}crash:`;
    const inbox = open({ client: durable.url, keyPrefix, readyTimeoutMs: 300 });
    await inbox.verifyDurability();
    const acknowledged: InboxRecord[] = [];
    const sent: InboxRecord[] = [];
    let failed = 0;
    let stop = false;
    const sender = async (s: number): Promise<void> => {
      while (!stop) {
        const delivery = [record(`PR-${s}`), record(`PR-${s + 100}`)];
        sent.push(...delivery);
        try {
          if ((await inbox.enqueue(delivery)).every(Boolean)) acknowledged.push(...delivery);
        } catch {
          failed++;
          return;
        }
      }
    };
    const senders = Promise.all(Array.from({ length: 20 }, (_, s) => sender(s)));
    await new Promise((resolve) => setTimeout(resolve, 700));
    await durable.kill();
    stop = true;
    await senders;
    await durable.start();
    const after = open({ client: durable.url, keyPrefix, durability: 'trust' });
    const counts = await after.counts();
    // Every 2xx survived; and nothing half-written: each stored event has its key, and no key lacks its event.
    const again = await after.enqueue(acknowledged);
    const lost = again.filter(Boolean).length;
    const admin = createClient({ url: durable.url });
    admin.on('error', () => undefined);
    await admin.connect();
    const keys = await admin.hLen(`${keyPrefix}keys`);
    await admin.close();
    console.info(
      `[store-redis] inbox, Redis SIGKILLed under 20 concurrent senders (appendfsync always): ${acknowledged.length} events acknowledged, ` +
        `${sent.length - acknowledged.length} in flight or refused (${failed} senders saw STORE_UNAVAILABLE); after restart: ${counts.pending} stored, ` +
        `${keys} deduplication keys, acknowledged but lost: ${lost}`,
    );
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(lost).toBe(0);
    expect(keys).toBe(counts.pending + lost);
    expect(counts.pending).toBeGreaterThanOrEqual(acknowledged.length);
  }, 30_000);

  it('measures enqueue rates at c=1 and c=50 (one event per delivery)', async () => {
    const rate = async (target: string, concurrency: number): Promise<number> => {
      const inbox = open({
        client: target,
        keyPrefix: `${prefix}rate${concurrency}:`,
        durability: 'trust',
      });
      await inbox.counts();
      let done = 0;
      const until = performance.now() + 1_500;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async (_, s) => {
          while (performance.now() < until) {
            const [inserted] = await inbox.enqueue([record(`PR-${s}-${done % 7}`)]);
            if (inserted) done++;
          }
        }),
      );
      const perSecond = done / ((performance.now() - started) / 1000);
      expect((await inbox.counts()).pending).toBe(done);
      return Math.round(perSecond);
    };
    const always1 = await rate(durable.url, 1);
    const always50 = await rate(durable.url, 50);
    const everysec1 = await rate(url, 1);
    const everysec50 = await rate(url, 50);
    console.info(
      `[store-redis] inbox enqueue, deliveries/s: appendfsync always c=1 ${always1}, c=50 ${always50}; ` +
        `appendfsync everysec (not durable) c=1 ${everysec1}, c=50 ${everysec50}`,
    );
    expect(always1).toBeGreaterThan(0);
  }, 30_000);
});

import { describe, expect, it } from 'vitest';
import { createMemoryInbox } from '../src/memory-inbox.js';
import { createMemoryStore } from '../src/memory-store.js';

// The memory store and inbox are for tests and trials, but a trial under load must
// not grow the process without end: both hold a bounded number of finished keys.

describe('memory store bound', () => {
  it('holds at most maxKeys keys, forgetting the oldest completed first and never a claimed one', async () => {
    const store = createMemoryStore({ maxKeys: 32 });
    const claimed = await store.claim('held', 60_000);
    expect(claimed.status).toBe('acquired');
    for (let i = 0; i < 100; i++) {
      const claim = await store.claim(`k${i}`, 60_000);
      if (claim.status !== 'acquired') throw new Error(`k${i}: ${claim.status}`);
      expect(await store.complete(`k${i}`, claim.token, 60_000)).toBe(true);
    }
    expect(store.size()).toBeLessThanOrEqual(32);
    console.log(`memory store, maxKeys 32, 101 keys claimed: holds ${store.size()}`);
    // The claimed key survived every eviction and is still its owner's.
    expect(await store.claim('held', 60_000)).toEqual({ status: 'in_progress' });
    if (claimed.status === 'acquired')
      expect(await store.complete('held', claimed.token, 60_000)).toBe(true);
    // The newest completed keys are still duplicates; the oldest were forgotten.
    expect(await store.claim('k99', 60_000)).toEqual({ status: 'completed' });
    expect((await store.claim('k0', 60_000)).status).toBe('acquired');
  });

  it('forgets expired abandoned claims before any completed key still retained', async () => {
    // While every claim adds a key, the sweep on claim never comes round: abandoned
    // claims (their owner crashed) used to count against maxKeys and push out live
    // completed keys, so a redelivery of one was processed again.
    let now = 0;
    const store = createMemoryStore({ maxKeys: 4000, now: () => now });
    for (let i = 0; i < 3000; i++) store.claim(`abandoned-${i}`, 1_000);
    now = 2_000; // every abandoned lease has run out
    for (let i = 0; i < 3000; i++) {
      const claim = store.claim(`done-${i}`, 1_000);
      if (claim.status !== 'acquired') throw new Error(`done-${i}: ${claim.status}`);
      expect(await store.complete(`done-${i}`, claim.token, 3_600_000)).toBe(true);
    }
    const kept = Array.from({ length: 3000 }, (_, i) => store.claim(`done-${i}`, 1_000)).filter(
      (claim) => claim.status === 'completed',
    ).length;
    console.log(
      `memory store, maxKeys 4000, 3000 abandoned claims then 3000 completed keys: ${kept} of 3000 still duplicates`,
    );
    expect(kept).toBe(3000);
  });

  it('once past maxKeys, goes down to a sixteenth under it even when the sweep freed some', async () => {
    // Otherwise a store just under its bound would sweep the whole map at every completion.
    let now = 0;
    const store = createMemoryStore({ maxKeys: 32, now: () => now });
    store.claim('abandoned-1', 1_000);
    store.claim('abandoned-2', 1_000);
    now = 2_000;
    for (let i = 0; i < 31; i++) {
      const claim = store.claim(`done-${i}`, 1_000);
      if (claim.status !== 'acquired') throw new Error(`done-${i}: ${claim.status}`);
      await store.complete(`done-${i}`, claim.token, 3_600_000);
    }
    // 33 keys at the last completion: the two expired claims go, then the oldest
    // completed key, down to 30.
    expect(store.size()).toBe(30);
    expect(store.claim('done-0', 1_000).status).toBe('acquired');
    expect(store.claim('done-1', 1_000)).toEqual({ status: 'completed' });
  });

  it('forgets the oldest completed sixteenth at once when past maxKeys, and nothing before', async () => {
    const store = createMemoryStore({ maxKeys: 32 });
    const complete = async (key: string) => {
      const claim = await store.claim(key, 60_000);
      if (claim.status !== 'acquired') throw new Error(`${key}: ${claim.status}`);
      expect(await store.complete(key, claim.token, 60_000)).toBe(true);
    };
    for (let i = 0; i < 32; i++) await complete(`k${i}`);
    expect(store.size()).toBe(32);
    // The 33rd: one over, plus a sixteenth of 32: the three oldest go.
    await complete('k32');
    expect(store.size()).toBe(30);
    for (const key of ['k3', 'k32'])
      expect(await store.claim(key, 60_000)).toEqual({ status: 'completed' });
    expect((await store.claim('k2', 60_000)).status).toBe('acquired');
  });

  it('sweeps expired claims once claims outnumber the keys held, before they push out a completed key', async () => {
    let now = 0;
    const store = createMemoryStore({ maxKeys: 1_100, now: () => now });
    const live = await store.claim('live', 1_000);
    if (live.status !== 'acquired') throw new Error(live.status);
    await store.complete('live', live.token, 1_000_000);
    // 1,000 claims whose owners vanished, expired now.
    for (let i = 0; i < 1_000; i++) await store.claim(`abandoned-${i}`, 10);
    now = 10;
    // Redeliveries of an event in progress: 1,100 claims, no new key. They sweep.
    expect((await store.claim('busy', 1_000_000)).status).toBe('acquired');
    for (let i = 0; i < 1_100; i++) await store.claim('busy', 1_000_000);
    // 150 new completed keys: 1,152 with the expired claims, 152 without.
    for (let i = 0; i < 150; i++) {
      const claim = await store.claim(`next-${i}`, 1_000);
      if (claim.status === 'acquired') await store.complete(`next-${i}`, claim.token, 1_000_000);
    }
    expect(await store.claim('live', 1_000)).toEqual({ status: 'completed' });
  });

  it('names a bad maxKeys', () => {
    expect(() => createMemoryStore({ maxKeys: 0 })).toThrow('options.maxKeys');
  });
});

describe('memory inbox bound', () => {
  const record = (i: number) => ({
    key: `k${i}`,
    resourceKey: `payment-request:r${i}`,
    eventType: 'PAYMENT-COMPLETED',
    payload: '{}',
    receivedAt: 0,
    clientIp: null,
  });

  it('keeps at most maxProcessed processed events, oldest first out, and never drops unfinished ones', async () => {
    const inbox = createMemoryInbox({ maxProcessed: 10 });
    expect(await inbox.enqueue(Array.from({ length: 40 }, (_, i) => record(i)))).toEqual(
      Array(40).fill(true),
    );
    // Process the first 30; the other 10 stay pending.
    for (const { entry, token } of await inbox.lease(30, 60_000))
      expect(await inbox.complete(entry.id, token)).toBe(true);
    const counts = await inbox.counts();
    console.log(`memory inbox, maxProcessed 10, 30 of 40 processed: ${JSON.stringify(counts)}`);
    expect(counts).toEqual({ pending: 10, retrying: 0, dead: 0, processed: 10, resolved: 0 });
    expect(inbox.size()).toBe(20);
    // The newest processed ones still deduplicate; the oldest were forgotten.
    expect(await inbox.enqueue([record(29), record(0)])).toEqual([false, true]);
  });

  it('forgets exactly the excess, and keeps 10,000 processed events by default', async () => {
    for (const [maxProcessed, total] of [
      [10, 31],
      [undefined, 10_001],
    ] as const) {
      const inbox = createMemoryInbox(maxProcessed === undefined ? {} : { maxProcessed });
      await inbox.enqueue(Array.from({ length: total }, (_, i) => record(i)));
      for (const { entry, token } of await inbox.lease(total, 60_000))
        await inbox.complete(entry.id, token);
      expect((await inbox.counts()).processed).toBe(maxProcessed ?? 10_000);
    }
  });

  it('names a bad maxProcessed', () => {
    expect(() => createMemoryInbox({ maxProcessed: -1 })).toThrow('options.maxProcessed');
  });
});

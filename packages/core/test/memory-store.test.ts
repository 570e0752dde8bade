import { describe, expect, it, vi } from 'vitest';
import type { ClaimResult } from '../src/idempotency-store.js';
import { createMemoryStore } from '../src/memory-store.js';

function fakeClock(start = 1_000_000) {
  let time = start;
  return {
    now: () => time,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

async function acquire(
  store: ReturnType<typeof createMemoryStore>,
  key: string,
  leaseMs: number,
): Promise<string> {
  const claim = await store.claim(key, leaseMs);
  if (claim.status !== 'acquired') throw new Error(`expected acquired, got ${claim.status}`);
  expect(claim.token).toEqual(expect.any(String));
  return claim.token;
}

describe('createMemoryStore', () => {
  it('draws no random value until the first claim (Workers refuse them at module scope)', async () => {
    const randomUUID = vi.spyOn(crypto, 'randomUUID');
    try {
      const store = createMemoryStore();
      expect(randomUUID).not.toHaveBeenCalled();
      await store.claim('k', 10);
      await store.claim('other', 10);
      expect(randomUUID).toHaveBeenCalledTimes(1);
    } finally {
      randomUUID.mockRestore();
    }
  });

  it('renews a lease for its owner only, from now', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    const token = await acquire(store, 'k', 1000);
    clock.advance(900);
    expect(await store.renew('k', 'someone else', 1000)).toBe(false);
    expect(await store.renew('k', token, 1000)).toBe(true);
    clock.advance(900); // 1800 ms after the claim, 900 ms after the renewal
    expect(await store.claim('k', 1000)).toEqual({ status: 'in_progress' });
    clock.advance(100);
    expect(await store.renew('k', token, 1000)).toBe(false); // ran out: another may claim it
    expect(await store.claim('k', 1000)).toMatchObject({ status: 'acquired' });
    expect(await store.complete('k', token, 1000)).toBe(false);
  });

  it('does not renew a completed key', async () => {
    const store = createMemoryStore();
    const token = await acquire(store, 'k', 1000);
    await store.complete('k', token, 5000);
    expect(await store.renew('k', token, 1000)).toBe(false);
  });

  it('issues a different token for every claim, and across stores', async () => {
    let now = 0;
    const one = createMemoryStore({ now: () => now });
    const two = createMemoryStore({ now: () => now });
    const first = await acquire(one, 'k', 10);
    now = 20; // the lease ran out: the same key is claimed again
    const second = await acquire(one, 'k', 10);
    const other = await acquire(two, 'k', 10);
    expect(new Set([first, second, other]).size).toBe(3);
    expect(await one.complete('k', first, 100)).toBe(false);
    expect(await one.complete('k', other, 100)).toBe(false);
    expect(await one.complete('k', second, 100)).toBe(true);
  });

  it('claims, then answers in_progress while the lease holds', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    await acquire(store, 'k', 1000);
    expect(await store.claim('k', 1000)).toEqual({ status: 'in_progress' });
    clock.advance(999);
    expect(await store.claim('k', 1000)).toEqual({ status: 'in_progress' });
    expect(await store.claim('other', 1000)).toMatchObject({ status: 'acquired' });
  });

  it('completes, then answers completed until the retention ends', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    const token = await acquire(store, 'k', 1000);
    expect(await store.complete('k', token, 5000)).toBe(true);
    expect(await store.claim('k', 1000)).toEqual({ status: 'completed' });
    // Retention counts from completion, not from the claim, and outlives the lease.
    clock.advance(4999);
    expect(await store.claim('k', 1000)).toEqual({ status: 'completed' });
    clock.advance(1);
    await acquire(store, 'k', 1000);
  });

  it('does not complete or release twice', async () => {
    const store = createMemoryStore({ now: fakeClock().now });
    const token = await acquire(store, 'k', 1000);
    expect(await store.complete('k', token, 5000)).toBe(true);
    expect(await store.complete('k', token, 5000)).toBe(false);
    expect(await store.release('k', token)).toBe(false);
    expect(await store.claim('k', 1000)).toEqual({ status: 'completed' });
  });

  it('releases, so the next claim acquires at once', async () => {
    const store = createMemoryStore({ now: fakeClock().now });
    const token = await acquire(store, 'k', 1000);
    expect(await store.release('k', token)).toBe(true);
    const next = await acquire(store, 'k', 1000);
    expect(next).not.toBe(token);
    expect(await store.release('k', token)).toBe(false);
  });

  it('lets an expired lease be claimed again', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    const first = await acquire(store, 'k', 1000);
    clock.advance(1000);
    const second = await acquire(store, 'k', 1000);
    expect(second).not.toBe(first);
  });

  it('ignores a stale owner: its complete and release do nothing and answer false', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    const stale = await acquire(store, 'k', 1000);
    clock.advance(1500);
    const current = await acquire(store, 'k', 1000);
    expect(await store.complete('k', stale, 5000)).toBe(false);
    expect(await store.release('k', stale)).toBe(false);
    // The current owner is untouched by both.
    expect(await store.claim('k', 1000)).toEqual({ status: 'in_progress' });
    expect(await store.complete('k', current, 5000)).toBe(true);
    expect(await store.claim('k', 1000)).toEqual({ status: 'completed' });
  });

  it('refuses an owner whose lease ran out even before anyone else claimed', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    const token = await acquire(store, 'k', 1000);
    clock.advance(1000);
    expect(await store.complete('k', token, 5000)).toBe(false);
    expect(await store.release('k', token)).toBe(false);
    await acquire(store, 'k', 1000);
  });

  it('refuses a token that was never issued, and a key never claimed', async () => {
    const store = createMemoryStore({ now: fakeClock().now });
    const token = await acquire(store, 'k', 1000);
    expect(await store.complete('k', 'forged', 5000)).toBe(false);
    expect(await store.release('k', 'forged')).toBe(false);
    expect(await store.complete('nope', token, 5000)).toBe(false);
    expect(await store.claim('k', 1000)).toEqual({ status: 'in_progress' });
  });

  it('lets exactly one of many concurrent claims acquire', async () => {
    const store = createMemoryStore();
    const results: ClaimResult[] = await Promise.all(
      Array.from({ length: 200 }, () => store.claim('race', 60_000)),
    );
    expect(results.filter((r) => r.status === 'acquired')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'in_progress')).toHaveLength(199);
  });

  it('lets exactly one of many concurrent claims acquire after a lease expires', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    await acquire(store, 'race', 1000);
    clock.advance(1000);
    const results = await Promise.all(Array.from({ length: 50 }, () => store.claim('race', 1000)));
    expect(results.filter((r) => r.status === 'acquired')).toHaveLength(1);
  });

  it('counts held keys, sweeping expired ones', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    const a = await acquire(store, 'a', 1000);
    await acquire(store, 'b', 3000);
    await store.complete('a', a, 10_000);
    expect(store.size()).toBe(2);
    clock.advance(3000);
    expect(store.size()).toBe(1);
    clock.advance(7000);
    expect(store.size()).toBe(0);
  });

  it('sweeps expired keys as new ones arrive, without forgetting live ones', async () => {
    const clock = fakeClock();
    const store = createMemoryStore({ now: clock.now });
    const live = await acquire(store, 'live', 1_000_000);
    await store.complete('live', live, 1_000_000);
    for (let i = 0; i < 3000; i++) await store.claim(`short-${i}`, 10);
    clock.advance(10);
    for (let i = 0; i < 3000; i++) await store.claim(`next-${i}`, 10);
    expect(await store.claim('live', 10)).toEqual({ status: 'completed' });
    expect(await store.claim('next-2999', 10)).toEqual({ status: 'in_progress' });
  });

  it('forgets everything on close', async () => {
    const store = createMemoryStore({ now: fakeClock().now });
    await acquire(store, 'k', 1000);
    await store.close?.();
    expect(store.size()).toBe(0);
    await acquire(store, 'k', 1000);
  });
});

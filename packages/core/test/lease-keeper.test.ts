import { afterEach, expect, it, vi } from 'vitest';
import { createLeaseKeeper } from '../src/lease-keeper.js';
import { createMemoryStore } from '../src/memory-store.js';

afterEach(() => {
  vi.useRealTimers();
});

function renewingStore() {
  const memory = createMemoryStore();
  const renewed: string[] = [];
  const store = {
    ...memory,
    renew: async (key: string, token: string, leaseMs: number) => {
      renewed.push(key);
      return memory.renew(key, token, leaseMs);
    },
  };
  return { store, renewed };
}

it('renews every held lease on one timer, a third of the lease apart, until let go', async () => {
  vi.useFakeTimers();
  const { store, renewed } = renewingStore();
  const keeper = createLeaseKeeper(store.renew, 300);
  const letGo = [];
  for (const key of ['a', 'b', 'c']) {
    const claim = await store.claim(key, 300);
    if (claim.status !== 'acquired') throw new Error(claim.status);
    letGo.push(keeper.hold(key, claim.token));
  }
  expect(vi.getTimerCount()).toBe(1);
  await vi.advanceTimersByTimeAsync(99);
  expect(renewed).toEqual([]);
  await vi.advanceTimersByTimeAsync(1);
  expect(renewed).toEqual(['a', 'b', 'c']);
  await vi.advanceTimersByTimeAsync(1_000);
  // Ten more ticks: still held, since renewed before each lease ran out.
  expect(renewed).toHaveLength(33);
  for (const release of letGo) release();
  await vi.advanceTimersByTimeAsync(1_000);
  expect(renewed).toHaveLength(33);
  expect(vi.getTimerCount()).toBe(0);
});

it('stops renewing a lease the store says is lost', async () => {
  vi.useFakeTimers();
  const { store, renewed } = renewingStore();
  const keeper = createLeaseKeeper(store.renew, 300);
  keeper.hold('never-claimed', 'token');
  await vi.advanceTimersByTimeAsync(1_000);
  expect(renewed).toEqual(['never-claimed']);
});

it('holds nothing for a store that cannot renew', () => {
  vi.useFakeTimers();
  const keeper = createLeaseKeeper(undefined, 300);
  keeper.hold('k', 't')();
  expect(vi.getTimerCount()).toBe(0);
});

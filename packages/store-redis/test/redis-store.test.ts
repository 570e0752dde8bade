import { randomBytes } from 'node:crypto';
import { isC2pError } from '@c2p/core';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisStoreOptions } from '../src/index.js';
import { createRedisStore } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const client = createClient({ url });
client.on('error', () => undefined);
const prefix = `c2p_${randomBytes(6).toString('hex')}:`;
beforeAll(async () => {
  await client.connect();
});
afterAll(async () => {
  const keys = await client.keys(`${prefix}*`);
  if (keys.length > 0) await client.del(keys);
  await client.close();
});

describe('createRedisStore', () => {
  it.each([
    [{ client: 'http://localhost' }, 'options.client'],
    [{ client: 42 }, 'options.client'],
    [{ keyPrefix: 7 }, 'options.keyPrefix'],
    [{ readyTimeoutMs: 0 }, 'options.readyTimeoutMs'],
  ])('rejects %o naming %s', (bad, path) => {
    const options = { client: url, ...bad } as unknown as RedisStoreOptions;
    const error = (() => {
      try {
        createRedisStore(options);
      } catch (e) {
        return e;
      }
    })();
    expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toContain(`[@c2p/store-redis] ${path}:`);
  });

  it('works on a client passed in, leaves it open, and stores keys under the prefix with expiries', async () => {
    const store = createRedisStore({ client, keyPrefix: prefix });
    await store.migrate();
    const claim = await store.claim('k', 60_000);
    if (claim.status !== 'acquired') throw new Error(claim.status);
    expect(await client.get(`${prefix}k`)).toBe(claim.token);
    expect(await client.pTTL(`${prefix}k`)).toBeGreaterThan(59_000);
    expect(await store.complete('k', claim.token, 30 * 24 * 3600 * 1000)).toBe(true);
    expect(await client.pTTL(`${prefix}k`)).toBeGreaterThan(29 * 24 * 3600 * 1000);
    await store.close();
    expect(client.isReady).toBe(true);
  });

  it('sends a script again when the server lost its script cache', async () => {
    const store = createRedisStore({ client, keyPrefix: prefix });
    const claim = await store.claim('flushed', 60_000);
    if (claim.status !== 'acquired') throw new Error(claim.status);
    await client.scriptFlush();
    expect(await store.complete('flushed', claim.token, 60_000)).toBe(true);
    expect(await store.claim('flushed', 60_000)).toEqual({ status: 'completed' });
  });

  it('never takes the completed marker for a token', async () => {
    const store = createRedisStore({ client, keyPrefix: prefix });
    const claim = await store.claim('marker', 60_000);
    if (claim.status !== 'acquired') throw new Error(claim.status);
    expect(await store.complete('marker', claim.token, 60_000)).toBe(true);
    expect(await store.complete('marker', '!completed', 60_000)).toBe(false);
    expect(await store.release('marker', '!completed')).toBe(false);
    expect(await store.claim('marker', 60_000)).toEqual({ status: 'completed' });
  });

  it('renews a live lease for its owner only, past the lease it was claimed with', async () => {
    const store = createRedisStore({ client, keyPrefix: prefix });
    const claim = await store.claim('renewed', 300);
    if (claim.status !== 'acquired') throw new Error(claim.status);
    expect(await store.renew('renewed', 'someone-else', 60_000)).toBe(false);
    expect(await client.pTTL(`${prefix}renewed`)).toBeLessThanOrEqual(300);
    expect(await store.renew('renewed', claim.token, 60_000)).toBe(true);
    expect(await client.pTTL(`${prefix}renewed`)).toBeGreaterThan(59_000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await store.claim('renewed', 300)).toEqual({ status: 'in_progress' });
    // Completed or expired keys are not the owner's any more: renewing changes nothing.
    expect(await store.complete('renewed', claim.token, 60_000)).toBe(true);
    expect(await store.renew('renewed', claim.token, 1)).toBe(false);
    expect(await store.renew('renewed', '!completed', 1)).toBe(false);
    expect(await store.claim('renewed', 300)).toEqual({ status: 'completed' });
    const short = await store.claim('expiring', 100);
    if (short.status !== 'acquired') throw new Error(short.status);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await store.renew('expiring', short.token, 60_000)).toBe(false);
    expect((await store.claim('expiring', 100)).status).toBe('acquired');
  });

  it('fails with STORE_UNAVAILABLE once closed', async () => {
    const store = createRedisStore({ client: url, keyPrefix: prefix });
    await store.claim('closing', 1000);
    await store.close();
    await expect(store.claim('closing', 1000)).rejects.toSatisfy((e) =>
      isC2pError(e, 'STORE_UNAVAILABLE'),
    );
  });
});

import { expect, it } from 'vitest';
import { encodeBasicAuth } from '../src/basic-auth.js';
import type { IdempotencyStore, TransactionalIdempotencyStore } from '../src/idempotency-store.js';
import { createWebhooks } from '../src/index.js';
import { createMemoryStore } from '../src/memory-store.js';

// A completed key is kept for retainMs, not leaseMs: a retry after the lease ran out but
// within retention is a duplicate. Each way the pipeline completes a key is covered: a
// plain store's complete(), a transactional store's completeWithin(), and processOnce().

const credentials = { username: 'clik2pay', password: 's3cret' };
const LEASE = 1_000;
const RETAIN = 3_600_000;
const body = JSON.stringify({
  eventType: 'PAYMENT-COMPLETED',
  resourceType: 'payment-request',
  resource: { id: 'pr-retained', status: 'PAID' },
});

function storeOf(form: 'plain' | 'completeWithin' | 'processOnce', now: () => number) {
  const memory = createMemoryStore({ now });
  if (form === 'plain') return memory;
  const transactional: TransactionalIdempotencyStore<undefined> = {
    claim: memory.claim,
    complete: memory.complete,
    release: memory.release,
    renew: memory.renew,
    async completeWithin(key, token, retainMs, work) {
      await work(undefined);
      return memory.complete(key, token, retainMs);
    },
  };
  if (form === 'completeWithin') return transactional;
  return {
    ...transactional,
    async processOnce(key, retainMs, work) {
      const claim = await memory.claim(key, 60_000);
      if (claim.status !== 'acquired')
        return claim.status === 'completed' ? 'duplicate' : 'in_progress';
      await work(undefined);
      await memory.complete(key, claim.token, retainMs);
      return 'processed';
    },
  } satisfies TransactionalIdempotencyStore<undefined>;
}

for (const form of ['plain', 'completeWithin', 'processOnce'] as const) {
  it(`keeps a completed key for retainMs, not leaseMs (${form})`, async () => {
    let clock = 1_000_000;
    const store: IdempotencyStore = storeOf(form, () => clock);
    const webhooks = createWebhooks({
      credentials,
      allowedIps: ['loopback'],
      store,
      leaseMs: LEASE,
      retainMs: RETAIN,
    });
    let runs = 0;
    webhooks.onAny(() => {
      runs++;
    });
    const deliver = async () => {
      const response = await webhooks.handle({
        method: 'POST',
        header: (name) =>
          name === 'authorization'
            ? encodeBasicAuth(credentials.username, credentials.password)
            : undefined,
        body,
        peerAddress: '127.0.0.1',
      });
      return { status: response.status, body: JSON.parse(response.body) as unknown };
    };
    const summary = (processed: number, duplicates: number) => ({
      status: 200,
      body: { received: 1, processed, duplicates },
    });

    expect(await deliver()).toEqual(summary(1, 0));
    clock += LEASE * 5; // long past the lease: Clik2pay's retry an hour or a day later
    expect(await deliver()).toEqual(summary(0, 1));
    clock += RETAIN - LEASE * 10; // still within retention
    expect(await deliver()).toEqual(summary(0, 1));
    expect(runs).toBe(1);
    clock += LEASE * 10; // retention over: the key is forgotten
    expect(await deliver()).toEqual(summary(1, 0));
    expect(runs).toBe(2);
  });
}

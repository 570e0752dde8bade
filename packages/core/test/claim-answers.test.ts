import { describe, expect, it } from 'vitest';
import { encodeBasicAuth } from '../src/basic-auth.js';
import type { ClaimResult, IdempotencyStore } from '../src/idempotency-store.js';
import { createWebhooks } from '../src/index.js';
import { createMemoryStore } from '../src/memory-store.js';

// A store's claim may answer at once, with a promise, or with any thenable: the
// pipeline decides the same in each case (the sync path is the fast one for the
// memory store; the others are every I/O store). A claim that throws at once is a
// store failure like a rejected one.

const credentials = { username: 'clik2pay', password: 's3cret' };
const authorization = encodeBasicAuth(credentials.username, credentials.password);

const delivery = (id: string) => ({
  method: 'POST',
  header: (name: string) => (name === 'authorization' ? authorization : undefined),
  body: JSON.stringify([
    {
      eventType: 'PAYMENT-COMPLETED',
      resourceType: 'payment-request',
      resource: { id, status: 'PAID' },
    },
    {
      eventType: 'PAYMENT-COMPLETED',
      resourceType: 'payment-request',
      resource: { id, status: 'PAID' },
    },
  ]),
  peerAddress: '127.0.0.1',
});

/** A thenable that is not a native promise, as some promise libraries answer. */
function thenable<T>(value: T): PromiseLike<T> {
  return {
    // biome-ignore lint/suspicious/noThenProperty: the point is a foreign thenable
    then(onFulfilled, onRejected) {
      return Promise.resolve(value).then(onFulfilled, onRejected);
    },
  };
}

const forms: Record<string, (answer: ClaimResult) => ClaimResult | Promise<ClaimResult>> = {
  'at once': (answer) => answer,
  'a promise': (answer) => Promise.resolve(answer),
  'a foreign thenable': (answer) => thenable(answer) as Promise<ClaimResult>,
};

describe.each(Object.keys(forms))('a claim answered by %s', (form) => {
  const wrap = forms[form] as (answer: ClaimResult) => ClaimResult | Promise<ClaimResult>;

  function storeAnswering(): IdempotencyStore {
    const memory = createMemoryStore();
    return {
      claim: (key, leaseMs) => wrap(memory.claim(key, leaseMs)),
      complete: memory.complete,
      release: memory.release,
    };
  }

  it('processes a new event once, its repeat in the same delivery and the next as duplicates', async () => {
    const runs: string[] = [];
    const webhooks = createWebhooks({
      credentials,
      allowedIps: ['loopback'],
      store: storeAnswering(),
    });
    webhooks.on('PAYMENT-COMPLETED', (event) => {
      runs.push(event.resource.id);
    });
    const first = await webhooks.handle(delivery('pr-1'));
    expect([first.status, JSON.parse(first.body)]).toEqual([
      200,
      { received: 2, processed: 1, duplicates: 1 },
    ]);
    const again = await webhooks.handle(delivery('pr-1'));
    expect(JSON.parse(again.body)).toEqual({ received: 2, processed: 0, duplicates: 2 });
    expect(runs).toEqual(['pr-1']);
  });

  it('answers 503 for a claim that fails, and runs no handler', async () => {
    const failures = {
      'at once': () => {
        throw new Error('backend down');
      },
      'a promise': () => Promise.reject(new Error('backend down')),
      'a foreign thenable': () =>
        ({
          // biome-ignore lint/suspicious/noThenProperty: the point is a foreign thenable
          then: (_: unknown, onRejected: (reason: unknown) => unknown) =>
            Promise.reject(new Error('backend down')).then(undefined, onRejected),
        }) as unknown as Promise<ClaimResult>,
    }[form] as () => ClaimResult | Promise<ClaimResult>;
    const memory = createMemoryStore();
    const errors: string[] = [];
    let ran = 0;
    const webhooks = createWebhooks({
      credentials,
      allowedIps: ['loopback'],
      store: { claim: failures, complete: memory.complete, release: memory.release },
    })
      .on('PAYMENT-COMPLETED', () => {
        ran++;
      })
      .onError((error) => {
        errors.push(error.code);
      });
    const response = await webhooks.handle(delivery('pr-2'));
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body).error.code).toBe('STORE_UNAVAILABLE');
    // The second event of the batch is not attempted after a store failure.
    expect([ran, errors]).toEqual([0, ['STORE_UNAVAILABLE']]);
  });
});

describe('a store that misbehaves does not abort the rest of the batch', () => {
  const twoEvents = (first: string, second: string) => ({
    ...delivery(first),
    body: JSON.stringify([
      {
        eventType: 'PAYMENT-COMPLETED',
        resourceType: 'payment-request',
        resource: { id: first, status: 'PAID' },
      },
      {
        eventType: 'PAYMENT-COMPLETED',
        resourceType: 'payment-request',
        resource: { id: second, status: 'PAID' },
      },
    ]),
  });

  it('a release that throws at once after a failed handler: that event fails, the next is processed', async () => {
    const memory = createMemoryStore();
    const errors: string[] = [];
    const outcomes: string[] = [];
    const processed: string[] = [];
    const webhooks = createWebhooks({
      credentials,
      allowedIps: ['loopback'],
      store: {
        claim: memory.claim,
        complete: memory.complete,
        release: () => {
          throw new Error('release is broken');
        },
      },
    })
      .on('PAYMENT-COMPLETED', (event) => {
        if (event.resource.id === 'pr-bad') throw new Error('handler failed');
        processed.push(event.resource.id);
      })
      .onError((error) => {
        errors.push(error.code);
      })
      .onDelivery((report) => {
        outcomes.push(...report.events.map((entry) => `${entry.resourceId}:${entry.outcome}`));
      });
    const response = await webhooks.handle(twoEvents('pr-bad', 'pr-good'));
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body).error.code).toBe('HANDLER_FAILED');
    expect(processed).toEqual(['pr-good']);
    expect(outcomes).toEqual(['pr-bad:handler_failed', 'pr-good:processed']);
    expect(errors).toEqual(['HANDLER_FAILED', 'STORE_UNAVAILABLE']);
  });

  it.each([
    ['at once', () => null],
    ['as a promise', () => Promise.resolve(null)],
  ])(
    'a claim answering no result %s is the store failing: 503, the rest not attempted',
    async (_, claim) => {
      const memory = createMemoryStore();
      const errors: string[] = [];
      const webhooks = createWebhooks({
        credentials,
        allowedIps: ['loopback'],
        store: {
          claim: claim as unknown as IdempotencyStore['claim'],
          complete: memory.complete,
          release: memory.release,
        },
      }).onError((error) => {
        errors.push(error.code);
      });
      const response = await webhooks.handle(twoEvents('pr-3', 'pr-4'));
      expect(response.status).toBe(503);
      expect(JSON.parse(response.body).error.code).toBe('STORE_UNAVAILABLE');
      expect(errors).toEqual(['STORE_UNAVAILABLE']);
    },
  );
});

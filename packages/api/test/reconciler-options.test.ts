import { describe, expect, it } from 'vitest';
import type { ReconcilerOptions } from '../src/index.js';
import { createReconciler, webhookEventFor } from '../src/index.js';

const valid: ReconcilerOptions = {
  client: { getPaymentRequest: async (id) => ({ id, status: 'ACTIVE', amount: 1 }) },
  expected: async () => [],
  submit: async () => 'accepted',
};

describe('createReconciler options', () => {
  it.each([
    [{ client: {} }, 'options.client: has no getPaymentRequest function'],
    [{ expected: 'ids' }, 'options.expected: is not a function'],
    [{ submit: undefined }, 'options.submit: is not a function'],
    [{ concurrency: 0 }, 'options.concurrency: 0 is not a whole number >= 1'],
    [{ concurrency: 1.5 }, 'options.concurrency: 1.5 is not a whole number >= 1'],
    [{ readsPerSecond: 0 }, 'options.readsPerSecond: 0 is not a number > 0'],
    [{ afterMs: -1 }, 'options.afterMs: -1 is not a number of ms >= 0'],
    [{ everyMs: Number.NaN }, 'options.everyMs: NaN is not a number of ms >= 0'],
    [{ maxRereadMs: -5 }, 'options.maxRereadMs: -5 is not a number of ms >= 0'],
  ])('refuses %j, naming it', (bad, message) => {
    expect(() => createReconciler({ ...valid, ...(bad as object) })).toThrow(
      `[@c2p/api] ${message}`,
    );
  });

  it('counts a submit that answers neither accepted nor duplicate as error', async () => {
    const reconciler = createReconciler({
      ...valid,
      client: { getPaymentRequest: async (id) => ({ id, status: 'PAID', amount: 1 }) },
      expected: async () => ['a'],
      submit: async () => 'stored' as 'accepted',
    });
    expect(await reconciler.runOnce()).toMatchObject({ error: 1, enqueued: 0 });
  });
});

describe('rereads of a payment the API reports unchanged', () => {
  /** Passes one minute apart over `minutes`, on a clock of its own; answers the reads per id. */
  const readsOver = async (
    minutes: number,
    options: Partial<ReconcilerOptions>,
    statusAt: (id: string, minute: number) => string = () => 'ACTIVE',
  ) => {
    let now = 0;
    const reads = new Map<string, number[]>();
    const settled = new Set<string>();
    const reconciler = createReconciler({
      ...valid,
      client: {
        getPaymentRequest: async (id) => {
          const minute = now / 60_000;
          reads.set(id, [...(reads.get(id) ?? []), minute]);
          return { id, status: statusAt(id, minute), amount: 1 };
        },
      },
      // A payment whose event was submitted is settled: no longer expected.
      expected: async () => ['never-paid', 'paid-late'].filter((id) => !settled.has(id)),
      submit: async (event) => {
        settled.add(event.resource.id);
        return 'accepted';
      },
      readsPerSecond: 1_000,
      now: () => now,
      ...options,
    });
    for (let minute = 0; minute < minutes; minute++) {
      now = minute * 60_000;
      await reconciler.runOnce();
    }
    return { reads, totals: reconciler.totals() };
  };

  it('doubles the wait from everyMs up to maxRereadMs, and still finds a payment paid later', async () => {
    const { reads, totals } = await readsOver(24 * 60, {}, (id, minute) =>
      id === 'paid-late' && minute >= 600 ? 'PAID' : 'ACTIVE',
    );
    const neverPaid = reads.get('never-paid') ?? [];
    const paidLate = reads.get('paid-late') ?? [];
    console.log(
      `[reconciler] one day of passes a minute apart: a payment never paid read ${neverPaid.length} times ` +
        `(at minutes ${neverPaid.slice(0, 8).join(', ')}, ...), against 1440 without the backoff; ` +
        `one paid at minute 600 found at minute ${paidLate.at(-1)}`,
    );
    // 1, 2, 4, ... 32 minutes, then hourly: 7 reads in the first hour and about 24 a day.
    expect(neverPaid.slice(0, 8)).toEqual([0, 1, 3, 7, 15, 31, 63, 123]);
    expect(neverPaid.length).toBeLessThan(40);
    // Found within the longest wait after it was paid, and then no longer read.
    expect(paidLate.at(-1)).toBeGreaterThanOrEqual(600);
    expect(paidLate.at(-1)).toBeLessThanOrEqual(660);
    expect(totals.enqueued).toBe(1);
  });

  it('reads every payment at every pass with maxRereadMs 0', async () => {
    const { reads } = await readsOver(30, { maxRereadMs: 0 });
    expect(reads.get('never-paid')).toHaveLength(30);
  });
});

describe('webhookEventFor', () => {
  it.each([
    ['PAID', 'PAYMENT-COMPLETED', 'PAID'],
    ['paid', 'PAYMENT-COMPLETED', 'PAID'],
    ['SETTLED', 'PAYMENT-COMPLETED', 'PAID'],
    ['FAILED', 'PAYMENT-FAILED', 'FAILED'],
  ])('%s follows a %s webhook with status %s', (status, eventType, wireStatus) => {
    const event = webhookEventFor({
      id: 'pr-1',
      status,
      amount: 3,
      merchantTransactionId: 'm-123456',
    });
    expect(event).toMatchObject({
      eventType,
      resourceType: 'payment-request',
      resource: { id: 'pr-1', status: wireStatus, amount: 3, merchantTransactionId: 'm-123456' },
    });
  });

  it.each(['CREATED', 'SCHEDULED', 'ACTIVE', 'CANCELLED', 'SOMETHING-NEW'])(
    '%s follows no webhook',
    (status) => {
      expect(webhookEventFor({ id: 'pr-1', status, amount: 3 })).toBeUndefined();
    },
  );
});

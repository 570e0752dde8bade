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

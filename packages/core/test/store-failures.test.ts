import { describe, expect, it } from 'vitest';
import { encodeBasicAuth } from '../src/basic-auth.js';
import type { DeliveryReport, ErrorContext } from '../src/delivery-report.js';
import type { C2pError } from '../src/errors.js';
import type { IdempotencyStore } from '../src/idempotency-store.js';
import { createWebhooks } from '../src/index.js';
import type { WebhookRequest } from '../src/kit.js';
import { createMemoryStore } from '../src/memory-store.js';

// Sync mode when the idempotency store fails around the handlers: what is
// answered, what the error hook is told, and what a redelivery then finds.

const credentials = { username: 'clik2pay', password: 'secret' };

function post(ids: string[]): WebhookRequest {
  const body = JSON.stringify(
    ids.map((id) => ({
      eventType: 'PAYMENT-COMPLETED',
      resourceType: 'payment-request',
      resource: { id, status: 'PAID' },
    })),
  );
  return {
    method: 'POST',
    header: (name) => (name === 'authorization' ? encodeBasicAuth('clik2pay', 'secret') : null),
    body,
    peerAddress: '127.0.0.1',
  };
}

function setup(store: IdempotencyStore) {
  const errors: Array<[C2pError, ErrorContext]> = [];
  const reports: DeliveryReport[] = [];
  const handled: string[] = [];
  const webhooks = createWebhooks({ credentials, allowedIps: ['loopback'], store })
    .on('PAYMENT-COMPLETED', (event) => {
      handled.push(event.resource.id);
      if (event.resource.id.startsWith('fail')) throw new Error(`${event.resource.id} failed`);
    })
    .onError((error, context) => errors.push([error, context]))
    .onDelivery((report) => reports.push(structuredClone(report)));
  return { webhooks, errors, reports, handled };
}

const KEY = (id: string) => `payment-request:${id}:PAYMENT-COMPLETED:PAID`;

describe('sync mode when the store fails', () => {
  it('tells the error hook which event and key a failed claim was for', async () => {
    const cause = new Error('ECONNREFUSED');
    const { webhooks, errors } = setup({
      ...createMemoryStore(),
      claim: async () => {
        throw cause;
      },
    });
    expect((await webhooks.handle(post(['a']))).status).toBe(503);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.[0]).toMatchObject({ code: 'STORE_UNAVAILABLE', cause });
    expect(errors[0]?.[1]).toMatchObject({ key: KEY('a'), event: { resource: { id: 'a' } } });
  });

  it('keeps the claim of a plain store whose completion failed: a redelivery within the lease is 409, not a second run', async () => {
    const memory = createMemoryStore();
    let completions = 0;
    const { webhooks, handled } = setup({
      ...memory,
      complete: async (key, token, retainMs) => {
        if (++completions === 1) throw new Error('lost connection');
        return memory.complete(key, token, retainMs);
      },
    });
    expect((await webhooks.handle(post(['a']))).status).toBe(503);
    expect((await webhooks.handle(post(['a']))).status).toBe(409);
    expect(handled).toEqual(['a']);
  });

  it('reports a release that fails after a handler threw, with the event and key', async () => {
    const memory = createMemoryStore();
    const cause = new Error('release failed');
    const { webhooks, errors } = setup({
      ...memory,
      release: async () => {
        throw cause;
      },
    });
    expect((await webhooks.handle(post(['fail-1']))).status).toBe(500);
    expect(errors.map(([error]) => error.code)).toEqual(['HANDLER_FAILED', 'STORE_UNAVAILABLE']);
    expect(errors[1]?.[0].cause).toBe(cause);
    for (const [, context] of errors)
      expect(context).toMatchObject({ key: KEY('fail-1'), event: { resource: { id: 'fail-1' } } });
  });

  it('leaves the events after a store failure not attempted, without a key', async () => {
    const memory = createMemoryStore();
    let claims = 0;
    const { webhooks, reports } = setup({
      ...memory,
      claim: async (key, leaseMs) => {
        if (++claims === 2) throw new Error('down');
        return memory.claim(key, leaseMs);
      },
    });
    expect((await webhooks.handle(post(['a', 'b', 'c']))).status).toBe(503);
    expect(reports[0]?.events.map((e) => [e.resourceId, e.key, e.outcome])).toEqual([
      ['a', KEY('a'), 'processed'],
      ['b', KEY('b'), 'store_unavailable'],
      ['c', '', 'not_attempted'],
    ]);
  });
});

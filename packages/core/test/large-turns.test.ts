/**
 * Large deliveries take turns (issue 23, item 1): a small delivery that comes
 * in the same turn of the event loop as a burst of large ones is judged and
 * answered before them, rather than after every one's parse, check and store.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWebhooks } from '../src/index.js';
import type { WebhookRequest } from '../src/kit.js';
import { isLargeBody, largeBodyBytes } from '../src/large-turns.js';
import { createMemoryInbox } from '../src/memory-inbox.js';

const credentials = { username: 'clik2pay', password: 'secret' };
const authorization = `Basic ${btoa('clik2pay:secret')}`;

const event = (id: string) => ({
  eventType: 'PAYMENT-COMPLETED',
  resourceType: 'payment-request',
  resource: { id, status: 'PAID', amount: 10 },
});

function post(events: unknown[]): WebhookRequest {
  return {
    method: 'POST',
    header: (name) => (name === 'authorization' ? authorization : undefined),
    body: JSON.stringify(events),
    peerAddress: '127.0.0.1',
  };
}

/** A delivery of `count` events: 300 is about 27 KB, a large one. */
const delivery = (name: string, count: number): WebhookRequest =>
  post(Array.from({ length: count }, (_, n) => event(`${name}-${n}`)));

/** A pipeline in inbox mode on a memory inbox, taking deliveries of up to 1,000 events. */
const pipeline = (create: typeof createWebhooks = createWebhooks) =>
  create({ credentials, allowedIps: ['loopback'], inbox: createMemoryInbox(), maxEvents: 1000 });

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe('large deliveries take turns', () => {
  it('answers a small delivery sent after five large ones, in the same turn, first; the large ones in arrival order', async () => {
    const inbox = createMemoryInbox();
    const webhooks = createWebhooks({
      credentials,
      allowedIps: ['loopback'],
      inbox,
      maxEvents: 1000,
    });
    const answered: string[] = [];
    const send = async (name: string, request: WebhookRequest) => {
      const response = await webhooks.handle(request);
      answered.push(`${name}:${response.status}`);
    };
    const large = Array.from({ length: 5 }, (_, n) => delivery(`large${n}`, 300));
    expect(isLargeBody(large[0]?.body as string)).toBe(true);
    const small = delivery('small', 1);
    expect(isLargeBody(small.body as string)).toBe(false);
    await Promise.all([
      ...large.map((request, n) => send(`large${n}`, request)),
      send('small', small),
    ]);
    expect(answered).toEqual([
      'small:200',
      'large0:200',
      'large1:200',
      'large2:200',
      'large3:200',
      'large4:200',
    ]);
    expect((await inbox.counts()).pending).toBe(5 * 300 + 1);
  });

  it('lets I/O in between two large deliveries: one per turn of the event loop', async () => {
    const webhooks = pipeline();
    const order: string[] = [];
    const large = [delivery('a', 300), delivery('b', 300)].map((request, n) =>
      webhooks.handle(request).then(() => order.push(`large${n}`)),
    );
    // Queued after both: with no turns, both large ones were judged before it ran.
    setImmediate(() => order.push('io'));
    await Promise.all(large);
    expect(order).toEqual(['large0', 'io', 'large1']);
  });

  it('judges large deliveries at once, as before, where there is no setImmediate (Deno, workerd)', async () => {
    vi.stubGlobal('setImmediate', undefined);
    vi.resetModules();
    const core = await import('../src/index.js');
    const webhooks = pipeline(core.createWebhooks);
    const answered: string[] = [];
    await Promise.all(
      [delivery('large', 300), delivery('small', 1)].map((request, n) =>
        webhooks.handle(request).then(() => answered.push(n === 0 ? 'large' : 'small')),
      ),
    );
    // No turns: arrival order, as before.
    expect(answered).toEqual(['large', 'small']);
  });

  it('still takes turns under fake timers installed after the import', async () => {
    const webhooks = pipeline();
    vi.useFakeTimers();
    try {
      const response = await webhooks.handle(delivery('faked', 300));
      expect(response.status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts a body in bytes, or in UTF-16 units for a string', () => {
    expect(isLargeBody('x'.repeat(largeBodyBytes))).toBe(false);
    expect(isLargeBody('x'.repeat(largeBodyBytes + 1))).toBe(true);
    expect(isLargeBody(new Uint8Array(largeBodyBytes + 1))).toBe(true);
  });
});

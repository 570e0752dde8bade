import { describe, expect, it } from 'vitest';
import type { InboxRecord } from '../src/inbox-store.js';
import { createMemoryInbox } from '../src/memory-inbox.js';

// The memory inbox is the reference semantics of the inbox port (the shared
// conformance suite in @c2p/testing runs against it too); these are its rules
// on a fake clock, boundaries included.

function clock(start = 1_000) {
  let at = start;
  return {
    now: () => at,
    set: (ms: number) => {
      at = ms;
    },
  };
}

let serial = 0;
function record(resource: string, receivedAt = 1_000): InboxRecord {
  serial++;
  return {
    key: `payment-request:${resource}:PAYMENT-COMPLETED:S${serial}`,
    resourceKey: `payment-request:${resource}`,
    eventType: 'PAYMENT-COMPLETED',
    payload: JSON.stringify({ eventType: 'PAYMENT-COMPLETED', resource: { id: resource } }),
    receivedAt,
    clientIp: '127.0.0.1',
  };
}

describe('createMemoryInbox', () => {
  it('stores new records as pending, due at arrival, and answers false for a known key', async () => {
    const inbox = createMemoryInbox();
    const a = record('A', 5_000);
    const b = record('B', 6_000);
    expect(await inbox.enqueue([a, b, a])).toEqual([true, true, false]);
    expect(await inbox.enqueue([b])).toEqual([false]);
    const [first, second] = await inbox.list({ state: 'pending' });
    expect(first).toEqual({
      ...a,
      id: first?.id,
      state: 'pending',
      attempts: 0,
      nextAttemptAt: 5_000,
      lastError: null,
      processedAt: null,
    });
    expect(second?.nextAttemptAt).toBe(6_000);
    // Ids increase with arrival.
    expect(Number(second?.id)).toBeGreaterThan(Number(first?.id));
    expect(await inbox.get(first?.id ?? '')).toEqual(first);
    expect(await inbox.get('no-such-id')).toBeUndefined();
    expect(inbox.size()).toBe(2);
  });

  it('leases at most limit due events, one per resource, the earliest first, counting attempts', async () => {
    const time = clock();
    const inbox = createMemoryInbox({ now: time.now });
    await inbox.enqueue([record('A'), record('A'), record('B'), record('C')]);
    const leases = await inbox.lease(10, 100);
    expect(leases.map((l) => l.entry.resourceKey)).toEqual([
      'payment-request:A',
      'payment-request:B',
      'payment-request:C',
    ]);
    expect(leases.map((l) => l.entry.attempts)).toEqual([1, 1, 1]);
    expect(new Set(leases.map((l) => l.token)).size).toBe(3);
    // Leased events are not leased again while their lease holds, nor is A's second event.
    expect(await inbox.lease(10, 100)).toEqual([]);

    const other = createMemoryInbox({ now: time.now });
    await other.enqueue([record('A'), record('B'), record('C')]);
    expect((await other.lease(2, 100)).map((l) => l.entry.resourceKey)).toEqual([
      'payment-request:A',
      'payment-request:B',
    ]);
  });

  it('leases an event again once its lease has run out, to the new holder only', async () => {
    const time = clock();
    const inbox = createMemoryInbox({ now: time.now });
    await inbox.enqueue([record('A')]);
    const [first] = await inbox.lease(1, 100);
    time.set(1_099);
    expect(await inbox.lease(1, 100)).toEqual([]);
    time.set(1_100);
    const [second] = await inbox.lease(1, 100);
    expect(second?.entry.attempts).toBe(2);
    expect(second?.token).not.toBe(first?.token);
    // The first holder is fenced off by the new token.
    expect(await inbox.renew(first?.entry.id ?? '', first?.token ?? '', 100)).toBe(false);
    expect(await inbox.complete(first?.entry.id ?? '', first?.token ?? '')).toBe(false);
    expect(
      await inbox.fail(first?.entry.id ?? '', first?.token ?? '', { error: 'x', retryAt: null }),
    ).toBe(false);
    expect(await inbox.complete(second?.entry.id ?? '', second?.token ?? '')).toBe(true);
  });

  it('renews a live lease from now, for its holder only', async () => {
    const time = clock();
    const inbox = createMemoryInbox({ now: time.now });
    await inbox.enqueue([record('A')]);
    const [lease] = await inbox.lease(1, 100);
    const id = lease?.entry.id ?? '';
    const token = lease?.token ?? '';
    expect(await inbox.renew(id, 'another-token', 100)).toBe(false);
    time.set(1_050);
    expect(await inbox.renew(id, token, 100)).toBe(true);
    // Held until 1_150 now, not 1_100.
    time.set(1_149);
    expect(await inbox.lease(1, 100)).toEqual([]);
    expect(await inbox.renew(id, token, 100)).toBe(true);
    // Held until 1_249 now: renewable a millisecond before, not at the end.
    time.set(1_248);
    expect(await inbox.renew(id, token, 1)).toBe(true);
    time.set(1_249);
    expect(await inbox.renew(id, token, 100)).toBe(false);
    expect(await inbox.renew('no-such-id', token, 100)).toBe(false);
  });

  it('lets a holder whose lease ran out, with nobody taking over, still record its outcome', async () => {
    const time = clock();
    const inbox = createMemoryInbox({ now: time.now });
    await inbox.enqueue([record('A'), record('B')]);
    const [a, b] = await inbox.lease(2, 100);
    time.set(5_000);
    expect(await inbox.complete(a?.entry.id ?? '', a?.token ?? '')).toBe(true);
    expect(
      await inbox.fail(b?.entry.id ?? '', b?.token ?? '', { error: 'late', retryAt: 6_000 }),
    ).toBe(true);
  });

  it('completes an event as processed, now, once', async () => {
    const time = clock();
    const inbox = createMemoryInbox({ now: time.now });
    await inbox.enqueue([record('A'), record('A')]);
    const [lease] = await inbox.lease(1, 100);
    const id = lease?.entry.id ?? '';
    time.set(1_040);
    expect(await inbox.complete(id, 'another-token')).toBe(false);
    expect(await inbox.complete(id, lease?.token ?? '')).toBe(true);
    expect(await inbox.get(id)).toMatchObject({
      state: 'processed',
      processedAt: 1_040,
      nextAttemptAt: null,
      attempts: 1,
    });
    // Done: the token no longer holds anything.
    expect(await inbox.complete(id, lease?.token ?? '')).toBe(false);
    expect(await inbox.renew(id, lease?.token ?? '', 100)).toBe(false);
    expect(await inbox.fail(id, lease?.token ?? '', { error: 'x', retryAt: null })).toBe(false);
    // The resource's next event is free to run.
    const [next] = await inbox.lease(1, 100);
    expect(next?.entry.resourceKey).toBe('payment-request:A');
    expect(next?.entry.id).not.toBe(id);
  });

  it('records a failure as retrying until retryAt, then leases it again', async () => {
    const time = clock();
    const inbox = createMemoryInbox({ now: time.now });
    await inbox.enqueue([record('A'), record('A')]);
    const [lease] = await inbox.lease(1, 100);
    const id = lease?.entry.id ?? '';
    expect(await inbox.fail(id, lease?.token ?? '', { error: 'Error: down', retryAt: 2_000 })).toBe(
      true,
    );
    expect(await inbox.get(id)).toMatchObject({
      state: 'retrying',
      nextAttemptAt: 2_000,
      lastError: 'Error: down',
    });
    // Not due yet, and still first of its resource: the second event waits too.
    time.set(1_999);
    expect(await inbox.lease(5, 100)).toEqual([]);
    time.set(2_000);
    const [again] = await inbox.lease(5, 100);
    expect(again?.entry).toMatchObject({ id, attempts: 2, state: 'retrying' });
  });

  it('records a spent schedule as dead, which no longer blocks its resource', async () => {
    const inbox = createMemoryInbox();
    await inbox.enqueue([record('A'), record('A')]);
    const [lease] = await inbox.lease(1, 100);
    const id = lease?.entry.id ?? '';
    expect(await inbox.fail(id, lease?.token ?? '', { error: 'gone', retryAt: null })).toBe(true);
    expect(await inbox.get(id)).toMatchObject({
      state: 'dead',
      nextAttemptAt: null,
      lastError: 'gone',
    });
    const [next] = await inbox.lease(5, 100);
    expect(next?.entry.id).not.toBe(id);
    expect(next?.entry.resourceKey).toBe('payment-request:A');
  });

  it('replays only a dead event: pending, due now, attempts reset, back in arrival order', async () => {
    const time = clock();
    const inbox = createMemoryInbox({ now: time.now });
    await inbox.enqueue([record('A'), record('A'), record('B')]);
    const leases = await inbox.lease(5, 100);
    const first = leases.find((l) => l.entry.resourceKey === 'payment-request:A');
    const id = first?.entry.id ?? '';
    expect(await inbox.replay(id)).toBe(false);
    await inbox.fail(id, first?.token ?? '', { error: 'gone', retryAt: null });
    expect(await inbox.replay('no-such-id')).toBe(false);
    time.set(3_000);
    expect(await inbox.replay(id)).toBe(true);
    expect(await inbox.get(id)).toMatchObject({
      state: 'pending',
      attempts: 0,
      nextAttemptAt: 3_000,
      lastError: null,
    });
    expect(await inbox.replay(id)).toBe(false);
    // The replayed event is A's earliest again: it runs before A's second event.
    const [next] = (await inbox.lease(5, 100)).filter(
      (l) => l.entry.resourceKey === 'payment-request:A',
    );
    expect(next?.entry.id).toBe(id);
    // The dead event's old token holds nothing.
    expect(await inbox.complete(id, first?.token ?? '')).toBe(false);
  });

  it('makes only a retrying event due now', async () => {
    const time = clock();
    const inbox = createMemoryInbox({ now: time.now });
    await inbox.enqueue([record('A')]);
    const [lease] = await inbox.lease(1, 100);
    const id = lease?.entry.id ?? '';
    expect(await inbox.retryNow(id)).toBe(false);
    await inbox.fail(id, lease?.token ?? '', { error: 'x', retryAt: 60_000 });
    time.set(1_500);
    expect(await inbox.retryNow(id)).toBe(true);
    expect((await inbox.get(id))?.nextAttemptAt).toBe(1_500);
    expect((await inbox.lease(1, 100))[0]?.entry.id).toBe(id);
    expect(await inbox.retryNow('no-such-id')).toBe(false);
  });

  it('lists one state, oldest first while unfinished, newest first once done, 50 by default', async () => {
    const inbox = createMemoryInbox();
    const records = Array.from({ length: 60 }, (_, i) => record(`R${i}`));
    await inbox.enqueue(records);
    const pending = await inbox.list({ state: 'pending' });
    expect(pending).toHaveLength(50);
    expect(pending[0]?.key).toBe(records[0]?.key);
    expect(await inbox.list({ state: 'pending', limit: 3 })).toEqual(pending.slice(0, 3));

    for (const { entry, token } of await inbox.lease(4, 100)) {
      if (entry.key === records[0]?.key) await inbox.complete(entry.id, token);
      else if (entry.key === records[1]?.key) await inbox.complete(entry.id, token);
      else if (entry.key === records[2]?.key)
        await inbox.fail(entry.id, token, { error: 'x', retryAt: 1 });
      else await inbox.fail(entry.id, token, { error: 'x', retryAt: 2 });
    }
    const keys = async (state: 'processed' | 'retrying') =>
      (await inbox.list({ state })).map((entry) => entry.key);
    expect(await keys('processed')).toEqual([records[1]?.key, records[0]?.key]);
    expect(await keys('retrying')).toEqual([records[2]?.key, records[3]?.key]);
    expect(await inbox.list({ state: 'dead' })).toEqual([]);
    expect(await inbox.counts()).toEqual({
      pending: 56,
      retrying: 2,
      dead: 0,
      processed: 2,
      resolved: 0,
    });
  });

  it('sweeps processed events at the end of the retention, and only those', async () => {
    const time = clock();
    const inbox = createMemoryInbox({ now: time.now, retainMs: 1_000 });
    const [done, waiting] = [record('A'), record('B')];
    await inbox.enqueue([done, waiting]);
    const [lease] = await inbox.lease(1, 100);
    await inbox.complete(lease?.entry.id ?? '', lease?.token ?? '');
    time.set(1_999);
    expect(await inbox.sweep()).toBe(0);
    expect(await inbox.enqueue([done])).toEqual([false]);
    time.set(2_000);
    expect(await inbox.sweep()).toBe(1);
    expect(await inbox.get(lease?.entry.id ?? '')).toBeUndefined();
    expect(await inbox.counts()).toEqual({
      pending: 1,
      retrying: 0,
      dead: 0,
      processed: 0,
      resolved: 0,
    });
    // Forgotten: a redelivery is stored again.
    expect(await inbox.enqueue([done, waiting])).toEqual([true, false]);
    expect(await inbox.sweep()).toBe(0);
  });

  it('keeps processed events 30 days by default', async () => {
    const time = clock(0);
    const inbox = createMemoryInbox({ now: time.now });
    await inbox.enqueue([record('A', 0)]);
    const [lease] = await inbox.lease(1, 100);
    await inbox.complete(lease?.entry.id ?? '', lease?.token ?? '');
    const days30 = 30 * 24 * 60 * 60 * 1000;
    time.set(days30 - 1);
    expect(await inbox.sweep()).toBe(0);
    time.set(days30);
    expect(await inbox.sweep()).toBe(1);
  });

  it('forgets everything on close', async () => {
    const inbox = createMemoryInbox();
    const a = record('A');
    await inbox.enqueue([a, record('B')]);
    await inbox.close();
    expect(inbox.size()).toBe(0);
    expect(await inbox.counts()).toEqual({
      pending: 0,
      retrying: 0,
      dead: 0,
      processed: 0,
      resolved: 0,
    });
    expect(await inbox.lease(5, 100)).toEqual([]);
    expect(await inbox.enqueue([a])).toEqual([true]);
  });

  it('names a bad retainMs', () => {
    expect(() => createMemoryInbox({ retainMs: 0 })).toThrow(
      '[@c2p/core] options.retainMs: must be a positive integer',
    );
  });
});

import type {
  InboxEntry,
  InboxFilter,
  InboxHistoryItem,
  InboxPage,
  InboxSearch,
  InboxStore,
} from '@c2p/core';
import { isC2pError } from '@c2p/core';
import type { InboxRecord } from '@c2p/core/kit';
import { describe, expect, it } from 'vitest';

/** What the main suite lends the operations tests: its inboxes, clock and leases. */
export interface InboxOperationsHarness {
  readonly name: string;
  readonly durable: boolean;
  readonly injected: boolean;
  /** A lease that never runs out within a test, in ms. */
  readonly long: number;
  /** A short delay the suite waits for (or moves its clock by), in ms. */
  readonly short: number;
  readonly retainMs: number;
  /** A new context: a fresh inbox (or, passed back to `open`, the same one again). */
  context(): object;
  /** Opens the inbox of `context` (a new one without it); closed after the test. */
  open(context?: object): Promise<InboxStore>;
  clock(): number;
  pass(ms: number): Promise<void>;
}

/** The operations every c2p inbox implements; optional in the port for third parties. */
type InboxOperations = InboxStore &
  Required<
    Pick<InboxStore, 'search' | 'history' | 'resolve' | 'replayMatching' | 'setPaused' | 'isPaused'>
  >;

const operationNames = [
  'search',
  'history',
  'resolve',
  'replayMatching',
  'setPaused',
  'isPaused',
] as const;

interface RecordShape {
  readonly resource: string;
  readonly eventType?: string;
  readonly status?: string;
  readonly receivedAt?: number;
}

/**
 * The inbox operations of issue 19 (search with cursors, history, resolve,
 * bulk replay, pause), held to `createMemoryInbox`'s answers. Registered by
 * `describeInboxConformance`.
 */
export function describeInboxOperations(h: InboxOperationsHarness): void {
  let serial = 0;
  const record = (shape: RecordShape): InboxRecord => {
    const eventType = shape.eventType ?? 'PAYMENT-COMPLETED';
    const status = shape.status ?? `S${++serial}`;
    return {
      key: `payment-request:${shape.resource}:${eventType}:${status}`,
      resourceKey: `payment-request:${shape.resource}`,
      eventType,
      payload: JSON.stringify({
        eventType,
        resourceType: 'payment-request',
        resource: { id: shape.resource, status },
      }),
      receivedAt: shape.receivedAt ?? h.clock(),
      clientIp: '127.0.0.1',
    };
  };
  /** The inbox, failing the test clearly when it lacks an operation. */
  const operations = (inbox: InboxStore): InboxOperations => {
    const missing = operationNames.filter((op) => typeof inbox[op] !== 'function');
    if (missing.length > 0) {
      throw new Error(
        `${h.name} lacks ${missing.map((op) => `${op}()`).join(', ')}: every c2p inbox implements the inbox operations`,
      );
    }
    return inbox as InboxOperations;
  };
  const open = async (context?: object): Promise<InboxOperations> =>
    operations(await h.open(context));
  /** Every event, newest first, read through search pages of `limit`. */
  const searchAll = async (inbox: InboxOperations, query: InboxSearch = {}, limit = 1000) => {
    const entries: InboxEntry[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10_000; page++) {
      const answer = await inbox.search({ ...query, limit, after });
      entries.push(...answer.entries);
      if (answer.next === null) return entries;
      expect(answer.entries).toHaveLength(limit);
      after = answer.next;
    }
    throw new Error('search never ended');
  };
  /** Leases every due event and fails it for good: each becomes `dead`. Answers their ids. */
  const killAll = async (inbox: InboxStore, count: number): Promise<string[]> => {
    const leases = await inbox.lease(count, h.long);
    expect(leases).toHaveLength(count);
    for (const { entry, token } of leases) {
      expect(await inbox.fail(entry.id, token, { error: 'refused', retryAt: null })).toBe(true);
    }
    return leases.map(({ entry }) => entry.id);
  };
  const invalidOption = async (run: () => Promise<unknown>, path: string): Promise<void> => {
    let error: unknown;
    try {
      await run();
    } catch (caught) {
      error = caught;
    }
    expect(isC2pError(error, 'INVALID_OPTIONS'), `expected INVALID_OPTIONS naming ${path}`).toBe(
      true,
    );
    expect((error as Error).message).toContain(path);
  };
  const actions = (items: readonly InboxHistoryItem[]) => items.map((item) => item.action);

  describe('inbox operations', () => {
    describeSearch(h, { record, open, searchAll, killAll, invalidOption });
    describeHistory(h, { record, open, actions });
    describeResolveAndReplay(h, { record, open, killAll, invalidOption, actions });
    describePause(h, { record, open });
  });
}

interface Tools {
  record(shape: RecordShape): InboxRecord;
  open(context?: object): Promise<InboxOperations>;
  searchAll(inbox: InboxOperations, query?: InboxSearch, limit?: number): Promise<InboxEntry[]>;
  killAll(inbox: InboxStore, count: number): Promise<string[]>;
  invalidOption(run: () => Promise<unknown>, path: string): Promise<void>;
  actions(items: readonly InboxHistoryItem[]): string[];
}

/** The fixture of the filter tests: varied resources, types, times and states. */
async function searchFixture(
  h: InboxOperationsHarness,
  { record, open, searchAll }: Pick<Tools, 'record' | 'open' | 'searchAll'>,
) {
  const inbox = await open();
  const t0 = 1_700_000_000_000;
  const shapes: RecordShape[] = [
    { resource: 'PR-A', eventType: 'PAYMENT-COMPLETED', receivedAt: t0 },
    { resource: 'PR-B', eventType: 'PAYMENT-FAILED', receivedAt: t0 + 10 },
    { resource: 'PR-C', eventType: 'PAYMENT-COMPLETED', receivedAt: t0 + 20 },
    { resource: 'PR-A', eventType: 'PAYMENT-FAILED', receivedAt: t0 + 30 },
    { resource: 'PR-D', eventType: 'PAYMENT-COMPLETED', receivedAt: t0 + 40 },
    { resource: 'PR-A', eventType: 'PAYMENT-COMPLETED', receivedAt: t0 + 50 },
  ];
  const records = shapes.map(record);
  for (const r of records) expect(await inbox.enqueue([r])).toEqual([true]);
  // PR-A's first, PR-B, PR-C and PR-D lease; PR-C dies, PR-D is processed.
  const leases = await inbox.lease(10, h.long);
  expect(leases).toHaveLength(4);
  const byResource = new Map(leases.map((l) => [l.entry.resourceKey, l]));
  const c = byResource.get('payment-request:PR-C');
  const d = byResource.get('payment-request:PR-D');
  if (!c || !d) throw new Error('expected PR-C and PR-D leased');
  await inbox.fail(c.entry.id, c.token, { error: 'x', retryAt: null });
  await inbox.complete(d.entry.id, d.token);
  for (const l of leases) {
    if (l !== c && l !== d) {
      await inbox.fail(l.entry.id, l.token, { error: 'y', retryAt: h.clock() + h.long });
    }
  }
  const all = await searchAll(inbox);
  // Newest first: the reverse of arrival.
  expect(all.map((e) => e.key)).toEqual(records.map((r) => r.key).reverse());
  return { inbox, all, t0 };
}

/** An independent reading of the filter semantics, to check the stores against. */
const matches = (entry: InboxEntry, f: InboxFilter): boolean =>
  [
    f.state === undefined || f.state === entry.state,
    f.resourceKey === undefined || f.resourceKey === entry.resourceKey,
    f.eventType === undefined || f.eventType === entry.eventType,
    f.key === undefined || f.key === entry.key,
    f.receivedSince === undefined || entry.receivedAt >= f.receivedSince,
    f.receivedBefore === undefined || entry.receivedAt < f.receivedBefore,
    f.ids === undefined || f.ids.includes(entry.id),
  ].every(Boolean);

function describeSearch(h: InboxOperationsHarness, tools: Omit<Tools, 'actions'>): void {
  const { record, open, searchAll, invalidOption } = tools;
  describe('search', () => {
    it('filters by each field alone and combined, newest first', async () => {
      const { inbox, all, t0 } = await searchFixture(h, tools);
      const [newest, , , third] = all;
      if (!newest || !third) throw new Error('fixture');
      const filters: { filter: InboxFilter; count: number }[] = [
        { filter: { state: 'dead' }, count: 1 },
        { filter: { state: 'processed' }, count: 1 },
        { filter: { state: 'retrying' }, count: 2 },
        { filter: { state: 'pending' }, count: 2 },
        { filter: { resourceKey: 'payment-request:PR-A' }, count: 3 },
        { filter: { eventType: 'PAYMENT-FAILED' }, count: 2 },
        { filter: { key: third.key }, count: 1 },
        { filter: { receivedSince: t0 + 20 }, count: 4 },
        { filter: { receivedBefore: t0 + 20 }, count: 2 },
        { filter: { receivedSince: t0 + 10, receivedBefore: t0 + 40 }, count: 3 },
        { filter: { ids: [newest.id, third.id, 'no-such-id', '999999999'] }, count: 2 },
        { filter: { ids: [] }, count: 0 },
        { filter: { resourceKey: 'payment-request:PR-A', eventType: 'PAYMENT-FAILED' }, count: 1 },
        {
          filter: {
            resourceKey: 'payment-request:PR-A',
            eventType: 'PAYMENT-COMPLETED',
            state: 'pending',
            receivedSince: t0 + 1,
          },
          count: 1,
        },
        { filter: { state: 'dead', eventType: 'PAYMENT-FAILED' }, count: 0 },
        { filter: { resourceKey: 'payment-request:nobody' }, count: 0 },
      ];
      for (const { filter, count } of filters) {
        const expected = all.filter((entry) => matches(entry, filter)).map((e) => e.id);
        expect(expected, JSON.stringify(filter)).toHaveLength(count);
        const page = await inbox.search({ ...filter, limit: 100 });
        expect(
          page.entries.map((e) => e.id),
          JSON.stringify(filter),
        ).toEqual(expected);
        expect(page.next).toBeNull();
      }
      // Each entry is the whole entry, as get() answers it.
      const [first] = (await inbox.search({ key: third.key })).entries;
      expect(first).toEqual(await inbox.get(third.id));
    });

    it('pages with a cursor: no gaps and no duplicates while events arrive', async () => {
      const inbox = await open();
      const records = Array.from({ length: 20 }, (_, i) => record({ resource: `PR-${i}` }));
      await inbox.enqueue(records);
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        // Events arriving between and during page reads are newer than the
        // cursor, so never in a later page.
        const [page]: [InboxPage, unknown] = await Promise.all([
          inbox.search({ limit: 7, after, state: 'pending' }),
          after === null ? undefined : inbox.enqueue([record({ resource: `NEW-${pages}` })]),
        ]);
        seen.push(...page.entries.map((e) => e.key));
        after = page.next;
        pages++;
      } while (after !== null && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(records.map((r) => r.key).reverse());
      // 22 events now: a page that ends exactly at the last one ends the search.
      const whole = await inbox.search({ limit: 22 });
      expect(whole.entries).toHaveLength(22);
      expect(whole.next).toBeNull();
      const half = await inbox.search({ limit: 11 });
      const rest = await inbox.search({ limit: 11, after: half.next });
      expect(rest.entries).toHaveLength(11);
      expect(rest.next).toBeNull();
      expect([...half.entries, ...rest.entries]).toEqual(whole.entries);
      const one = await inbox.search({ limit: 1, resourceKey: 'payment-request:PR-0' });
      expect(one.entries).toHaveLength(1);
      expect(one.next).toBeNull();
      expect(await searchAll(inbox, {}, 5)).toHaveLength(22);
    });

    it('defaults to 50 a page and refuses an unknown cursor or a bad limit, naming it', async () => {
      const inbox = await open();
      await inbox.enqueue(Array.from({ length: 55 }, (_, i) => record({ resource: `PR-${i}` })));
      const page = await inbox.search({});
      expect(page.entries).toHaveLength(50);
      expect(page.next).not.toBeNull();
      await invalidOption(() => inbox.search({ after: 'not-a-cursor' }), 'query.after');
      await invalidOption(() => inbox.search({ after: '' }), 'query.after');
      await invalidOption(() => inbox.search({ limit: 0 }), 'query.limit');
      await invalidOption(() => inbox.search({ state: 'gone' as 'dead' }), 'query.state');
    });
  });
}

function describeHistory(
  h: InboxOperationsHarness,
  { record, open, actions }: Pick<Tools, 'record' | 'open' | 'actions'>,
): void {
  describe('history', () => {
    it('keeps every attempt and action across a replay, oldest first, with durations', async () => {
      const inbox = await open();
      await inbox.enqueue([record({ resource: 'PR-1' })]);
      const [one] = await inbox.lease(1, h.long);
      if (!one) throw new Error('expected a lease');
      const { id } = one.entry;
      expect(await inbox.history(id)).toEqual([]);
      const startedAt = h.clock() - 5;
      await inbox.fail(id, one.token, { error: 'first', retryAt: h.clock(), startedAt });
      expect(await inbox.retryNow(id)).toBe(true);
      const [two] = await inbox.lease(1, h.long);
      if (!two) throw new Error('expected a second lease');
      await inbox.fail(id, two.token, { error: 'second', retryAt: null });
      expect(await inbox.replay(id)).toBe(true);
      expect((await inbox.get(id))?.attempts).toBe(0);
      const [three] = await inbox.lease(1, h.long);
      if (!three) throw new Error('expected a third lease');
      expect(await inbox.complete(id, three.token, { startedAt: h.clock() - 7 })).toBe(true);
      const history = await inbox.history(id);
      expect(actions(history)).toEqual([
        'attempt',
        'retried-now',
        'attempt',
        'replayed',
        'attempt',
      ]);
      const [failed, , dead, , processed] = history;
      expect(failed).toMatchObject({ outcome: 'retrying', error: 'first' });
      expect(dead).toMatchObject({ outcome: 'dead', error: 'second' });
      expect(dead?.durationMs).toBeUndefined();
      expect(processed).toMatchObject({ outcome: 'processed' });
      if (h.injected) {
        expect(failed?.durationMs).toBe(5);
        expect(processed?.durationMs).toBe(7);
      } else {
        expect(failed?.durationMs).toBeGreaterThanOrEqual(0);
        expect(processed?.durationMs).toBeGreaterThanOrEqual(0);
      }
      const times = history.map((item) => item.at);
      expect(times).toEqual([...times].sort((a, b) => a - b));
      expect(await inbox.history('no-such-id')).toEqual([]);
      expect(await inbox.history('999999999')).toEqual([]);
    });

    it('counts every attempt across replays: three failed, dead, replayed, processed', async () => {
      const inbox = await open();
      await inbox.enqueue([record({ resource: 'PR-1' })]);
      let id = '';
      for (let attempt = 1; attempt <= 3; attempt++) {
        const [lease] = await inbox.lease(1, h.long);
        if (!lease) throw new Error(`expected lease ${attempt}`);
        id = lease.entry.id;
        const retryAt = attempt < 3 ? h.clock() : null;
        await inbox.fail(id, lease.token, { error: `refused ${attempt}`, retryAt });
      }
      expect((await inbox.get(id))?.state).toBe('dead');
      expect(await inbox.replay(id)).toBe(true);
      const [last] = await inbox.lease(1, h.long);
      if (!last) throw new Error('expected the replayed event');
      await inbox.complete(id, last.token);
      const history = await inbox.history(id);
      expect(history.filter((item) => item.action === 'attempt')).toHaveLength(4);
      expect(history.filter((item) => item.action === 'replayed')).toHaveLength(1);
    });

    it('keeps the newest 50 items of an event', async () => {
      const inbox = await open();
      await inbox.enqueue([record({ resource: 'PR-1' })]);
      const [lease] = await inbox.lease(1, h.long);
      if (!lease) throw new Error('expected a lease');
      await inbox.fail(lease.entry.id, lease.token, { error: 'x', retryAt: h.clock() + h.long });
      for (let i = 0; i < 60; i++) expect(await inbox.retryNow(lease.entry.id)).toBe(true);
      const history = await inbox.history(lease.entry.id);
      expect(history).toHaveLength(50);
      expect(new Set(actions(history))).toEqual(new Set(['retried-now']));
    });
  });
}

function describeResolveAndReplay(
  h: InboxOperationsHarness,
  { record, open, killAll, invalidOption, actions }: Omit<Tools, 'searchAll'>,
): void {
  describe('resolve and bulk replay', () => {
    it('resolves a dead event only: kept, readable, counted apart, never leased', async () => {
      const inbox = await open();
      await inbox.enqueue([record({ resource: 'PR-1' }), record({ resource: 'PR-2' })]);
      const [deadId] = await killAll(inbox, 1);
      if (!deadId) throw new Error('fixture');
      const [pending] = (await inbox.search({ state: 'pending' })).entries;
      if (!pending) throw new Error('fixture');
      expect(await inbox.resolve(pending.id, 'no')).toBe(false);
      expect(await inbox.resolve('no-such-id', 'no')).toBe(false);
      expect(await inbox.resolve(deadId, 'refunded by hand, ticket 42')).toBe(true);
      expect(await inbox.resolve(deadId, 'again')).toBe(false);
      expect(await inbox.replay(deadId)).toBe(false);
      expect(await inbox.replayMatching({ ids: [deadId] })).toBe(0);
      expect(await inbox.get(deadId)).toMatchObject({ state: 'resolved', nextAttemptAt: null });
      expect(await inbox.get(pending.id)).toMatchObject({ state: 'pending' });
      expect(await inbox.counts()).toEqual({
        pending: 1,
        retrying: 0,
        dead: 0,
        processed: 0,
        resolved: 1,
      });
      const history = await inbox.history(deadId);
      expect(history.at(-1)).toMatchObject({
        action: 'resolved',
        note: 'refunded by hand, ticket 42',
      });
      expect((await inbox.list({ state: 'resolved' })).map((e) => e.id)).toEqual([deadId]);
      expect((await inbox.search({ state: 'resolved' })).entries.map((e) => e.id)).toEqual([
        deadId,
      ]);
      const leased = await inbox.lease(10, h.long);
      expect(leased.map((l) => l.entry.id)).toEqual([pending.id]);
    });

    it('replays dead events by filter: a dry run counts, a replay is idempotent', async () => {
      const inbox = await open();
      const records = [
        record({ resource: 'PR-1', eventType: 'PAYMENT-FAILED' }),
        record({ resource: 'PR-2', eventType: 'PAYMENT-FAILED' }),
        record({ resource: 'PR-3', eventType: 'PAYMENT-COMPLETED' }),
        record({ resource: 'PR-4', eventType: 'PAYMENT-FAILED' }),
        record({ resource: 'PR-5', eventType: 'PAYMENT-FAILED' }),
      ];
      await inbox.enqueue(records);
      const leases = await inbox.lease(5, h.long);
      const leaseOf = (resource: string) => {
        const found = leases.find((l) => l.entry.resourceKey === `payment-request:${resource}`);
        if (!found) throw new Error(`expected ${resource} leased`);
        return found;
      };
      const [l1, l2, l3, l4, l5] = ['PR-1', 'PR-2', 'PR-3', 'PR-4', 'PR-5'].map(leaseOf);
      if (!l1 || !l2 || !l3 || !l4 || !l5) throw new Error('expected five leases');
      for (const l of [l1, l2, l3])
        await inbox.fail(l.entry.id, l.token, { error: 'e', retryAt: null });
      await inbox.fail(l4.entry.id, l4.token, { error: 'e', retryAt: h.clock() + h.long });
      await inbox.complete(l5.entry.id, l5.token);

      expect(await inbox.replayMatching({}, { dryRun: true })).toBe(3);
      expect(await inbox.replayMatching({ eventType: 'PAYMENT-FAILED' }, { dryRun: true })).toBe(2);
      expect((await inbox.counts()).dead).toBe(3);
      expect(await inbox.replayMatching({ eventType: 'PAYMENT-FAILED', state: 'dead' })).toBe(2);
      expect(await inbox.replayMatching({ eventType: 'PAYMENT-FAILED' })).toBe(0);
      expect(await inbox.counts()).toEqual({
        pending: 2,
        retrying: 1,
        dead: 1,
        processed: 1,
        resolved: 0,
      });
      for (const l of [l1, l2]) {
        expect(await inbox.get(l.entry.id)).toMatchObject({
          state: 'pending',
          attempts: 0,
          lastError: null,
        });
        expect(actions(await inbox.history(l.entry.id))).toEqual(['attempt', 'replayed']);
      }
      expect(await inbox.get(l4.entry.id)).toMatchObject({ state: 'retrying' });
      expect(await inbox.replayMatching({ ids: [l3.entry.id, l4.entry.id, l5.entry.id] })).toBe(1);
      expect((await inbox.lease(10, h.long)).map((l) => l.entry.id).sort()).toEqual(
        [l1.entry.id, l2.entry.id, l3.entry.id].sort(),
      );
      for (const state of ['pending', 'retrying', 'processed', 'resolved'] as const) {
        await invalidOption(() => inbox.replayMatching({ state }), 'filter.state');
        await invalidOption(
          () => inbox.replayMatching({ state }, { dryRun: true }),
          'filter.state',
        );
      }
    });

    it('replays each event once when two callers replay the same filter at once', async () => {
      const ctx = h.context();
      const first = await open(ctx);
      const second = h.durable ? await open(ctx) : first;
      await first.enqueue(Array.from({ length: 30 }, (_, i) => record({ resource: `PR-${i}` })));
      const ids = await killAll(first, 30);
      const answers = await Promise.all([
        first.replayMatching({ state: 'dead' }),
        second.replayMatching({}),
        first.replayMatching({ resourceKey: 'payment-request:PR-7' }),
      ]);
      expect(answers.reduce((sum, n) => sum + n, 0)).toBe(30);
      expect((await first.counts()).pending).toBe(30);
      for (const id of ids) {
        const replays = (await first.history(id)).filter((item) => item.action === 'replayed');
        expect(replays, id).toHaveLength(1);
      }
    });

    it('sweeps processed and resolved events past the retention, never dead or unfinished ones', async () => {
      const inbox = await open();
      await inbox.enqueue([
        record({ resource: 'PR-1' }),
        record({ resource: 'PR-2' }),
        record({ resource: 'PR-3' }),
        record({ resource: 'PR-4' }),
      ]);
      const [l1, l2, l3] = await inbox.lease(3, h.long);
      if (!l1 || !l2 || !l3 || !inbox.sweep) throw new Error('fixture (and sweep())');
      await inbox.complete(l1.entry.id, l1.token);
      await inbox.fail(l2.entry.id, l2.token, { error: 'e', retryAt: null });
      await inbox.fail(l3.entry.id, l3.token, { error: 'e', retryAt: null });
      expect(await inbox.resolve(l3.entry.id, 'handled')).toBe(true);
      await h.pass(h.retainMs + 2);
      expect(await inbox.sweep()).toBe(2);
      expect(await inbox.counts()).toEqual({
        pending: 1,
        retrying: 0,
        dead: 1,
        processed: 0,
        resolved: 0,
      });
      expect(await inbox.get(l3.entry.id)).toBeUndefined();
      expect(await inbox.history(l3.entry.id)).toEqual([]);
      expect((await inbox.history(l2.entry.id)).length).toBe(1);
    });
  });
}

function describePause(
  h: InboxOperationsHarness,
  { record, open }: Pick<Tools, 'record' | 'open'>,
): void {
  describe('pause and resume', () => {
    it('holds every lease while paused, keeps accepting, and resumes', async () => {
      const ctx = h.context();
      const inbox = await open(ctx);
      const other = await open();
      expect(await inbox.isPaused()).toBe(false);
      await inbox.setPaused(true);
      await inbox.setPaused(true);
      expect(await inbox.isPaused()).toBe(true);
      // Another inbox on the same backend is not paused.
      expect(await other.isPaused()).toBe(false);
      expect(
        await inbox.enqueue([record({ resource: 'PR-1' }), record({ resource: 'PR-2' })]),
      ).toEqual([true, true]);
      expect(await inbox.lease(10, h.long)).toEqual([]);
      await h.pass(h.short);
      expect(await inbox.lease(10, h.long)).toEqual([]);
      expect((await inbox.counts()).pending).toBe(2);
      if (h.durable) {
        // Another process, or a restart, of the same inbox is paused too.
        const again = await open(ctx);
        expect(await again.isPaused()).toBe(true);
        expect(await again.lease(10, h.long)).toEqual([]);
        await again.setPaused(false);
      } else {
        await inbox.setPaused(false);
      }
      expect(await inbox.isPaused()).toBe(false);
      const leased = await inbox.lease(10, h.long);
      expect(leased).toHaveLength(2);
      expect(leased.every((l) => l.entry.attempts === 1)).toBe(true);
    });
  });
}

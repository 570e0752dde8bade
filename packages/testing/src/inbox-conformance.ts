import { randomBytes } from 'node:crypto';
import type { InboxStore, TransactionalInboxStore } from '@c2p/core';
import { isC2pError } from '@c2p/core';
import type { InboxRecord } from '@c2p/core/kit';
import { afterEach, describe, expect, it } from 'vitest';
import { describeInboxOperations } from './inbox-operations-conformance.js';

/** What the suite hands to each hook: a name space of its own and the clock. */
export interface InboxConformanceContext {
  /** A prefix unique to one test (`c2p_` then 12 lowercase hex digits), safe as a SQL identifier. */
  readonly prefix: string;
  /** The suite's clock in milliseconds: the inbox must read time from it. */
  readonly now: () => number;
}

/** The transactional form's hooks: how to write a business row and see it. */
export interface InboxConformanceTransactionalOptions<Tx> {
  /** Writes a business row `id` through the inbox's transaction `tx`. */
  write(tx: Tx, id: string, context: InboxConformanceContext): Promise<void> | void;
  /** Answers whether the row `id` is committed, read outside any transaction. */
  exists(id: string, context: InboxConformanceContext): Promise<boolean> | boolean;
}

/** Options for {@link describeInboxConformance}. */
export interface InboxConformanceOptions<I extends InboxStore = InboxStore> {
  /**
   * Builds an inbox for one test, reading time from `context.now` (with an
   * injected clock) and keeping processed events for `retainMs` (1 hour with an
   * injected clock, four times `shortMs` with a real one). Called twice with
   * the same context, it must open the same inbox (a second process, or a restart).
   */
  createInbox(context: InboxConformanceContext & { retainMs: number }): I | Promise<I>;
  /** `true` when a second `createInbox` on the same context sees the first one's events (a durable inbox). */
  durable: boolean;
  /**
   * `'injected'` when the inbox reads time from `context.now`, so the suite moves
   * the clock instead of waiting; `'real'` when time is the server's (Redis), so
   * the suite waits, with short leases and retention. Defaults to `'injected'`.
   */
  clock?: 'injected' | 'real';
  /**
   * With a real clock, the lease used where the suite waits for one to run out,
   * in ms: long enough that a loaded machine finishes two calls within it.
   * Defaults to `1000`.
   */
  shortMs?: number;
  /** Builds an inbox whose backend cannot be reached; its operations (or creation) throw `STORE_UNAVAILABLE`. */
  unreachable?: () => InboxStore | Promise<InboxStore>;
  /** Required for a {@link TransactionalInboxStore}: how to write and read a business row. */
  transactional?: InboxConformanceTransactionalOptions<
    I extends TransactionalInboxStore<infer Tx> ? Tx : never
  >;
}

const hour = 60 * 60 * 1000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The inbox conformance suite: registers vitest tests proving that an inbox
 * honours core's `InboxStore` port exactly as `createMemoryInbox` does: one
 * commit per delivery with permanent deduplication, leases fenced by tokens,
 * one event of a resource at a time in arrival order, retries, the dead state,
 * replay, and (for SQL inboxes) completion in the handlers' transaction; and
 * the operations every c2p inbox adds to the port: `search` with cursors,
 * `history`, `resolve`, `replayMatching` and `setPaused`/`isPaused` (an inbox
 * without one fails those tests, naming it).
 *
 * ESM only, like every conformance subpath: it registers vitest tests.
 *
 * @example
 * ```ts
 * describeInboxConformance('sqlite', {
 *   durable: true,
 *   createInbox: ({ prefix, now, retainMs }) => createSqliteInbox({ database: file, table: prefix, now, retainMs }),
 * });
 * ```
 */
export function describeInboxConformance<I extends InboxStore>(
  name: string,
  options: InboxConformanceOptions<I>,
): void {
  const injected = (options.clock ?? 'injected') === 'injected';
  const shortMs = options.shortMs ?? 1_000;
  // A lease the suite lets run out, a delay it waits for, and the retention.
  const short = injected ? 10_000 : shortMs;
  const retainMs = injected ? hour : 4 * shortMs;
  const long = 10 * 60_000;

  describe(`inbox conformance: ${name}`, () => {
    let time = Date.now();
    const opened: InboxStore[] = [];
    let serial = 0;

    const clock = (): number => (injected ? time : Date.now());
    /** Lets `ms` pass: moves the injected clock, or waits for real (with room for scheduling). */
    const pass = async (ms: number): Promise<void> => {
      if (injected) time += ms;
      else await sleep(ms + Math.min(250, Math.max(20, ms / 4)));
    };
    const context = (): InboxConformanceContext & { retainMs: number } => ({
      prefix: `c2p_${randomBytes(6).toString('hex')}`,
      now: () => time,
      retainMs,
    });
    const make = async (ctx = context()): Promise<I> => {
      const inbox = await options.createInbox(ctx);
      opened.push(inbox);
      return inbox;
    };
    const record = (resource: string, status = `S${++serial}`): InboxRecord => ({
      key: `payment-request:${resource}:PAYMENT-COMPLETED:${status}`,
      resourceKey: `payment-request:${resource}`,
      eventType: 'PAYMENT-COMPLETED',
      payload: JSON.stringify({
        eventType: 'PAYMENT-COMPLETED',
        resourceType: 'payment-request',
        resource: { id: resource, status },
      }),
      receivedAt: clock(),
      clientIp: '127.0.0.1',
    });
    const leaseOne = async (inbox: InboxStore, leaseMs = long) => {
      const [lease, ...rest] = await inbox.lease(1, leaseMs);
      expect(rest).toEqual([]);
      if (!lease) throw new Error('expected one lease, got none');
      return lease;
    };

    afterEach(async () => {
      time = Date.now();
      const inboxes = opened.splice(0);
      await Promise.allSettled(inboxes.map((inbox) => inbox.close?.()));
    });

    describe('enqueue', () => {
      it('stores new events as pending and answers duplicates, across calls and within one', async () => {
        const inbox = await make();
        const a = record('PR-1', 'PAID');
        const b = record('PR-2', 'PAID');
        expect(await inbox.enqueue([a, b, a])).toEqual([true, true, false]);
        expect(await inbox.enqueue([b, record('PR-3')])).toEqual([false, true]);
        expect(await inbox.counts()).toEqual({
          pending: 3,
          retrying: 0,
          dead: 0,
          processed: 0,
          resolved: 0,
        });
        const [first] = await inbox.list({ state: 'pending' });
        expect(first).toMatchObject({
          key: a.key,
          resourceKey: a.resourceKey,
          eventType: a.eventType,
          receivedAt: a.receivedAt,
          clientIp: '127.0.0.1',
          state: 'pending',
          attempts: 0,
          lastError: null,
          processedAt: null,
        });
        expect(JSON.parse(first?.payload ?? '')).toEqual(JSON.parse(a.payload));
        expect(await inbox.get(first?.id ?? '')).toEqual(first);
      });

      it('keeps payloads and keys byte for byte, whatever characters they hold', async () => {
        const inbox = await make();
        const odd = {
          ...record("it's; DROP TABLE x; --"),
          key: 'ключ 🔑 %_*?[]{} \u202e',
          payload: JSON.stringify({ eventType: 'X', resource: { id: 'é\u2028🔑' } }),
          clientIp: null,
        };
        expect(await inbox.enqueue([odd])).toEqual([true]);
        const [entry] = await inbox.list({ state: 'pending' });
        expect(entry?.key).toBe(odd.key);
        expect(JSON.parse(entry?.payload ?? '')).toEqual(JSON.parse(odd.payload));
        expect(entry?.clientIp).toBeNull();
        expect(await inbox.enqueue([odd])).toEqual([false]);
      });

      it('keeps apart keys that only normalisation, case folding or padding would merge', async () => {
        const inbox = await make();
        const ids = [
          'caf\u00e9',
          'cafe\u0301',
          'PR-1',
          'pr-1',
          '\uff30\uff32-1',
          'PR-1 ',
          '\ud83d\udd11',
          '\ud83d\udddd',
        ];
        const records = ids.map((id) => record(id, 'PAID'));
        expect(await inbox.enqueue(records)).toEqual(ids.map(() => true));
        expect(await inbox.enqueue(records)).toEqual(ids.map(() => false));
        const keys = (await inbox.list({ state: 'pending' })).map((entry) => entry.key);
        expect(keys.sort()).toEqual(records.map((r) => r.key).sort());
      });

      it('inserts each key once under 200 concurrent overlapping deliveries', async () => {
        const inbox = await make();
        const records = Array.from({ length: 50 }, (_, i) => record(`PR-${i}`, 'PAID'));
        const answers = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            inbox.enqueue([records[i % 50] as InboxRecord, records[(i * 7) % 50] as InboxRecord]),
          ),
        );
        const inserted = answers.flat().filter(Boolean).length;
        expect(inserted).toBe(50);
        expect((await inbox.counts()).pending).toBe(50);
      });

      if (options.durable) {
        it('is seen by a second instance on the same backend (a restart)', async () => {
          const ctx = context();
          const first = await make(ctx);
          expect(await first.enqueue([record('PR-1', 'PAID')])).toEqual([true]);
          await first.close?.();
          const second = await make(ctx);
          expect(await second.enqueue([record('PR-1', 'PAID')])).toEqual([false]);
          expect((await second.counts()).pending).toBe(1);
        });
      }
    });

    describe('lease, complete, fail', () => {
      it('leases a due event once, counting the attempt, until the lease runs out', async () => {
        const inbox = await make();
        await inbox.enqueue([record('PR-1')]);
        const lease = await leaseOne(inbox, short);
        expect(lease.entry.attempts).toBe(1);
        expect(lease.token.length).toBeGreaterThan(0);
        expect(await inbox.lease(10, short)).toEqual([]);
        await pass(short + 1);
        const again = await leaseOne(inbox, long);
        expect(again.entry.id).toBe(lease.entry.id);
        expect(again.entry.attempts).toBe(2);
        expect(again.token).not.toBe(lease.token);
        // The first worker's token is stale now.
        expect(await inbox.complete(lease.entry.id, lease.token)).toBe(false);
        expect(await inbox.renew(lease.entry.id, lease.token, short)).toBe(false);
        expect(await inbox.complete(again.entry.id, again.token)).toBe(true);
      });

      it('renews a lease for its holder only', async () => {
        const inbox = await make();
        await inbox.enqueue([record('PR-1')]);
        const lease = await leaseOne(inbox, short);
        await pass(short / 2);
        expect(await inbox.renew(lease.entry.id, lease.token, 3 * short)).toBe(true);
        expect(await inbox.renew(lease.entry.id, `${lease.token}x`, short)).toBe(false);
        // Past the first lease's end, within the renewed one.
        await pass(short);
        expect(await inbox.lease(1, short)).toEqual([]);
        expect(await inbox.complete(lease.entry.id, lease.token)).toBe(true);
      });

      it('completes for the holder: processed, kept, and still a duplicate', async () => {
        const inbox = await make();
        const a = record('PR-1', 'PAID');
        await inbox.enqueue([a]);
        const lease = await leaseOne(inbox);
        expect(await inbox.complete(lease.entry.id, `${lease.token}x`)).toBe(false);
        const before = clock();
        expect(await inbox.complete(lease.entry.id, lease.token)).toBe(true);
        const after = clock();
        expect(await inbox.complete(lease.entry.id, lease.token)).toBe(false);
        const entry = await inbox.get(lease.entry.id);
        expect(entry).toMatchObject({ state: 'processed', attempts: 1 });
        expect(entry?.processedAt).toBeGreaterThanOrEqual(before - 1_000);
        expect(entry?.processedAt).toBeLessThanOrEqual(after + 1_000);
        expect(await inbox.counts()).toEqual({
          pending: 0,
          retrying: 0,
          dead: 0,
          processed: 1,
          resolved: 0,
        });
        expect(await inbox.enqueue([a])).toEqual([false]);
        expect(await inbox.lease(10, long)).toEqual([]);
      });

      it('records the outcome of a holder whose lease ran out with nobody taking over', async () => {
        // A handler that outlived its lease (its renewals could not land) and then
        // failed must still reach the schedule, or it would run again at once, forever.
        const inbox = await make();
        await inbox.enqueue([record('PR-1'), record('PR-2')]);
        const [failing, succeeding] = await inbox.lease(2, short);
        if (!failing || !succeeding) throw new Error('expected two leases');
        await pass(short + 1);
        const retryAt = clock() + hour;
        expect(await inbox.fail(failing.entry.id, failing.token, { error: 'slow', retryAt })).toBe(
          true,
        );
        expect(await inbox.get(failing.entry.id)).toMatchObject({ state: 'retrying', attempts: 1 });
        expect(await inbox.complete(succeeding.entry.id, succeeding.token)).toBe(true);
        expect((await inbox.get(succeeding.entry.id))?.state).toBe('processed');
      });

      it('fails to retrying, due again at retryAt, then dead when the schedule is spent', async () => {
        const inbox = await make();
        await inbox.enqueue([record('PR-1')]);
        const first = await leaseOne(inbox);
        const retryAt = clock() + short;
        expect(await inbox.fail(first.entry.id, first.token, { error: 'boom', retryAt })).toBe(
          true,
        );
        expect(await inbox.get(first.entry.id)).toMatchObject({
          state: 'retrying',
          nextAttemptAt: retryAt,
          lastError: 'boom',
          attempts: 1,
        });
        expect(await inbox.lease(1, long)).toEqual([]);
        await pass(short);
        const second = await leaseOne(inbox);
        expect(second.entry.attempts).toBe(2);
        expect(
          await inbox.fail(second.entry.id, second.token, { error: 'again', retryAt: null }),
        ).toBe(true);
        expect(await inbox.get(second.entry.id)).toMatchObject({
          state: 'dead',
          lastError: 'again',
          attempts: 2,
        });
        await pass(injected ? 24 * hour : short);
        expect(await inbox.lease(1, long)).toEqual([]);
        expect(await inbox.counts()).toEqual({
          pending: 0,
          retrying: 0,
          dead: 1,
          processed: 0,
          resolved: 0,
        });
        // A stale token records nothing.
        expect(await inbox.fail(second.entry.id, second.token, { error: 'x', retryAt: null })).toBe(
          false,
        );
      });

      it('replays a dead event and retries a retrying one now', async () => {
        const inbox = await make();
        await inbox.enqueue([record('PR-1'), record('PR-2')]);
        const [dead, later] = await inbox.lease(2, long);
        if (!dead || !later) throw new Error('expected two leases');
        await inbox.fail(dead.entry.id, dead.token, { error: 'boom', retryAt: null });
        await inbox.fail(later.entry.id, later.token, { error: 'slow', retryAt: clock() + hour });
        expect(await inbox.replay(later.entry.id)).toBe(false);
        expect(await inbox.retryNow(dead.entry.id)).toBe(false);
        expect(await inbox.replay(dead.entry.id)).toBe(true);
        expect(await inbox.get(dead.entry.id)).toMatchObject({ state: 'pending', attempts: 0 });
        expect(await inbox.retryNow(later.entry.id)).toBe(true);
        const leased = await inbox.lease(10, long);
        expect(leased.map((l) => l.entry.id).sort()).toEqual(
          [dead.entry.id, later.entry.id].sort(),
        );
        expect(leased.find((l) => l.entry.id === dead.entry.id)?.entry.attempts).toBe(1);
        expect(await inbox.replay('no-such-id')).toBe(false);
        expect(await inbox.retryNow('no-such-id')).toBe(false);
        expect(await inbox.get('no-such-id')).toBeUndefined();
      });

      it('refuses to replay or retry a processed, pending or leased event, and leaves it as it was', async () => {
        const inbox = await make();
        // The third is PR-2's next event: it waits behind the held one.
        await inbox.enqueue([record('PR-1'), record('PR-2'), record('PR-2')]);
        const [done, held] = await inbox.lease(2, long);
        if (!done || !held) throw new Error('expected two leases');
        expect(await inbox.complete(done.entry.id, done.token)).toBe(true);
        const processed = await inbox.get(done.entry.id);
        const pending = (await inbox.list({ state: 'pending' }))[0];
        if (!pending) throw new Error('expected a pending event');
        for (const id of [done.entry.id, held.entry.id, pending.id]) {
          const before = await inbox.get(id);
          expect(await inbox.replay(id)).toBe(false);
          expect(await inbox.retryNow(id)).toBe(false);
          expect(await inbox.get(id)).toEqual(before);
        }
        expect(processed).toMatchObject({ state: 'processed', attempts: 1 });
        // Nothing runs again: the processed event is not leased, the held one still is.
        expect(await inbox.lease(10, long)).toEqual([]);
        expect(await inbox.complete(held.entry.id, held.token)).toBe(true);
        expect(await inbox.counts()).toEqual({
          pending: 1,
          retrying: 0,
          dead: 0,
          processed: 2,
          resolved: 0,
        });
      });

      it('leases at most the limit, and never one event to two callers at once', async () => {
        const ctx = context();
        const a = await make(ctx);
        const b = options.durable ? await make(ctx) : a;
        await a.enqueue(Array.from({ length: 40 }, (_, i) => record(`PR-${i}`)));
        const batches = await Promise.all([
          a.lease(7, long),
          b.lease(7, long),
          a.lease(7, long),
          b.lease(7, long),
        ]);
        for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(7);
        const ids = batches.flat().map((lease) => lease.entry.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.length).toBe(28);
      });
    });

    describe('one event of a resource at a time, in arrival order', () => {
      it('leases only the earliest unfinished event of each resource', async () => {
        const inbox = await make();
        const [r1a, r2a, r1b, r1c] = [record('R1'), record('R2'), record('R1'), record('R1')];
        await inbox.enqueue([r1a as InboxRecord, r2a as InboxRecord]);
        await inbox.enqueue([r1b as InboxRecord, r1c as InboxRecord]);
        const first = await inbox.lease(10, long);
        expect(first.map((l) => l.entry.key).sort()).toEqual([r1a?.key, r2a?.key].sort());
        const r1 = first.find((l) => l.entry.key === r1a?.key);
        if (!r1) throw new Error('expected R1 leased');
        // R1's first event is leased: its later events wait, even past its lease's renewal.
        expect(await inbox.lease(10, long)).toEqual([]);
        await inbox.complete(r1.entry.id, r1.token);
        const next = await leaseOne(inbox);
        expect(next.entry.key).toBe(r1b?.key);
      });

      it('keeps the order across a retry: a retrying event still blocks its resource', async () => {
        const inbox = await make();
        const [a, b] = [record('R1'), record('R1')];
        await inbox.enqueue([a, b]);
        const lease = await leaseOne(inbox);
        await inbox.fail(lease.entry.id, lease.token, { error: 'down', retryAt: clock() + short });
        expect(await inbox.lease(10, long)).toEqual([]);
        await pass(short);
        expect((await leaseOne(inbox)).entry.key).toBe(a.key);
      });

      it('lets a resource go on past a dead event, and waits for it again once replayed', async () => {
        const inbox = await make();
        const [a, b] = [record('R1'), record('R1')];
        await inbox.enqueue([a, b]);
        const lease = await leaseOne(inbox);
        await inbox.fail(lease.entry.id, lease.token, { error: 'poison', retryAt: null });
        const next = await leaseOne(inbox);
        expect(next.entry.key).toBe(b.key);
        await inbox.fail(next.entry.id, next.token, { error: 'down', retryAt: clock() + hour });
        expect(await inbox.replay(lease.entry.id)).toBe(true);
        // The replayed event is the earliest unfinished one of R1 again.
        expect((await leaseOne(inbox)).entry.key).toBe(a.key);
      });
    });

    describe('listing and housekeeping', () => {
      it('lists by state, oldest first while unfinished and newest first once done, within the limit', async () => {
        const inbox = await make();
        const records = Array.from({ length: 5 }, (_, i) => record(`PR-${i}`));
        for (const r of records) {
          await inbox.enqueue([r]);
          await pass(injected ? 1 : 5);
        }
        const pending = await inbox.list({ state: 'pending', limit: 3 });
        expect(pending.map((e) => e.key)).toEqual(records.slice(0, 3).map((r) => r.key));
        for (const lease of await inbox.lease(5, long)) {
          await pass(injected ? 1 : 5);
          await inbox.complete(lease.entry.id, lease.token);
        }
        const processed = await inbox.list({ state: 'processed', limit: 2 });
        expect(processed).toHaveLength(2);
        expect((processed[0]?.processedAt ?? 0) >= (processed[1]?.processedAt ?? 0)).toBe(true);
        expect(await inbox.list({ state: 'dead' })).toEqual([]);
      });

      it('sweeps processed events past the retention, and only those', async () => {
        const inbox = await make();
        if (!inbox.sweep)
          throw new Error(`${name} has no sweep(): processed events would grow forever`);
        const old = record('PR-1', 'PAID');
        await inbox.enqueue([old, record('PR-2')]);
        const lease = await leaseOne(inbox);
        await inbox.complete(lease.entry.id, lease.token);
        if (injected) time += retainMs - 1;
        expect(await inbox.sweep()).toBe(0);
        await pass(injected ? 2 : retainMs);
        expect(await inbox.sweep()).toBe(1);
        expect(await inbox.counts()).toEqual({
          pending: 1,
          retrying: 0,
          dead: 0,
          processed: 0,
          resolved: 0,
        });
      });
    });

    describeInboxOperations({
      name,
      durable: options.durable,
      injected,
      long,
      short,
      retainMs,
      context,
      open: (ctx) => make(ctx as ReturnType<typeof context> | undefined),
      clock,
      pass,
    });

    if (options.transactional) {
      const tx = options.transactional;
      describe('completion in the handlers transaction', () => {
        const asTransactional = (inbox: I) => {
          const candidate = inbox as unknown as Partial<TransactionalInboxStore<unknown>>;
          if (typeof candidate.completeWithin !== 'function') {
            throw new Error(`${name} has no completeWithin`);
          }
          return inbox as unknown as TransactionalInboxStore<unknown>;
        };

        it('commits the handlers write and processed together', async () => {
          const ctx = context();
          const inbox = asTransactional(await make(ctx));
          await inbox.enqueue([record('PR-1')]);
          const lease = await leaseOne(inbox);
          const done = await inbox.completeWithin(lease.entry.id, lease.token, async (t) => {
            await tx.write(t as never, 'order-1', ctx);
          });
          expect(done).toBe(true);
          expect(await tx.exists('order-1', ctx)).toBe(true);
          expect((await inbox.get(lease.entry.id))?.state).toBe('processed');
        });

        it('rolls the write back and rethrows when the handler throws', async () => {
          const ctx = context();
          const inbox = asTransactional(await make(ctx));
          await inbox.enqueue([record('PR-1')]);
          const lease = await leaseOne(inbox);
          const boom = new Error('handler failed');
          await expect(
            inbox.completeWithin(lease.entry.id, lease.token, async (t) => {
              await tx.write(t as never, 'order-1', ctx);
              throw boom;
            }),
          ).rejects.toBe(boom);
          expect(await tx.exists('order-1', ctx)).toBe(false);
          // Still held by the lease: the worker records the failure next.
          expect(
            await inbox.fail(lease.entry.id, lease.token, { error: 'x', retryAt: clock() }),
          ).toBe(true);
        });

        it('commits nothing for a lost lease and answers false', async () => {
          const ctx = context();
          const inbox = asTransactional(await make(ctx));
          await inbox.enqueue([record('PR-1')]);
          const stale = await leaseOne(inbox, short);
          await pass(short + 1);
          const fresh = await leaseOne(inbox, long);
          const done = await inbox.completeWithin(stale.entry.id, stale.token, async (t) => {
            await tx.write(t as never, 'order-1', ctx);
          });
          expect(done).toBe(false);
          expect(await tx.exists('order-1', ctx)).toBe(false);
          expect(await inbox.complete(fresh.entry.id, fresh.token)).toBe(true);
        });
      });
    }

    if (options.unreachable) {
      const unreachable = options.unreachable;
      it('throws STORE_UNAVAILABLE when the backend cannot be reached', async () => {
        let error: unknown;
        try {
          const inbox = await unreachable();
          opened.push(inbox);
          await inbox.enqueue([record('PR-1')]);
        } catch (caught) {
          error = caught;
        }
        expect(isC2pError(error, 'STORE_UNAVAILABLE')).toBe(true);
      });
    }
  });
}

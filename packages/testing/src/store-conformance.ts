import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { IdempotencyStore, TransactionalIdempotencyStore } from '@c2p/core';
import { isC2pError } from '@c2p/core';
import type { ClaimResult } from '@c2p/core/kit';
import { isTransactionalStore } from '@c2p/core/kit';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  RaceClaimsResult,
  RaceProcessResult,
  StoreConformanceChildTask,
} from './store-conformance-child.js';

export type { StoreConformanceChildModule } from './store-conformance-child.js';

/** What the suite hands to each hook: a name space of its own and the clock. */
export interface StoreConformanceContext {
  /**
   * A prefix unique to one test (`c2p_` then 12 lowercase hex digits), safe as
   * a SQL identifier. Use it as the table or key prefix so runs never collide.
   */
  readonly prefix: string;
  /** The suite's clock in milliseconds. Pass it to stores that accept one. */
  readonly now: () => number;
}

/** The transactional form's hooks: how to write a business row and see it. */
export interface StoreConformanceTransactionalOptions<Tx> {
  /** Writes a business row `id` through the store's transaction `tx`. */
  write(tx: Tx, id: string, context: StoreConformanceContext): Promise<void> | void;
  /** Answers whether the row `id` is committed, read outside any transaction. */
  exists(id: string, context: StoreConformanceContext): Promise<boolean> | boolean;
}

/** How to run the cross-process cases: a module each child process imports. */
export interface StoreConformanceCrossProcessOptions {
  /**
   * An ES module (absolute path or `file:` URL) that satisfies
   * {@link StoreConformanceChildModule}: it exports
   * `createStore(args): IdempotencyStore | Promise<IdempotencyStore>` and, for a
   * transactional store, `write(tx, id, args)` (as `transactional.write`). It runs
   * in a plain Node process, so it imports the built packages, not TypeScript sources.
   */
  module: string | URL;
  /** JSON-serialisable arguments for the children's `createStore`, made once per race. */
  args(context: StoreConformanceContext): unknown;
}

/** Options for {@link describeStoreConformance}. */
export interface StoreConformanceOptions<S extends IdempotencyStore = IdempotencyStore> {
  /** Builds a fresh store for one test. Every store built is closed after the test. */
  createStore(context: StoreConformanceContext): S | Promise<S>;
  /**
   * `'injected'` when the store reads time from `context.now`, so the suite moves
   * the clock instead of waiting; `'real'` when time is the server's (Redis), so
   * the suite waits with short leases. Defaults to `'real'`.
   */
  clock?: 'injected' | 'real';
  /**
   * The lease and retention used with a real clock, in ms: long enough that a
   * loaded machine finishes two calls within it. Defaults to `1000`.
   */
  shortMs?: number;
  /**
   * Builds a store whose backend cannot be reached (a closed port, a directory
   * that does not exist). Its operations, or its creation, must throw
   * `C2pError` `STORE_UNAVAILABLE`.
   */
  unreachable?: () => IdempotencyStore | Promise<IdempotencyStore>;
  /** Restarts the server the store talks to, keeping its data; resolves when it is up again. */
  restartServer?: () => Promise<void>;
  /**
   * Runs the cases between OS processes: 1,000 claims of the same keys raced by
   * two processes (and `processOnce` raced, when the store has it), and an owner
   * SIGKILLed between claim and completion, which must not block the next
   * delivery beyond the store's bound (a lease; at once for `processOnce`).
   */
  crossProcess?: StoreConformanceCrossProcessOptions;
  /** Required for a {@link TransactionalIdempotencyStore}: how to write and read a business row. */
  transactional?: StoreConformanceTransactionalOptions<
    S extends TransactionalIdempotencyStore<infer Tx> ? Tx : never
  >;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const unavailable = (error: unknown): boolean => isC2pError(error, 'STORE_UNAVAILABLE');

/**
 * The store conformance suite: registers vitest tests proving that a store
 * honours the idempotency port exactly as `createMemoryStore` does, including
 * races between OS processes, an unreachable backend, a server restart and the
 * transactional form. A hook left out leaves its tests out.
 *
 * @example
 * ```ts
 * describeStoreConformance('sqlite', {
 *   clock: 'injected',
 *   createStore: ({ prefix, now }) => createSqliteStore({ database: file, table: prefix, now }),
 * });
 * ```
 */
export function describeStoreConformance<S extends IdempotencyStore>(
  name: string,
  options: StoreConformanceOptions<S>,
): void {
  const injected = options.clock === 'injected';
  const shortMs = options.shortMs ?? 1000;
  const lease = injected ? 30_000 : shortMs;
  const retain = injected ? 60_000 : shortMs;
  const longMs = 600_000;

  describe(`store conformance: ${name}`, () => {
    let time = Date.now();
    const opened: IdempotencyStore[] = [];

    const context = (): StoreConformanceContext => ({
      prefix: `c2p_${randomBytes(6).toString('hex')}`,
      now: () => time,
    });

    const make = async (ctx = context()): Promise<S> => {
      const store = await options.createStore(ctx);
      opened.push(store);
      return store;
    };

    /** Lets `ms` pass: moves the injected clock, or waits for real. */
    const pass = async (ms: number): Promise<void> => {
      if (injected) time += ms;
      else await sleep(ms);
    };
    /** A margin past an expiry: real clocks need room for scheduling. */
    const past = (ms: number): number => (injected ? ms + 1 : ms + Math.max(100, ms / 2));

    const acquire = async (store: IdempotencyStore, key: string, ms = lease): Promise<string> => {
      const result = await store.claim(key, ms);
      if (result.status !== 'acquired') throw new Error(`expected acquired, got ${result.status}`);
      expect(typeof result.token).toBe('string');
      expect(result.token.length).toBeGreaterThan(0);
      return result.token;
    };

    afterEach(async () => {
      time = Date.now();
      const stores = opened.splice(0);
      await Promise.allSettled(stores.map((store) => store.close?.()));
    });

    describe('claim, complete, release', () => {
      it('acquires a new key, then answers in_progress while the lease holds', async () => {
        const store = await make();
        await acquire(store, 'a');
        expect(await store.claim('a', lease)).toEqual({ status: 'in_progress' });
        await pass(lease / 4);
        expect(await store.claim('a', lease)).toEqual({ status: 'in_progress' });
      });

      it('completes for the owner, and answers completed after that', async () => {
        const store = await make();
        const token = await acquire(store, 'a');
        expect(await store.complete('a', token, longMs)).toBe(true);
        expect(await store.claim('a', lease)).toEqual({ status: 'completed' });
        // A completed key is no longer pending: completing or releasing it again does nothing.
        expect(await store.complete('a', token, longMs)).toBe(false);
        expect(await store.release('a', token)).toBe(false);
        expect(await store.claim('a', lease)).toEqual({ status: 'completed' });
      });

      it('releases for the owner, so the next claim acquires at once with a new token', async () => {
        const store = await make();
        const first = await acquire(store, 'a');
        expect(await store.release('a', first)).toBe(true);
        const second = await acquire(store, 'a');
        expect(second).not.toBe(first);
        expect(await store.release('a', first)).toBe(false);
        expect(await store.claim('a', lease)).toEqual({ status: 'in_progress' });
      });

      it('does nothing for a wrong token, and says so', async () => {
        const store = await make();
        const token = await acquire(store, 'a');
        expect(await store.complete('a', `${token}x`, longMs)).toBe(false);
        expect(await store.release('a', 'not-a-token')).toBe(false);
        expect(await store.claim('a', lease)).toEqual({ status: 'in_progress' });
        expect(await store.complete('a', token, longMs)).toBe(true);
      });

      it('does nothing for a key that was never claimed', async () => {
        const store = await make();
        expect(await store.complete('never', 'token', longMs)).toBe(false);
        expect(await store.release('never', 'token')).toBe(false);
        await acquire(store, 'never');
      });

      it('keeps keys apart, whatever characters they hold', async () => {
        const store = await make();
        const keys = [
          'payment-request:PR-1:payment_request.paid:PAID',
          'payment-request:PR-1:payment_request.paid:paid',
          "it's; DROP TABLE x; --",
          'ключ 🔑 %_*?[]{}',
          'k'.repeat(512),
          // Keys no normalisation, case folding or padding may merge.
          'payment-request:caf\u00e9:PAYMENT-COMPLETED:PAID',
          'payment-request:cafe\u0301:PAYMENT-COMPLETED:PAID',
          'payment-request:\uff30\uff32-1:PAYMENT-COMPLETED:PAID',
          'payment-request:PR-1 :PAYMENT-COMPLETED:PAID',
          'payment-request:\ud83d\udd11:PAYMENT-COMPLETED:PAID',
          'payment-request:\ud83d\udddd:PAYMENT-COMPLETED:PAID',
        ];
        const tokens = await Promise.all(keys.map((key) => acquire(store, key)));
        expect(new Set(tokens).size).toBe(keys.length);
        const [first, ...others] = keys;
        expect(await store.complete(first as string, tokens[0] as string, longMs)).toBe(true);
        for (const key of others) {
          expect(await store.claim(key, lease)).toEqual({ status: 'in_progress' });
        }
        expect(await store.claim(first as string, lease)).toEqual({ status: 'completed' });
      });

      it('lets exactly one of 50 concurrent claims of one key acquire it', async () => {
        const store = await make();
        const results = await Promise.all(
          Array.from({ length: 50 }, () => store.claim('hot', longMs)),
        );
        const acquired = results.filter((r) => r.status === 'acquired');
        expect(acquired).toHaveLength(1);
        expect(results.filter((r) => r.status === 'in_progress')).toHaveLength(49);
      });
    });

    describe('leases and retention', () => {
      it('lets an expired lease (a crashed owner) be claimed again', async () => {
        const store = await make();
        await acquire(store, 'a');
        await pass(past(lease));
        await acquire(store, 'a');
      });

      it("ignores a stale owner's complete and release after someone else re-claimed", async () => {
        const store = await make();
        const stale = await acquire(store, 'a');
        await pass(past(lease));
        const owner = await acquire(store, 'a', longMs);
        expect(await store.complete('a', stale, longMs)).toBe(false);
        expect(await store.release('a', stale)).toBe(false);
        expect(await store.claim('a', lease)).toEqual({ status: 'in_progress' });
        expect(await store.complete('a', owner, longMs)).toBe(true);
        expect(await store.claim('a', lease)).toEqual({ status: 'completed' });
      });

      it('refuses to complete once its own lease has expired, even if nobody re-claimed', async () => {
        const store = await make();
        const token = await acquire(store, 'a');
        await pass(past(lease));
        expect(await store.complete('a', token, longMs)).toBe(false);
        expect(await store.release('a', token)).toBe(false);
        await acquire(store, 'a');
      });

      it('keeps a completed key for its retention, then forgets it', async () => {
        const store = await make();
        const token = await acquire(store, 'a', longMs);
        expect(await store.complete('a', token, retain)).toBe(true);
        if (injected) {
          await pass(retain - 1);
          expect(await store.claim('a', lease)).toEqual({ status: 'completed' });
          await pass(2);
        } else {
          expect(await store.claim('a', lease)).toEqual({ status: 'completed' });
          await pass(past(retain));
        }
        await acquire(store, 'a');
      });

      it('retains a completed key past the lease it was claimed with', async () => {
        const store = await make();
        const token = await acquire(store, 'a');
        expect(await store.complete('a', token, longMs)).toBe(true);
        await pass(past(lease) * 2);
        expect(await store.claim('a', lease)).toEqual({ status: 'completed' });
      });

      it('keeps many expired keys from blocking new claims', async () => {
        const store = await make();
        const tokens = await Promise.all(
          Array.from({ length: 300 }, (_, i) => acquire(store, `old-${i}`, lease)),
        );
        await Promise.all(tokens.map((t, i) => store.complete(`old-${i}`, t, lease)));
        await pass(past(lease));
        const again = await Promise.all(
          Array.from({ length: 300 }, (_, i) => store.claim(`old-${i}`, lease)),
        );
        expect(again.every((r) => r.status === 'acquired')).toBe(true);
      }, 30_000); // 900 commits: each an fsync on a durable store
    });

    if (options.crossProcess) {
      const cross = options.crossProcess;
      describe('between OS processes', () => {
        it('lets exactly one of two OS processes acquire each of 1,000 raced keys', async () => {
          const ctx = context();
          const args = await cross.args(ctx);
          const count = 1000;
          const task: StoreConformanceChildTask = {
            kind: 'race-claims',
            prefix: ctx.prefix,
            count,
          };
          const children = [0, 1].map(() => startChild(cross.module, args, task));
          await Promise.all(children.map((c) => c.waitFor('ready')));
          for (const child of children) child.send('go');
          const [a, b] = (await Promise.all(children.map((c) => c.result()))) as [
            RaceClaimsResult,
            RaceClaimsResult,
          ];
          const inBoth = a.acquired.filter((i) => new Set(b.acquired).has(i));
          expect(inBoth).toEqual([]);
          expect(a.acquired.length + b.acquired.length).toBe(count);
          expect(new Set([...a.acquired, ...b.acquired]).size).toBe(count);
          expect(a.inProgress + b.inProgress).toBe(count);
        }, 120_000);

        it('frees the key of an owner SIGKILLed between claim and completion when its lease ends', async () => {
          const ctx = context();
          const store = await make(ctx);
          const args = await cross.args(ctx);
          const child = startChild(cross.module, args, {
            kind: 'hold-claim',
            key: 'killed',
            leaseMs: lease,
          });
          await child.waitFor('held');
          await child.kill();
          // The child claimed on the real clock: start the suite's clock from it.
          time = Date.now();
          expect(await store.claim('killed', lease)).toEqual({ status: 'in_progress' });
          await pass(past(lease));
          const result = await store.claim('killed', lease);
          expect(result.status).toBe('acquired');
        }, 60_000);
      });
    }

    if (options.unreachable) {
      const build = options.unreachable;
      it('throws C2pError STORE_UNAVAILABLE when the backend cannot be reached', async () => {
        const attempt = async (
          // A claim may answer at once: a throw then is the failure to see.
          op: (store: IdempotencyStore) => unknown,
        ): Promise<void> => {
          let store: IdempotencyStore | undefined;
          try {
            store = await build();
            await op(store);
          } catch (error) {
            expect(unavailable(error), String(error)).toBe(true);
            expect((error as Error & { status?: number }).status).toBe(503);
            return;
          } finally {
            await store?.close?.().catch(() => undefined);
          }
          throw new Error('expected STORE_UNAVAILABLE, but the operation succeeded');
        };
        await attempt((s) => s.claim('a', lease));
        await attempt((s) => s.complete('a', 'token', retain));
        await attempt((s) => s.release('a', 'token'));
      }, 30_000);
    }

    if (options.restartServer) {
      const restart = options.restartServer;
      it('recovers after its server restarts mid-run, without a new store', async () => {
        const store = await make();
        const token = await acquire(store, 'before', longMs);
        expect(await store.complete('before', token, longMs)).toBe(true);

        let running = true;
        let n = 0;
        let succeeded = 0;
        const failures: unknown[] = [];
        const load = (async () => {
          while (running) {
            try {
              await store.claim(`during-${n++}`, longMs);
              succeeded++;
            } catch (error) {
              failures.push(error);
            }
            await sleep(10);
          }
        })();
        await sleep(100);
        await restart();
        // The store must find its feet again by itself: retry for a while.
        const deadline = Date.now() + 30_000;
        let after: ClaimResult | undefined;
        while (!after) {
          try {
            after = await store.claim('after', longMs);
          } catch (error) {
            expect(unavailable(error), String(error)).toBe(true);
            if (Date.now() > deadline) throw error;
            await sleep(100);
          }
        }
        running = false;
        await load;
        expect(after.status).toBe('acquired');
        expect(succeeded).toBeGreaterThan(0);
        for (const error of failures) expect(unavailable(error), String(error)).toBe(true);
        expect(await store.claim('before', lease)).toEqual({ status: 'completed' });
      }, 90_000);
    }

    if (options.transactional) {
      const tx = options.transactional;
      const makeTx = async (
        ctx: StoreConformanceContext,
      ): Promise<S & TransactionalIdempotencyStore<unknown>> => {
        const store = await make(ctx);
        if (!isTransactionalStore(store)) throw new Error(`${name} has no completeWithin`);
        return store as S & TransactionalIdempotencyStore<unknown>;
      };
      type Write = (t: unknown, id: string, c: StoreConformanceContext) => Promise<void> | void;
      const write = tx.write as Write;

      describe('transactional form', () => {
        it('commits the write and the completion together', async () => {
          const ctx = context();
          const store = await makeTx(ctx);
          const token = await acquire(store, 'a');
          const done = await store.completeWithin('a', token, longMs, async (t) => {
            await write(t, 'order-1', ctx);
          });
          expect(done).toBe(true);
          expect(await tx.exists('order-1', ctx)).toBe(true);
          expect(await store.claim('a', lease)).toEqual({ status: 'completed' });
        });

        it('rolls back both when the handler throws after writing, and rethrows', async () => {
          const ctx = context();
          const store = await makeTx(ctx);
          const token = await acquire(store, 'a');
          const boom = new Error('handler failed');
          await expect(
            store.completeWithin('a', token, longMs, async (t) => {
              await write(t, 'order-1', ctx);
              throw boom;
            }),
          ).rejects.toBe(boom);
          expect(await tx.exists('order-1', ctx)).toBe(false);
          // Still the owner's (not completed): the pipeline releases it, and a retry runs again.
          expect(await store.claim('a', lease)).toEqual({ status: 'in_progress' });
          expect(await store.release('a', token)).toBe(true);
          const retry = await acquire(store, 'a');
          expect(
            await store.completeWithin('a', retry, longMs, (t) =>
              Promise.resolve(write(t, 'order-1', ctx)),
            ),
          ).toBe(true);
          expect(await tx.exists('order-1', ctx)).toBe(true);
        });

        it('commits nothing for a stale owner and answers false', async () => {
          const ctx = context();
          const store = await makeTx(ctx);
          const stale = await acquire(store, 'a');
          await pass(past(lease));
          const owner = await acquire(store, 'a', longMs);
          // A store may check ownership before or after running the work; either way nothing commits.
          const done = await store.completeWithin('a', stale, longMs, async (t) => {
            await write(t, 'order-1', ctx);
          });
          expect(done).toBe(false);
          expect(await tx.exists('order-1', ctx)).toBe(false);
          expect(await store.claim('a', lease)).toEqual({ status: 'in_progress' });
          expect(await store.complete('a', owner, longMs)).toBe(true);
        });

        it('keeps concurrent transactions apart: one failing never undoes another', async () => {
          const ctx = context();
          const store = await makeTx(ctx);
          const [ta, tb, tc] = await Promise.all(['a', 'b', 'c'].map((k) => acquire(store, k)));
          const failing = store.completeWithin('a', ta as string, longMs, async (t) => {
            await write(t, 'from-a', ctx);
            await sleep(50);
            throw new Error('a failed');
          });
          const succeeding = store.completeWithin('b', tb as string, longMs, async (t) => {
            await sleep(10);
            await write(t, 'from-b', ctx);
            await sleep(20);
          });
          const plain = store.complete('c', tc as string, longMs);
          const [ra, rb, rc] = await Promise.allSettled([failing, succeeding, plain]);
          expect(ra.status).toBe('rejected');
          expect(rb).toEqual({ status: 'fulfilled', value: true });
          expect(rc).toEqual({ status: 'fulfilled', value: true });
          expect(await tx.exists('from-a', ctx)).toBe(false);
          expect(await tx.exists('from-b', ctx)).toBe(true);
          expect(await store.claim('a', lease)).toEqual({ status: 'in_progress' });
          expect(await store.claim('b', lease)).toEqual({ status: 'completed' });
          expect(await store.claim('c', lease)).toEqual({ status: 'completed' });
        });

        it('answers false with nothing committed when the lease runs out while the work runs', async () => {
          const ctx = context();
          const store = await makeTx(ctx);
          const token = await acquire(store, 'a');
          const done = await store.completeWithin('a', token, longMs, async (t) => {
            await write(t, 'order-1', ctx);
            await pass(past(lease));
          });
          expect(done).toBe(false);
          expect(await tx.exists('order-1', ctx)).toBe(false);
          // Nothing completed: the next delivery claims the key.
          await acquire(store, 'a');
        });
      });

      describe('processOnce', () => {
        type ProcessingStore = S &
          TransactionalIdempotencyStore<unknown> &
          Required<Pick<TransactionalIdempotencyStore<unknown>, 'processOnce'>>;
        const makeProcessing = async (ctx: StoreConformanceContext): Promise<ProcessingStore> => {
          const store = await makeTx(ctx);
          if (typeof store.processOnce !== 'function') {
            throw new Error(`${name} has no processOnce: a transactional store must implement it`);
          }
          return store as ProcessingStore;
        };

        it('commits the write and the completion together, then answers duplicate without running the work', async () => {
          const ctx = context();
          const store = await makeProcessing(ctx);
          expect(
            await store.processOnce('a', longMs, (t) => Promise.resolve(write(t, 'o-1', ctx))),
          ).toBe('processed');
          expect(await tx.exists('o-1', ctx)).toBe(true);
          let ran = false;
          expect(
            await store.processOnce('a', longMs, async () => {
              ran = true;
            }),
          ).toBe('duplicate');
          expect(ran).toBe(false);
        });

        it('rolls back and rethrows when the work throws; the next delivery then runs at once', async () => {
          const ctx = context();
          const store = await makeProcessing(ctx);
          const boom = new Error('handler failed');
          await expect(
            store.processOnce('a', longMs, async (t) => {
              await write(t, 'o-1', ctx);
              throw boom;
            }),
          ).rejects.toBe(boom);
          expect(await tx.exists('o-1', ctx)).toBe(false);
          expect(
            await store.processOnce('a', longMs, (t) => Promise.resolve(write(t, 'o-1', ctx))),
          ).toBe('processed');
          expect(await tx.exists('o-1', ctx)).toBe(true);
        });

        it('keeps the completion for retainMs, not the lease, then forgets it', async () => {
          const ctx = context();
          const store = await makeProcessing(ctx);
          const noop = async (): Promise<void> => undefined;
          expect(await store.processOnce('a', retain, noop)).toBe('processed');
          if (injected) {
            await pass(retain - 1);
            expect(await store.processOnce('a', retain, noop)).toBe('duplicate');
            await pass(2);
          } else {
            expect(await store.processOnce('a', retain, noop)).toBe('duplicate');
            await pass(past(retain));
          }
          expect(await store.processOnce('a', retain, noop)).toBe('processed');
        });

        it('answers a concurrent duplicate after the first commits, never running its work', async () => {
          const ctx = context();
          const store = await makeProcessing(ctx);
          const first = store.processOnce('a', longMs, async (t) => {
            await sleep(100);
            await write(t, 'o-1', ctx);
          });
          await sleep(20);
          let ran = false;
          const second = store.processOnce('a', longMs, async () => {
            ran = true;
          });
          expect(await first).toBe('processed');
          expect(['duplicate', 'in_progress']).toContain(await second);
          expect(ran).toBe(false);
          expect(await store.processOnce('a', longMs, async () => undefined)).toBe('duplicate');
        });

        it('runs a concurrent duplicate itself when the first fails', async () => {
          const ctx = context();
          const store = await makeProcessing(ctx);
          const first = store.processOnce('a', longMs, async (t) => {
            await write(t, 'from-first', ctx);
            await sleep(100);
            throw new Error('first failed');
          });
          await sleep(20);
          const second = store.processOnce('a', longMs, (t) =>
            Promise.resolve(write(t, 'from-second', ctx)),
          );
          await expect(first).rejects.toThrow('first failed');
          expect(await second).toBe('processed');
          expect(await tx.exists('from-first', ctx)).toBe(false);
          expect(await tx.exists('from-second', ctx)).toBe(true);
        });

        it('keeps concurrent keys apart: one failing never undoes another', async () => {
          const ctx = context();
          const store = await makeProcessing(ctx);
          const results = await Promise.allSettled(
            Array.from({ length: 10 }, (_, i) =>
              store.processOnce(`k${i}`, longMs, async (t) => {
                await sleep(i * 5);
                await write(t, `o-${i}`, ctx);
                await sleep(10);
                if (i % 3 === 0) throw new Error(`k${i} failed`);
              }),
            ),
          );
          for (const [i, result] of results.entries()) {
            if (i % 3 === 0) expect(result.status).toBe('rejected');
            else expect(result).toEqual({ status: 'fulfilled', value: 'processed' });
            expect(await tx.exists(`o-${i}`, ctx)).toBe(i % 3 !== 0);
          }
        });

        if (options.crossProcess) {
          const cross = options.crossProcess;
          it('leaves nothing behind when its owner is SIGKILLed inside the work: the next delivery runs at once', async () => {
            const ctx = context();
            const store = await makeProcessing(ctx);
            const args = await cross.args(ctx);
            const child = startChild(cross.module, args, {
              kind: 'hold-process',
              key: 'killed',
              id: 'from-killed',
            });
            await child.waitFor('held');
            await child.kill();
            const started = Date.now();
            const result = await store.processOnce('killed', longMs, (t) =>
              Promise.resolve(write(t, 'from-next', ctx)),
            );
            const tookMs = Date.now() - started;
            expect(result).toBe('processed');
            expect(tookMs, `processOnce after the kill took ${tookMs} ms`).toBeLessThan(2000);
            expect(await tx.exists('from-killed', ctx)).toBe(false);
            expect(await tx.exists('from-next', ctx)).toBe(true);
          }, 60_000);

          it('lets exactly one of two OS processes process each of 300 raced keys', async () => {
            const ctx = context();
            await makeProcessing(ctx);
            const args = await cross.args(ctx);
            const count = 300;
            const task: StoreConformanceChildTask = {
              kind: 'race-process',
              prefix: ctx.prefix,
              count,
            };
            const children = [0, 1].map(() => startChild(cross.module, args, task));
            await Promise.all(children.map((c) => c.waitFor('ready')));
            for (const child of children) child.send('go');
            const [a, b] = (await Promise.all(children.map((c) => c.result()))) as [
              RaceProcessResult,
              RaceProcessResult,
            ];
            expect([...a.errors, ...b.errors]).toEqual([]);
            const inBoth = a.processed.filter((i) => new Set(b.processed).has(i));
            expect(inBoth).toEqual([]);
            // A key one process found in progress was processed by the other.
            expect(new Set([...a.processed, ...b.processed]).size).toBe(count);
            expect(a.duplicate + b.duplicate + a.inProgress + b.inProgress).toBe(count);
          }, 120_000);
        }
      });
    } else {
      it('is a plain store (a transactional one must give options.transactional)', async () => {
        const store = await make();
        expect(
          isTransactionalStore(store),
          `${name} has completeWithin: pass options.transactional so the suite tests it`,
        ).toBe(false);
      });
    }
  });
}

/** The suite's child program, built beside this file as its own entry. */
const childProgram = new URL('./store-conformance-child.js', import.meta.url);

/** A running child process of the suite, spoken to by lines. */
interface Child {
  /** Resolves when the child prints `text` on a line; rejects if it exits first. */
  waitFor(text: string): Promise<void>;
  send(text: string): void;
  /** The JSON of the child's last line, once it exits with 0. */
  result(): Promise<unknown>;
  /** SIGKILLs the child and resolves once it is gone. */
  kill(): Promise<void>;
}

function startChild(module: string | URL, args: unknown, task: StoreConformanceChildTask): Child {
  const url = module instanceof URL ? module : pathToFileURL(module);
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [fileURLToPath(childProgram)],
    {
      env: {
        ...process.env,
        C2P_CONFORMANCE_MODULE: url.href,
        C2P_CONFORMANCE_ARGS: JSON.stringify(args),
        C2P_CONFORMANCE_TASK: JSON.stringify(task),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const failure = (code: number | null): Error =>
    new Error(`the conformance child exited with ${code}: ${stderr || stdout}`);
  return {
    waitFor(text) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (stdout.split('\n').includes(text)) {
            listeners.delete(check);
            resolve();
          }
        };
        listeners.add(check);
        check();
        exited.then((code) => reject(failure(code)), reject);
      });
    },
    send(text) {
      child.stdin.write(`${text}\n`);
    },
    async result() {
      const code = await exited;
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) throw failure(code);
      return JSON.parse(last) as unknown;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

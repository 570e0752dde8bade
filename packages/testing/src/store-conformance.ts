import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ClaimResult, IdempotencyStore, TransactionalIdempotencyStore } from '@c2p/core';
import { isC2pError } from '@c2p/core';
import { isTransactionalStore } from '@c2p/core/kit';
import { afterEach, describe, expect, it } from 'vitest';

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

/** How to run the cross-process race: a module each child process imports. */
export interface StoreConformanceCrossProcessOptions {
  /**
   * An ES module (absolute path or `file:` URL) exporting
   * `createStore(args): IdempotencyStore | Promise<IdempotencyStore>`. It runs in
   * a plain Node process, so it imports the built packages, not TypeScript sources.
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
  /** Races 1,000 claims of the same keys from two OS processes. */
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
      });
    });

    if (options.crossProcess) {
      const race = options.crossProcess;
      it('lets exactly one of two OS processes acquire each of 1,000 raced keys', async () => {
        const ctx = context();
        const args = await race.args(ctx);
        const count = 1000;
        const children = [0, 1].map(() => runChild(race.module, args, ctx.prefix, count));
        await Promise.all(children.map((c) => c.ready));
        for (const child of children) child.go();
        const results = await Promise.all(children.map((c) => c.result));
        const [a, b] = results as [ChildResult, ChildResult];
        const inBoth = a.acquired.filter((i) => new Set(b.acquired).has(i));
        expect(inBoth).toEqual([]);
        expect(a.acquired.length + b.acquired.length).toBe(count);
        expect(new Set([...a.acquired, ...b.acquired]).size).toBe(count);
        expect(a.inProgress + b.inProgress).toBe(count);
      }, 120_000);
    }

    if (options.unreachable) {
      const build = options.unreachable;
      it('throws C2pError STORE_UNAVAILABLE when the backend cannot be reached', async () => {
        const attempt = async (
          op: (store: IdempotencyStore) => Promise<unknown>,
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
      describe('transactional form', () => {
        const makeTx = async (
          ctx: StoreConformanceContext,
        ): Promise<S & TransactionalIdempotencyStore<unknown>> => {
          const store = await make(ctx);
          if (!isTransactionalStore(store)) throw new Error(`${name} has no completeWithin`);
          return store as S & TransactionalIdempotencyStore<unknown>;
        };
        type Write = (t: unknown, id: string, c: StoreConformanceContext) => Promise<void> | void;
        const write = tx.write as Write;

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

interface ChildResult {
  acquired: number[];
  inProgress: number;
}

interface Child {
  ready: Promise<void>;
  go(): void;
  result: Promise<ChildResult>;
}

// Runs in each child: build the store, say ready, wait for "go", claim every key
// with 16 claims in flight, and print which keys this process acquired.
const childSource = `
const { createStore } = await import(process.env.C2P_CONFORMANCE_MODULE);
const args = JSON.parse(process.env.C2P_CONFORMANCE_ARGS);
const prefix = process.env.C2P_CONFORMANCE_PREFIX;
const count = Number(process.env.C2P_CONFORMANCE_COUNT);
const store = await createStore(args);
process.stdout.write('ready\\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
const acquired = [];
let inProgress = 0;
let next = 0;
const worker = async () => {
  while (next < count) {
    const i = next++;
    const result = await store.claim(prefix + ':' + i, 600000);
    if (result.status === 'acquired') acquired.push(i);
    else if (result.status === 'in_progress') inProgress++;
    else throw new Error('unexpected ' + result.status + ' for key ' + i);
  }
};
await Promise.all(Array.from({ length: 16 }, worker));
await store.close?.();
process.stdout.write(JSON.stringify({ acquired, inProgress }) + '\\n');
process.stdin.destroy();
`;

function runChild(module: string | URL, args: unknown, prefix: string, count: number): Child {
  const url = module instanceof URL ? module : pathToFileURL(module);
  const child = spawn(process.execPath, ['--input-type=module', '-e', childSource], {
    cwd: dirname(fileURLToPath(url)),
    env: {
      ...process.env,
      C2P_CONFORMANCE_MODULE: url.href,
      C2P_CONFORMANCE_ARGS: JSON.stringify(args),
      C2P_CONFORMANCE_PREFIX: prefix,
      C2P_CONFORMANCE_COUNT: String(count),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.startsWith('ready\n')) markReady();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const result = new Promise<ChildResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`child process exited with ${code}: ${stderr || stdout}`));
        return;
      }
      resolve(JSON.parse(last) as ChildResult);
    });
  });
  // A child that dies before "ready" must fail the race rather than hang it.
  result.catch(() => markReady());
  return { ready, go: () => child.stdin.write('go\n'), result };
}

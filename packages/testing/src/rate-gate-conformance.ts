import { randomBytes } from 'node:crypto';
import type { RateGate } from '@c2p/core';
import { afterEach, describe, expect, it } from 'vitest';

/** What the suite asks a gate to be: a name of its own per test, and its rate. */
export interface RateGateConformanceContext {
  /** A name unique to one test (`c2p_` then 12 lowercase hex digits): the gate's row, key or name. */
  readonly name: string;
  readonly perSecond: number;
  readonly marginMs: number;
}

/** Options for {@link describeRateGateConformance}. */
export interface RateGateConformanceOptions {
  /**
   * Builds one reserver's gate for `context`. The suite calls it once per
   * concurrent reserver with the same context: a shared gate opens a
   * connection of its own each time (as another process would), a gate of
   * one process answers the same instance.
   */
  createGate(context: RateGateConformanceContext): RateGate | Promise<RateGate>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The most of `times` (ms) that fall in any window of `windowMs`, sliding. */
export function mostInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/**
 * The rate gate conformance suite: registers vitest tests proving that a
 * `RateGate` spaces its reservations as core's memory gate does. Concurrent
 * reservers, each on a gate of its own (a connection, as another process
 * would have), start no more than `perSecond` in any one second (sliding,
 * measured where they start), and yet reach that rate; an idle gate banks no
 * burst; gates of different names are independent.
 *
 * The suite's gates have `marginMs: 50`: a start is measured after the
 * reservation's answer travelled back, a few ms later on one start than on
 * another, and the margin absorbs that, as it does in a deployment.
 *
 * ESM only, like every conformance subpath: it registers vitest tests.
 *
 * @example
 * ```ts
 * describeRateGateConformance('postgres', {
 *   createGate: async ({ name, perSecond, marginMs }) => {
 *     const gate = createPostgresRateGate({ connection: url, name, perSecond, marginMs });
 *     await gate.migrate();
 *     return gate;
 *   },
 * });
 * ```
 */
export function describeRateGateConformance(
  name: string,
  options: RateGateConformanceOptions,
): void {
  const opened: RateGate[] = [];
  const gate = async (context: RateGateConformanceContext): Promise<RateGate> => {
    const created = await options.createGate(context);
    opened.push(created);
    return created;
  };
  const context = (perSecond: number): RateGateConformanceContext => ({
    name: `c2p_${randomBytes(6).toString('hex')}`,
    perSecond,
    marginMs: 50,
  });

  describe(`rate gate conformance: ${name}`, () => {
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((g) => g.close?.()));
    });

    it('never lets concurrent reservers start more than perSecond in any one second, sliding', async () => {
      const rate = context(10);
      const gates = await Promise.all([1, 2, 3, 4].map(() => gate(rate)));
      const starts: number[] = [];
      let tickets = 30;
      await Promise.all(
        gates.map(async (g) => {
          while (tickets > 0) {
            tickets--;
            await sleep(await g.reserve());
            starts.push(performance.now());
          }
        }),
      );
      expect(starts).toHaveLength(30);
      // Exactly the rate: never more, and reached (10 starts 105 ms apart fit in one second).
      expect(mostInWindow(starts, 1000)).toBe(10);
      const span = Math.max(...starts) - Math.min(...starts);
      expect(span).toBeGreaterThanOrEqual(29 * 105 - 100);
      expect(span).toBeLessThan(29 * 105 + 1_000);
    });

    it('banks no burst while idle: one start at once, the next an interval later', async () => {
      const g = await gate(context(5));
      const waits = [await g.reserve(), await g.reserve(), await g.reserve()];
      expect(waits[0]).toBeLessThan(50);
      expect(waits[1]).toBeGreaterThan(210 - 60);
      expect(waits[1]).toBeLessThanOrEqual(210);
      expect(waits[2]).toBeGreaterThan(420 - 60);
      expect(waits[2]).toBeLessThanOrEqual(420);
      await sleep(1_500);
      const after = [await g.reserve(), await g.reserve()];
      expect(after[0]).toBeLessThan(50);
      expect(after[1]).toBeGreaterThan(210 - 60);
      expect(after[1]).toBeLessThanOrEqual(210);
    });

    it('keeps gates of different names apart', async () => {
      const one = await gate(context(2));
      const other = await gate(context(2));
      await one.reserve();
      expect(await one.reserve()).toBeGreaterThan(400);
      expect(await other.reserve()).toBeLessThan(50);
    });

    it('refuses a bad rate naming options.perSecond', async () => {
      await expect(async () => gate({ ...context(1), perSecond: 0 })).rejects.toThrow(
        /options\.perSecond/,
      );
    });
  });
}

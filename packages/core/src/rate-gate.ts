import { invalidOption } from './errors.js';

/**
 * A shared limit on how often something may start: the worker asks it before
 * each handler attempt. An implementation spaces its answers by an emission
 * interval of `(1000 + marginMs) / perSecond` ms (GCRA with no burst beyond one
 * start), so however many callers share it, in any window of one second
 * (sliding, not aligned to the clock) at most `perSecond` of them may start.
 *
 * Core ships {@link createMemoryRateGate} (one process); the stores ship gates
 * shared by every process using one database: `createPostgresRateGate`,
 * `createRedisRateGate`, `createSqliteRateGate`.
 */
export interface RateGate {
  /**
   * Reserves the next start and answers how long to wait before it, in ms (`0`:
   * start now). The reservation is kept whether or not the caller starts: a
   * caller that finds nothing to do has used up one slot.
   */
  reserve(): Promise<number>;
  /** Closes what the gate opened itself. */
  close?(): Promise<void>;
}

/** What every {@link RateGate} is built from. */
export interface RateGateOptions {
  /** At most this many starts in any one second; a positive number, e.g. `5`, or `0.5` for one every 2 s. */
  perSecond: number;
  /**
   * How much longer than one second `perSecond + 1` starts are spread over, in
   * ms: room for the latency between the moment a start is allowed and the
   * call it makes downstream, which varies from one start to the next, so that
   * whoever is called still never sees more than `perSecond` in any second.
   * Defaults to `0`: exactly `1000 / perSecond` ms apart.
   */
  marginMs?: number;
}

/** Options for {@link createMemoryRateGate}. */
export interface MemoryRateGateOptions extends RateGateOptions {
  /** The clock, in ms. Defaults to `Date.now`. */
  now?: () => number;
}

/**
 * The emission interval of a gate, in whole microseconds, rounded up so that
 * `perSecond + 1` starts never fit into one second: the one computation every
 * gate shares. A bad `perSecond` or `marginMs` throws naming the option path.
 * For store authors.
 *
 * @example
 * ```ts
 * const intervalUs = rateGateIntervalUs({ perSecond: 5 }); // 200000
 * ```
 */
export function rateGateIntervalUs(
  options: RateGateOptions,
  pkg?: string,
  path = 'options',
): number {
  if (typeof options !== 'object' || options === null)
    throw invalidOption(path, 'must be an object', pkg);
  const { perSecond, marginMs = 0 } = options;
  // Between one start an hour and a million a second: beyond, it is not a rate limit.
  if (typeof perSecond !== 'number' || !(perSecond >= 1 / 3600 && perSecond <= 1_000_000))
    throw invalidOption(`${path}.perSecond`, 'must be a number from 1/3600 to 1000000', pkg);
  if (typeof marginMs !== 'number' || !(marginMs >= 0 && marginMs <= 60_000))
    throw invalidOption(`${path}.marginMs`, 'must be a number of ms from 0 to 60000', pkg);
  return Math.ceil(((1000 + marginMs) * 1000) / perSecond);
}

/**
 * A {@link RateGate} for one process: a generic cell rate algorithm over its
 * clock. Workers in other processes need a gate from their store.
 *
 * @example
 * ```ts
 * const gate = createMemoryRateGate({ perSecond: 5 });
 * const worker = startInboxWorker({ inbox, handlers, rate: { gate } });
 * ```
 */
export function createMemoryRateGate(options: MemoryRateGateOptions): RateGate {
  return memoryRateGate(rateGateIntervalUs(options) / 1000, options.now ?? Date.now);
}

/** The memory gate's algorithm, for an interval already checked. */
export function memoryRateGate(intervalMs: number, now: () => number): RateGate {
  // The theoretical arrival time: when the next start may happen.
  let nextAt = Number.NEGATIVE_INFINITY;
  return {
    reserve: () => {
      const at = now();
      const slot = Math.max(nextAt, at);
      nextAt = slot + intervalMs;
      return Promise.resolve(slot - at);
    },
  };
}

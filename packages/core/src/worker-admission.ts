import { type CircuitBreakerOptions, createCircuitBreaker } from './circuit-breaker.js';
import { invalidOption } from './errors.js';
import type { AttemptReport } from './inbox-worker.js';
import { memoryRateGate, type RateGate, rateGateIntervalUs } from './rate-gate.js';

/**
 * The worker's rate limit (`rate` in {@link InboxWorkerOptions}): at most
 * `perSecond` handler attempts start in any one second in this process, or
 * whatever a shared {@link RateGate} allows across every worker that uses it.
 */
export type WorkerRateOptions =
  /** A limit for this worker alone (a {@link createMemoryRateGate}). */
  | { readonly perSecond: number; readonly marginMs?: number }
  /** A gate shared with other workers, e.g. `createPostgresRateGate`. */
  | { readonly gate: RateGate };

/**
 * What the worker's loop asks before it leases: how many events it may lease
 * now (the breaker), and, with a rate, to wait for a slot first. Attempts'
 * reports go through {@link Admission.observe}, which tells the breaker.
 */
export interface Admission {
  /** How many of `free` it may lease with `running` attempts in flight; at most one with a rate. */
  room(free: number, running: number): number;
  /** Waits for the rate's next slot; `false` when stopped meanwhile. Throws what the gate throws. */
  admit(): Promise<boolean>;
  leased(ids: readonly string[]): void;
  /** Wraps the report hook so the breaker sees each attempt's outcome. */
  observe(report: (report: AttemptReport) => void): (report: AttemptReport) => void;
  /** Ends a wait in progress: the worker is stopping. */
  stop(): void;
}

/** Reads `rate` and `breaker`; a bad one throws naming its option path. */
export function createAdmission(
  rate: WorkerRateOptions | undefined,
  breakerOptions: CircuitBreakerOptions | false | undefined,
  now: () => number,
): Admission {
  const gate = rateGateOf(rate);
  const breaker = createCircuitBreaker(breakerOptions, now);
  let stopped = false;
  let wake: (() => void) | undefined;
  return {
    room: (free, running) => {
      const room = breaker ? breaker.room(free, running) : free;
      return gate ? Math.min(room, 1) : room;
    },
    admit: async () => {
      if (gate === undefined) return !stopped;
      const waitMs = await gate.reserve();
      if (waitMs > 0 && !stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.ceil(waitMs));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
      return !stopped;
    },
    leased: (ids) => breaker?.leased(ids),
    observe: (report) =>
      breaker === undefined
        ? report
        : (attempt) => {
            breaker.settle(attempt.id, resultOf(attempt));
            report(attempt);
          },
    stop: () => {
      stopped = true;
      wake?.();
    },
  };
}

function rateGateOf(rate: WorkerRateOptions | undefined): RateGate | undefined {
  if (rate === undefined) return undefined;
  if (typeof rate !== 'object' || rate === null)
    throw invalidOption('options.rate', 'must be { perSecond } or { gate }');
  if ('gate' in rate) {
    if (typeof rate.gate?.reserve !== 'function')
      throw invalidOption('options.rate.gate', 'must be a rate gate, e.g. createMemoryRateGate()');
    return rate.gate;
  }
  return memoryRateGate(rateGateIntervalUs(rate, undefined, 'options.rate') / 1000, Date.now);
}

/** The handlers failed (downstream trouble), succeeded, or neither was learnt (lease lost, store down). */
function resultOf(report: AttemptReport): 'success' | 'failure' | 'neither' {
  if (report.outcome === 'processed') return 'success';
  return report.error?.code === 'HANDLER_FAILED' ? 'failure' : 'neither';
}

import { BREAKER_FAILURES, BREAKER_MAX_OPEN_MS, BREAKER_OPEN_MS } from './defaults.js';
import { integerOption, invalidOption } from './errors.js';

/**
 * Options for the worker's circuit breaker (`breaker` in
 * {@link InboxWorkerOptions}): after `failures` handler failures in a row the
 * worker stops leasing for `openMs`, then lets one probe through; a failed
 * probe doubles the pause up to `maxOpenMs`, a success closes the breaker.
 * The breaker is per worker (per process): each worker of a shared inbox
 * counts its own failures.
 */
export interface CircuitBreakerOptions {
  /** Handler failures in a row that open the breaker. Defaults to `5`. */
  failures?: number;
  /** The first pause, in ms. Defaults to `30000`. */
  openMs?: number;
  /** The longest pause, reached by doubling while probes fail, in ms. Defaults to `300000`. */
  maxOpenMs?: number;
}

/** What the worker asks of its breaker; see {@link createCircuitBreaker}. */
export interface CircuitBreaker {
  /**
   * How many attempts may start now, given `free` room and `running` attempts:
   * none while open, one probe once the pause is over, and while closed no more
   * than could still fail before the breaker opens (once one has failed).
   */
  room(free: number, running: number): number;
  /** The ids just leased: the first one leased after a pause is the probe. */
  leased(ids: readonly string[]): void;
  /** An attempt's result: `success`, `failure` (the handlers failed), or `neither` (lease lost, store down). */
  settle(id: string, result: 'success' | 'failure' | 'neither'): void;
}

/**
 * The worker's breaker, or `undefined` when `options` is `false`. Its state is
 * this worker's alone. A bad option throws naming `options.breaker.*`.
 */
export function createCircuitBreaker(
  options: CircuitBreakerOptions | false | undefined,
  now: () => number,
): CircuitBreaker | undefined {
  if (options === false) return undefined;
  if (options !== undefined && (typeof options !== 'object' || options === null))
    throw invalidOption('options.breaker', 'must be an object or false');
  const threshold = integerOption(options?.failures, 'options.breaker.failures', {
    fallback: BREAKER_FAILURES,
  });
  const openMs = integerOption(options?.openMs, 'options.breaker.openMs', {
    fallback: BREAKER_OPEN_MS,
  });
  const maxOpenMs = integerOption(options?.maxOpenMs, 'options.breaker.maxOpenMs', {
    fallback: Math.max(BREAKER_MAX_OPEN_MS, openMs),
  });
  if (maxOpenMs < openMs)
    throw invalidOption('options.breaker.maxOpenMs', 'must be at least options.breaker.openMs');
  return new Breaker(threshold, openMs, maxOpenMs, now);
}

class Breaker implements CircuitBreaker {
  #failures = 0;
  /** When the breaker is open: the end of its pause; `undefined` when closed. */
  #openUntil: number | undefined;
  #pauseMs: number;
  /** The probe in flight, if any. */
  #probe: string | undefined;

  constructor(
    private readonly threshold: number,
    private readonly openMs: number,
    private readonly maxOpenMs: number,
    private readonly now: () => number,
  ) {
    this.#pauseMs = openMs;
  }

  room(free: number, running: number): number {
    if (this.#openUntil !== undefined) {
      if (this.now() < this.#openUntil || this.#probe !== undefined) return 0;
      return Math.min(free, 1);
    }
    if (this.#failures === 0) return free;
    return Math.max(0, Math.min(free, this.threshold - this.#failures - running));
  }

  leased(ids: readonly string[]): void {
    if (this.#openUntil === undefined || this.#probe !== undefined) return;
    if (this.now() >= this.#openUntil) this.#probe = ids[0];
  }

  settle(id: string, result: 'success' | 'failure' | 'neither'): void {
    const probe = this.#probe !== undefined && this.#probe === id;
    if (probe) this.#probe = undefined;
    if (result === 'success') {
      this.#failures = 0;
      this.#openUntil = undefined;
      this.#pauseMs = this.openMs;
    } else if (result === 'failure') {
      if (probe) this.#open(Math.min(this.#pauseMs * 2, this.maxOpenMs));
      else if (this.#openUntil === undefined && ++this.#failures >= this.threshold)
        this.#open(this.openMs);
    }
  }

  #open(pauseMs: number): void {
    this.#pauseMs = pauseMs;
    this.#openUntil = this.now() + pauseMs;
  }
}

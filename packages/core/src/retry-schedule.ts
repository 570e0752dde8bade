import { integerOption, invalidOption } from './errors.js';

/** Options for {@link createRetrySchedule}. */
export interface RetryScheduleOptions {
  /** Attempts in all, the first included; then the event is `dead`. Defaults to `25` (about three days). */
  maxAttempts?: number;
  /** The delay after the first failure, in ms; it doubles after each. Defaults to `2000`. */
  baseDelayMs?: number;
  /** The longest delay between two attempts, in ms. Defaults to `21600000` (6 hours). */
  maxDelayMs?: number;
  /**
   * How far each delay may stray from its nominal value, as a fraction: `0.2`
   * spreads it over 80–120%, so events that failed together do not retry
   * together. Defaults to `0.2`.
   */
  jitter?: number;
}

/** The defaults of {@link createRetrySchedule}, for apps that show or derive from them. */
export const retryScheduleDefaults = {
  maxAttempts: 25,
  baseDelayMs: 2_000,
  maxDelayMs: 6 * 60 * 60 * 1000,
  jitter: 0.2,
} as const satisfies Required<RetryScheduleOptions>;

/**
 * When to try a failed event again: given how many attempts have been made,
 * the delay in ms before the next one, or `null` when the schedule is spent.
 */
export type RetrySchedule = (attempts: number) => number | null;

/**
 * Exponential backoff with jitter, capped. The defaults retry within seconds,
 * then less and less often, for about three days (25 attempts: 2 s, 4 s, …,
 * 6 h), far past Clik2pay's own three attempts.
 *
 * @example
 * createRetrySchedule({ maxAttempts: 10, baseDelayMs: 1_000, maxDelayMs: 60_000 });
 */
export function createRetrySchedule(
  options: RetryScheduleOptions = {},
  random: () => number = Math.random,
): RetrySchedule {
  const maxAttempts = integerOption(options.maxAttempts, 'options.retry.maxAttempts', {
    fallback: retryScheduleDefaults.maxAttempts,
  });
  const baseDelayMs = integerOption(options.baseDelayMs, 'options.retry.baseDelayMs', {
    fallback: retryScheduleDefaults.baseDelayMs,
    min: 0,
  });
  const maxDelayMs = integerOption(options.maxDelayMs, 'options.retry.maxDelayMs', {
    fallback: retryScheduleDefaults.maxDelayMs,
    min: baseDelayMs,
  });
  const jitter = options.jitter ?? retryScheduleDefaults.jitter;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter < 1)) {
    throw invalidOption('options.retry.jitter', 'must be a number from 0 to below 1');
  }
  return (attempts) => {
    if (attempts >= maxAttempts) return null;
    // 2 ** 40 ms is 35 years: past that the cap applies anyway.
    const nominal = Math.min(
      maxDelayMs,
      baseDelayMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40),
    );
    return Math.round(nominal * (1 - jitter + 2 * jitter * random()));
  };
}

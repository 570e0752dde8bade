import { invalidOption } from './api-error.js';

/** How a call is retried after a 429, a 5xx, or (reads only) a network failure or timeout. */
export interface RetryOptions {
  /** Attempts in all, the first included; `1` never retries. Defaults to `4`. */
  attempts?: number;
  /** The first backoff, doubled for each later retry, with jitter. Defaults to `500` ms. */
  baseDelayMs?: number;
  /** The longest backoff. Defaults to `30_000` ms. */
  maxDelayMs?: number;
  /**
   * A `Retry-After` longer than this is not waited for: the call fails at once
   * with `RATE_LIMITED` (or `SERVER_ERROR`) carrying `retryAfterMs`. Defaults to `60_000` ms.
   */
  maxRetryAfterMs?: number;
}

/** {@link RetryOptions} with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

/** Checks `options.retry` and fills in its defaults. */
export function resolveRetryPolicy(options: RetryOptions = {}): RetryPolicy {
  const policy = {
    attempts: options.attempts ?? 4,
    baseDelayMs: options.baseDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
  };
  if (!Number.isSafeInteger(policy.attempts) || policy.attempts < 1) {
    throw invalidOption('options.retry.attempts', `${policy.attempts} is not a whole number >= 1`);
  }
  for (const name of ['baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'] as const) {
    const value = policy[name];
    if (!Number.isFinite(value) || value < 0) {
      throw invalidOption(`options.retry.${name}`, `${value} is not a number of ms >= 0`);
    }
  }
  return policy;
}

/**
 * The wait before retry `retry` (1 for the first): the server's `Retry-After`
 * when it sent one, never less, plus up to a tenth of it so that many clients
 * told the same do not come back at the same instant; otherwise exponential
 * backoff with "equal jitter" (half fixed, half random).
 */
export function retryDelayMs(
  policy: RetryPolicy,
  retry: number,
  jitter: { random: () => number; retryAfterMs: number | undefined },
): number {
  const { random, retryAfterMs } = jitter;
  if (retryAfterMs !== undefined) return retryAfterMs + random() * retryAfterMs * 0.1;
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return exponential / 2 + (random() * exponential) / 2;
}

/**
 * `Retry-After` in ms: delay-seconds or an HTTP-date (RFC 9110 §10.2.3);
 * `undefined` when absent or unreadable, 0 for a date in the past.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

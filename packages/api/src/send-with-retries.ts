import { C2pApiError } from './api-error.js';
import type { RetryPolicy } from './retry-policy.js';
import { parseRetryAfter, retryDelayMs } from './retry-policy.js';

/** What every HTTP exchange of the client shares. */
export interface HttpSettings {
  fetch: typeof fetch;
  /** Per attempt, from sending to the end of the answer's body. */
  timeoutMs: number;
  retry: RetryPolicy;
  now: () => number;
  random: () => number;
}

/** One logical call, sent as many times as the retry policy allows. */
export interface Exchange {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /**
   * Whether a network failure or a timeout may be retried. Not for a create:
   * the request may have arrived. A 429 or 5xx answer is always retried.
   */
  idempotent: boolean;
  signal: AbortSignal | undefined;
}

/** An answer, read whole. */
export interface Answer {
  status: number;
  text: string;
  /** From `Retry-After`, when present. */
  retryAfterMs: number | undefined;
}

/** Is this status worth another attempt: 429 and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/**
 * Sends `exchange`, retrying a 429 or 5xx (and, when idempotent, a network
 * failure or timeout) with backoff and jitter, never sooner than a
 * `Retry-After` says. Answers the last answer, whatever its status; throws
 * `TIMEOUT`, `NETWORK_ERROR` or `ABORTED` when there is none.
 */
export async function sendWithRetries(http: HttpSettings, exchange: Exchange): Promise<Answer> {
  const { retry } = http;
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= retry.attempts;
    let answer: Answer;
    try {
      answer = await attemptOnce(http, exchange);
    } catch (error) {
      if (last || !exchange.idempotent || isC2pAborted(error)) throw error;
      await sleep(
        retryDelayMs(retry, attempt, { random: http.random, retryAfterMs: undefined }),
        exchange.signal,
      );
      continue;
    }
    if (last || !isRetryableStatus(answer.status)) return answer;
    if (answer.retryAfterMs !== undefined && answer.retryAfterMs > retry.maxRetryAfterMs) {
      return answer;
    }
    const wait = retryDelayMs(retry, attempt, {
      random: http.random,
      retryAfterMs: answer.retryAfterMs,
    });
    await sleep(wait, exchange.signal);
  }
}

function isC2pAborted(error: unknown): boolean {
  return error instanceof C2pApiError && error.code === 'ABORTED';
}

async function attemptOnce(http: HttpSettings, exchange: Exchange): Promise<Answer> {
  if (exchange.signal?.aborted) throw new C2pApiError('ABORTED');
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, http.timeoutMs);
  const onAbort = (): void => controller.abort();
  exchange.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const response = await http.fetch(exchange.url, {
      method: exchange.method,
      headers: exchange.headers,
      ...(exchange.body === undefined ? {} : { body: exchange.body }),
      signal: controller.signal,
    });
    const text = await response.text();
    return {
      status: response.status,
      text,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), http.now()),
    };
  } catch (error) {
    if (timedOut) {
      throw new C2pApiError('TIMEOUT', {
        message: `${apiErrorTimeout} ${http.timeoutMs} ms.`,
        cause: error,
      });
    }
    if (exchange.signal?.aborted) throw new C2pApiError('ABORTED', { cause: error });
    throw new C2pApiError('NETWORK_ERROR', { cause: error });
  } finally {
    clearTimeout(timer);
    exchange.signal?.removeEventListener('abort', onAbort);
  }
}

const apiErrorTimeout = 'The API did not answer within';

/** Waits `ms`, or throws `ABORTED` as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(new C2pApiError('ABORTED'));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new C2pApiError('ABORTED'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

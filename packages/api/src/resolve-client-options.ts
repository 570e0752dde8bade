import { invalidOption } from './api-error.js';
import type { Clik2payEnvironmentName } from './environments.js';
import { clik2payEnvironments } from './environments.js';
import type { RetryOptions } from './retry-policy.js';
import { resolveRetryPolicy } from './retry-policy.js';
import type { HttpSettings } from './send-with-retries.js';

/** Options for {@link createClik2payClient}. */
export interface Clik2payClientOptions {
  /** The API username Clik2pay issued (not the webhook's). */
  username: string;
  /** The API password. */
  password: string;
  /** Sent as `x-api-key` on every call. */
  apiKey: string;
  /** Picks both URLs. Defaults to `production`. */
  environment?: Clik2payEnvironmentName;
  /** Overrides the environment's API base, e.g. a local `c2p mock`: `http://127.0.0.1:4000/open/v1`. */
  baseUrl?: string;
  /** Overrides the environment's token URL. */
  tokenUrl?: string;
  /** Defaults to `payment_request/all`. */
  scope?: string;
  /**
   * The path of one payment request under the base, `{id}` standing for its
   * (URL-encoded) id. **An assumption**: no public page shows it, so it is an
   * option. Defaults to `/payment-requests/{id}` (the REST convention).
   */
  paymentRequestPath?: string;
  /** Per attempt, from sending to the end of the answer. Defaults to `10_000` ms. */
  timeoutMs?: number;
  /** Retries on 429 and 5xx (see {@link RetryOptions}). */
  retry?: RetryOptions;
  /** A token is renewed this long before it expires. Defaults to `60_000` ms, at most half its life. */
  renewBeforeMs?: number;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** The clock, in ms since the epoch, for token expiry. Defaults to `Date.now`. */
  now?: () => number;
  /** The random source for jitter, in [0, 1). Defaults to `Math.random`. */
  random?: () => number;
}

/** The options, checked, with every default filled in. */
export interface ResolvedClientOptions {
  http: HttpSettings;
  username: string;
  password: string;
  apiKey: string;
  baseUrl: string;
  tokenUrl: string;
  scope: string;
  paymentRequestPath: string;
  renewBeforeMs: number;
}

/** Checks every option, naming the first bad one: `[@c2p/api] options.apiKey: is empty`. */
export function resolveClientOptions(options: Clik2payClientOptions): ResolvedClientOptions {
  for (const name of ['username', 'password', 'apiKey'] as const) {
    const value: unknown = options[name];
    if (typeof value !== 'string' || value === '') {
      throw invalidOption(`options.${name}`, 'is missing or empty');
    }
  }
  const environment = options.environment ?? 'production';
  if (!Object.hasOwn(clik2payEnvironments, environment)) {
    throw invalidOption('options.environment', `"${environment}" is not production or sandbox`);
  }
  const urls = clik2payEnvironments[environment];
  const paymentRequestPath = options.paymentRequestPath ?? '/payment-requests/{id}';
  if (!paymentRequestPath.startsWith('/') || !paymentRequestPath.includes('{id}')) {
    throw invalidOption('options.paymentRequestPath', 'must start with / and contain {id}');
  }
  return {
    http: {
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      timeoutMs: positiveMs(options.timeoutMs ?? 10_000, 'options.timeoutMs'),
      retry: resolveRetryPolicy(options.retry),
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
    },
    username: options.username,
    password: options.password,
    apiKey: options.apiKey,
    baseUrl: httpUrl(options.baseUrl ?? urls.baseUrl, 'options.baseUrl').replace(/\/+$/, ''),
    tokenUrl: httpUrl(options.tokenUrl ?? urls.tokenUrl, 'options.tokenUrl'),
    scope: options.scope ?? 'payment_request/all',
    paymentRequestPath,
    renewBeforeMs: positiveMs(options.renewBeforeMs ?? 60_000, 'options.renewBeforeMs', true),
  };
}

function httpUrl(value: string, path: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidOption(path, `"${value}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidOption(path, `"${url.protocol}" is not http: or https:`);
  }
  if (url.username !== '' || url.password !== '') {
    throw invalidOption(path, 'must not hold credentials');
  }
  return value;
}

function positiveMs(value: number, path: string, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw invalidOption(path, `${value} is not a number of ms ${allowZero ? '>= 0' : '> 0'}`);
  }
  return value;
}

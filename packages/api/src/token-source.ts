import { C2pApiError } from './api-error.js';
import { encodeBasic } from './encode-basic.js';
import { tokenResponseSchema } from './schemas.js';
import type { HttpSettings } from './send-with-retries.js';
import { isRetryableStatus, sendWithRetries } from './send-with-retries.js';

/** Where and how to get tokens. */
export interface TokenSourceOptions {
  tokenUrl: string;
  username: string;
  password: string;
  /** Defaults to `payment_request/all`. */
  scope?: string;
  /** A token is renewed this long before it expires. Defaults to `60_000` ms, at most half its life. */
  renewBeforeMs?: number;
}

/** Bearer tokens, cached until shortly before they expire. */
export interface TokenSource {
  /** A valid token: the cached one, or a new one (one token call in flight, however many wait). */
  get(signal?: AbortSignal): Promise<string>;
  /** Forgets `token` after the API refused it; a newer token is kept. */
  invalidate(token: string): void;
}

interface Cached {
  token: string;
  renewAt: number;
}

/**
 * Client-credentials tokens from Clik2pay's token endpoint: `POST` with Basic
 * `username:password` and the form body
 * `grant_type=client_credentials&scope=payment_request/all`. The token is kept
 * until `renewBeforeMs` before its `expires_in`; concurrent callers share one
 * token call, and a failed one is not cached.
 */
export function createTokenSource(http: HttpSettings, options: TokenSourceOptions): TokenSource {
  const authorization = encodeBasic(options.username, options.password);
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    scope: options.scope ?? 'payment_request/all',
  }).toString();
  const renewBeforeMs = options.renewBeforeMs ?? 60_000;
  let cached: Cached | undefined;
  let inFlight: Promise<Cached> | undefined;

  const request = async (): Promise<Cached> => {
    const answer = await sendWithRetries(http, {
      url: options.tokenUrl,
      method: 'POST',
      headers: {
        authorization,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body,
      idempotent: true,
      signal: undefined,
    });
    const issuedAt = http.now();
    if (answer.status < 200 || answer.status > 299) throw tokenCallError(answer);
    const parsed = tokenResponseSchema.safeParse(parseJson(answer.text));
    if (!parsed.success) {
      throw new C2pApiError('INVALID_RESPONSE', {
        message: 'The token endpoint answered without a usable access_token and expires_in.',
        status: answer.status,
      });
    }
    const lifetimeMs = parsed.data.expires_in * 1000;
    return {
      token: parsed.data.access_token,
      renewAt: issuedAt + lifetimeMs - Math.min(renewBeforeMs, lifetimeMs / 2),
    };
  };

  return {
    async get(signal) {
      if (cached !== undefined && http.now() < cached.renewAt) return cached.token;
      if (inFlight === undefined) {
        // The cache is set before the call counts as finished, so no caller sees neither.
        inFlight = request()
          .then((fresh) => {
            cached = fresh;
            return fresh;
          })
          .finally(() => {
            inFlight = undefined;
          });
      }
      return (await waitFor(inFlight, signal)).token;
    },
    invalidate(token) {
      if (cached?.token === token) cached = undefined;
    },
  };
}

function tokenCallError(answer: { status: number; retryAfterMs: number | undefined }): C2pApiError {
  const { status, retryAfterMs } = answer;
  const code =
    status === 429 ? 'RATE_LIMITED' : isRetryableStatus(status) ? 'SERVER_ERROR' : 'AUTH_FAILED';
  return new C2pApiError(code, {
    message: `The token endpoint answered ${status}.${code === 'AUTH_FAILED' ? ' Check the API username and password, and the environment.' : ''}`,
    status,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** The parsed JSON, or `undefined` for anything else (the schema then refuses it). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `promise`, or `ABORTED` as soon as `signal` aborts (the shared token call goes on). */
function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(new C2pApiError('ABORTED'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new C2pApiError('ABORTED'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

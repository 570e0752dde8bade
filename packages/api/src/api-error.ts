/**
 * Every code `@c2p/api` throws, with a generic message. Messages never contain
 * credentials, tokens or the API's answer; `status` and `retryAfterMs` say the rest.
 */
export const apiErrorCodes = {
  INVALID_OPTIONS: 'The client configuration is invalid.',
  INVALID_INPUT: 'The request is invalid; nothing was sent.',
  AUTH_FAILED: 'The token endpoint refused the API username and password.',
  UNAUTHORIZED: 'The API refused the token, even a freshly renewed one.',
  FORBIDDEN: 'The API refused the call (check the API key and the environment).',
  NOT_FOUND: 'The API has no such resource.',
  REJECTED: 'The API rejected the request.',
  RATE_LIMITED: 'The API is rate limiting this client.',
  SERVER_ERROR: 'The API answered with a server error.',
  TIMEOUT: 'The API did not answer in time.',
  NETWORK_ERROR: 'The API could not be reached.',
  INVALID_RESPONSE: 'The API answered with something other than the expected shape.',
  ABORTED: 'The call was aborted.',
} as const;

/** A code from {@link apiErrorCodes}. */
export type ApiErrorCode = keyof typeof apiErrorCodes;

/** Options for {@link C2pApiError}. */
export interface C2pApiErrorOptions {
  /** Replaces the code's generic message. Must not contain credentials or answers. */
  message?: string;
  /** The HTTP status of the last answer, when there was one. */
  status?: number;
  /** How long the API asked to wait (`Retry-After`), when it did. */
  retryAfterMs?: number;
  /** The underlying error (a network failure, a zod error). */
  cause?: unknown;
}

/**
 * The one error class of `@c2p/api`: a code from {@link apiErrorCodes}, the
 * HTTP status when the API answered, and the cause. It never holds the API
 * username, password, key or a token, not even in its cause.
 */
export class C2pApiError extends Error {
  /** The code, a key of {@link apiErrorCodes}. */
  readonly code: ApiErrorCode;
  /** The status of the API's last answer, or `undefined` when there was none. */
  readonly status: number | undefined;
  /** The `Retry-After` of a 429 or 503, in ms, when the API sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ApiErrorCode, options: C2pApiErrorOptions = {}) {
    super(options.message ?? apiErrorCodes[code], { cause: options.cause });
    this.name = 'C2pApiError';
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Is `value` a {@link C2pApiError}, optionally with the given code? */
export function isC2pApiError(value: unknown, code?: ApiErrorCode): value is C2pApiError {
  return value instanceof C2pApiError && (code === undefined || value.code === code);
}

/** The error for a bad option, naming its path: `[@c2p/api] options.apiKey: is empty`. */
export function invalidOption(path: string, problem: string): C2pApiError {
  return new C2pApiError('INVALID_OPTIONS', { message: `[@c2p/api] ${path}: ${problem}` });
}

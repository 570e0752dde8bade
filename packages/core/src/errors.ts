/**
 * Every code c2p can answer with or throw, mapped to its HTTP status, the
 * pipeline step that answers with it (see {@link DeliveryStep}), and a generic
 * message. Messages never contain credentials or request input. A batch of
 * events answers with its worst outcome: the code with the highest status.
 */
export const errorCodes = {
  METHOD_NOT_ALLOWED: { status: 405, step: 'method', message: 'Only POST is accepted.' },
  IP_NOT_ALLOWED: { status: 403, step: 'ip', message: 'The client address is not allowed.' },
  UNAUTHORIZED: { status: 401, step: 'auth', message: 'Valid Basic credentials are required.' },
  PAYLOAD_TOO_LARGE: { status: 413, step: 'size', message: 'The body exceeds the size limit.' },
  INVALID_JSON: { status: 400, step: 'json', message: 'The body is not valid JSON.' },
  INVALID_PAYLOAD: {
    status: 422,
    step: 'payload',
    message: 'The body is not a Clik2pay event or an array of events.',
  },
  TOO_MANY_EVENTS: {
    status: 413,
    step: 'payload',
    message: 'The delivery holds more events than the limit.',
  },
  IN_PROGRESS: {
    status: 409,
    step: 'events',
    message: 'This event is being processed by another worker; retry later.',
  },
  HANDLER_FAILED: { status: 500, step: 'events', message: 'The event could not be processed.' },
  /**
   * Thrown by a handler that refuses an event for good (e.g. the API does not
   * confirm a `PAID`): the inbox worker marks it `dead` at once, with this
   * error's message, whatever attempts its schedule has left. Sync mode answers
   * it as `HANDLER_FAILED`.
   */
  EVENT_REFUSED: {
    status: 500,
    step: 'events',
    message: 'A handler refused the event; it is not retried.',
  },
  STORE_UNAVAILABLE: {
    status: 503,
    step: 'events',
    message: 'The idempotency store is unavailable.',
  },
  INVALID_OPTIONS: { status: 500, step: 'options', message: 'The configuration is invalid.' },
} as const satisfies Record<string, { status: number; step: string; message: string }>;

/** A code from {@link errorCodes}. */
export type C2pErrorCode = keyof typeof errorCodes;

/**
 * A step of the pipeline, in order: `method`, `ip`, `auth`, `size`, `json`,
 * `payload`, `events`. `options` is construction, not a delivery.
 */
export type DeliveryStep = Exclude<(typeof errorCodes)[C2pErrorCode]['step'], 'options'>;

/** Options for {@link C2pError}. */
export interface C2pErrorOptions {
  /** Replaces the generic message of the code. Must not contain request input. */
  message?: string;
  /** The underlying error, for logs and the error hook; never sent on the wire. */
  cause?: unknown;
}

/**
 * The one error class of c2p: a code from {@link errorCodes}, its HTTP status,
 * and the cause. Stores throw it with `STORE_UNAVAILABLE`; bad configuration
 * throws it with `INVALID_OPTIONS` and a message naming the option path.
 */
export class C2pError extends Error {
  /** The code, a key of {@link errorCodes}. */
  readonly code: C2pErrorCode;
  /** The HTTP status the code maps to. */
  readonly status: number;

  constructor(code: C2pErrorCode, options: C2pErrorOptions = {}) {
    super(options.message ?? errorCodes[code].message, { cause: options.cause });
    this.name = 'C2pError';
    this.code = code;
    this.status = errorCodes[code].status;
  }
}

/** Is `value` a {@link C2pError}, optionally with the given code? */
export function isC2pError(value: unknown, code?: C2pErrorCode): value is C2pError {
  return value instanceof C2pError && (code === undefined || value.code === code);
}

/**
 * Builds the error thrown for a bad option, naming its path:
 * `[@c2p/core] options.allowedIps[2]: "10.0.0.0/33" is not an address or CIDR`.
 */
export function invalidOption(path: string, problem: string, pkg = '@c2p/core'): C2pError {
  return new C2pError('INVALID_OPTIONS', { message: `[${pkg}] ${path}: ${problem}` });
}

/** What {@link integerOption} accepts beside the value. */
export interface IntegerOptionRule<F extends number | undefined = undefined> {
  /** The smallest value allowed: `1` for a positive integer, `0` for a non-negative one. Defaults to `1`. */
  min?: number;
  /** Answered when the value is `undefined`. */
  fallback?: F;
  /** The package named in the message. Defaults to `@c2p/core`. */
  pkg?: string;
}

/**
 * Checks an integer option and answers it, or `fallback` when it is `undefined`.
 * Anything else (a fraction, a string, `NaN`, beyond `Number.MAX_SAFE_INTEGER`,
 * below `min`) throws {@link invalidOption}: `must be a positive integer` for
 * `min: 1`, `must be a non-negative integer` for `min: 0`.
 *
 * @example
 * const leaseMs = integerOption(options.leaseMs, 'options.leaseMs', { fallback: 10_000 });
 */
export function integerOption<F extends number | undefined = undefined>(
  value: unknown,
  path: string,
  rule: IntegerOptionRule<F> = {},
): number | F {
  if (value === undefined) return rule.fallback as F;
  const min = rule.min ?? 1;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const kind =
      min === 1
        ? 'a positive integer'
        : min === 0
          ? 'a non-negative integer'
          : `an integer of at least ${min}`;
    throw invalidOption(path, `must be ${kind}`, rule.pkg);
  }
  return value;
}

/**
 * Wraps whatever a store's backend threw as `C2pError('STORE_UNAVAILABLE')`,
 * which the pipeline answers with 503; one that already is passes through.
 * For store authors.
 */
export function storeUnavailable(cause: unknown, message?: string): C2pError {
  return isC2pError(cause, 'STORE_UNAVAILABLE')
    ? cause
    : new C2pError('STORE_UNAVAILABLE', message === undefined ? { cause } : { cause, message });
}

/**
 * The error a store throws when it is used after `close()`:
 * `C2pError('STORE_UNAVAILABLE')` with `[pkg] the store is closed`. For store authors.
 */
export function storeClosed(pkg: string): C2pError {
  return new C2pError('STORE_UNAVAILABLE', { message: `[${pkg}] the store is closed` });
}

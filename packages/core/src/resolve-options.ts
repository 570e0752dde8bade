import {
  type BasicAuthVerifier,
  type BasicCredentials,
  createBasicAuthVerifier,
} from './basic-auth.js';
import { createClientIpResolver } from './client-ip.js';
import { integerOption, invalidOption } from './errors.js';
import type { C2pEvent } from './events.js';
import { defaultIdempotencyKey } from './idempotency-key.js';
import type { IdempotencyStore } from './idempotency-store.js';
import type { InboxStore } from './inbox-store.js';
import { createIpAllowlist, type IpAllowlist } from './ip-allowlist.js';
import { createMemoryStore } from './memory-store.js';
import {
  createRetrySchedule,
  type RetrySchedule,
  type RetryScheduleOptions,
} from './retry-schedule.js';
import type { WebhookRequest } from './webhook-request.js';

/** Options for {@link createWebhooks}. */
export interface WebhooksOptions<
  S extends IdempotencyStore = IdempotencyStore,
  I extends InboxStore | undefined = undefined,
> {
  /** The Basic credentials Clik2pay sends; give two pairs while rotating. */
  credentials: BasicCredentials | readonly BasicCredentials[];
  /**
   * Who may call: addresses, CIDRs (v4 and v6) and the presets `production`,
   * `sandbox` and `loopback`. Required and not empty: there is no safe default.
   */
  allowedIps: readonly string[];
  /** CIDRs of your own reverse proxies, whose `X-Forwarded-For` is believed. Defaults to none. */
  trustedProxies?: readonly string[];
  /** Deduplicates deliveries. Defaults to an in-memory store: use a durable one in production. */
  store?: S;
  /** The largest body accepted, in bytes. Defaults to `65536` (64 KiB). */
  maxBodyBytes?: number;
  /**
   * How long a claim holds before another worker may take over, in ms. The
   * pipeline renews it every third of it while handlers run, so it bounds how
   * long a crashed listener's event waits, not how long handlers may run.
   * Defaults to `10000` (10 s), or `60000` for a store without `renew()`, whose
   * lease must outlast your handlers. Stores with `processOnce()` take no lease.
   */
  leaseMs?: number;
  /** How long a completed key is remembered, in ms. Defaults to `2592000000` (30 days). */
  retainMs?: number;
  /** Derives the idempotency key of an event. Defaults to {@link defaultIdempotencyKey}. */
  idempotencyKey?: (event: C2pEvent) => string;
  /** The realm in `WWW-Authenticate`. Defaults to `clik2pay`. */
  realm?: string;
  /**
   * Inbox mode: every event of a delivery is stored here in one commit, and the
   * delivery is answered 200 only after that commit (503 when it cannot commit).
   * Handlers then run from the inbox in a worker ({@link Webhooks.startWorker}),
   * retried on c2p's own schedule when they fail. Without it (sync mode) the
   * handlers run before the answer and Clik2pay's three attempts are the only
   * retries. An inbox deduplicates by itself: do not pass `store` with it.
   */
  inbox?: I;
  /**
   * Inbox mode: when to retry failed handlers, as options for
   * {@link createRetrySchedule} or a schedule of your own. Defaults to about
   * three days of exponential backoff with jitter.
   */
  retry?: RetryScheduleOptions | RetrySchedule;
}

/** {@link WebhooksOptions} checked and compiled, as the pipeline uses them. */
export interface ResolvedOptions<S extends IdempotencyStore = IdempotencyStore> {
  readonly verify: BasicAuthVerifier;
  readonly allowlist: IpAllowlist;
  /** The client address of a request: the peer, or `X-Forwarded-For` through a trusted proxy. */
  readonly clientIpOf: (request: WebhookRequest) => string | undefined;
  readonly maxBodyBytes: number;
  readonly leaseMs: number;
  readonly retainMs: number;
  readonly store: S;
  readonly keyOf: (event: C2pEvent) => string;
  /** The `WWW-Authenticate` value of a 401. */
  readonly challenge: string;
  /** Inbox mode's inbox, or `undefined` in sync mode. */
  readonly inbox: InboxStore | undefined;
  /** Inbox mode's retry schedule. */
  readonly schedule: RetrySchedule;
}

/** A plain store's lease when it can be renewed: short, so a crashed owner's key frees soon. */
const RENEWED_LEASE_MS = 10_000;
/** A lease that cannot be renewed must outlast the handlers. */
const FIXED_LEASE_MS = 60_000;
const THIRTY_DAYS_MS = 30 * 24 * 60 * 60 * 1000;

/** Checks every option, naming the first bad one, and compiles what can be compiled once. */
export function resolveOptions<S extends IdempotencyStore, I extends InboxStore | undefined>(
  options: WebhooksOptions<S, I>,
): ResolvedOptions<S> {
  if (typeof options !== 'object' || options === null)
    throw invalidOption('options', 'must be an object');
  const verify = createBasicAuthVerifier({ credentials: options.credentials });
  if (options.allowedIps === undefined) {
    throw invalidOption(
      'options.allowedIps',
      'is required: name who may call, e.g. ["production"]',
    );
  }
  const allowlist = createIpAllowlist(options.allowedIps);
  const store = (options.store ?? createMemoryStore()) as S;
  for (const method of ['claim', 'complete', 'release'] as const) {
    if (typeof store[method] !== 'function')
      throw invalidOption('options.store', `has no ${method}() method`);
  }
  const keyOf = options.idempotencyKey ?? defaultIdempotencyKey;
  if (typeof keyOf !== 'function')
    throw invalidOption('options.idempotencyKey', 'must be a function');
  return {
    verify,
    allowlist,
    clientIpOf: clientIpRule(options.trustedProxies ?? []),
    maxBodyBytes: integerOption(options.maxBodyBytes, 'options.maxBodyBytes', {
      fallback: 65_536,
    }),
    leaseMs: integerOption(options.leaseMs, 'options.leaseMs', {
      fallback: typeof store.renew === 'function' ? RENEWED_LEASE_MS : FIXED_LEASE_MS,
    }),
    retainMs: integerOption(options.retainMs, 'options.retainMs', { fallback: THIRTY_DAYS_MS }),
    store,
    keyOf,
    challenge: `Basic realm="${checkRealm(options.realm ?? 'clik2pay')}", charset="UTF-8"`,
    inbox: checkInbox(options),
    schedule:
      typeof options.retry === 'function' ? options.retry : createRetrySchedule(options.retry),
  };
}

const inboxMethods = ['enqueue', 'lease', 'renew', 'complete', 'fail'] as const;

function checkInbox(options: WebhooksOptions<IdempotencyStore, InboxStore | undefined>) {
  const { inbox } = options;
  if (inbox === undefined) return undefined;
  if (typeof inbox !== 'object' || inbox === null)
    throw invalidOption('options.inbox', 'must be an inbox store, e.g. createSqliteInbox()');
  for (const method of inboxMethods) {
    if (typeof inbox[method] !== 'function')
      throw invalidOption('options.inbox', `has no ${method}() method`);
  }
  if (options.store !== undefined) {
    throw invalidOption(
      'options.store',
      'is not used in inbox mode (options.inbox deduplicates deliveries itself): pass one or the other',
    );
  }
  return inbox;
}

function clientIpRule(trustedProxies: readonly string[]): ResolvedOptions['clientIpOf'] {
  const resolve = createClientIpResolver({ trustedProxies });
  // Without trusted proxies the header cannot matter: skip the lookup.
  if (trustedProxies.length === 0) return (request) => resolve(request.peerAddress, undefined);
  return (request) => resolve(request.peerAddress, request.header('x-forwarded-for'));
}

function checkRealm(realm: unknown): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the point
  if (typeof realm !== 'string' || /["\\\u0000-\u001f]/.test(realm)) {
    throw invalidOption(
      'options.realm',
      'must be a string without quotes, backslashes or control characters',
    );
  }
  return realm;
}

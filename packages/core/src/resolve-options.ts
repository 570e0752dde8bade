import {
  type BasicAuthVerifier,
  type BasicCredentials,
  createBasicAuthVerifier,
} from './basic-auth.js';
import { createClientIpResolver } from './client-ip.js';
import { createHandlers, type Handlers, type RunHandlers, runnerOf } from './create-handlers.js';
import {
  COMPLETED_RETAIN_MS,
  FIXED_LEASE_MS,
  MAX_BODY_BYTES,
  MAX_EVENTS,
  RENEWED_LEASE_MS,
} from './defaults.js';
import { integerOption, invalidOption } from './errors.js';
import type { C2pEvent } from './events.js';
import { defaultIdempotencyKey } from './idempotency-key.js';
import type { IdempotencyStore, TransactionOf } from './idempotency-store.js';
import type { InboxStore } from './inbox-store.js';
import { createIpAllowlist, type IpAllowlist } from './ip-allowlist.js';
import { createMemoryStore } from './memory-store.js';
import type { OpenTelemetryApi } from './telemetry.js';
import type { WebhookRequest } from './webhook-request.js';

/** What both modes of {@link createWebhooks} take: who may call, and how a delivery is read. */
export interface CommonWebhooksOptions {
  /** The Basic credentials Clik2pay sends; give two pairs while rotating. */
  credentials: BasicCredentials | readonly BasicCredentials[];
  /**
   * Who may call: addresses, CIDRs (v4 and v6) and the presets `production`,
   * `sandbox` and `loopback`. Required and not empty: there is no safe default.
   */
  allowedIps: readonly string[];
  /** CIDRs of your own reverse proxies, whose `X-Forwarded-For` is believed. Defaults to none. */
  trustedProxies?: readonly string[];
  /** The largest body accepted, in bytes. Defaults to `65536` (64 KiB). */
  maxBodyBytes?: number;
  /**
   * The most events one delivery may hold; more get 413 `TOO_MANY_EVENTS`.
   * Clik2pay sends one event per delivery; the cap bounds the work (one commit)
   * a single delivery can make. Defaults to `100`.
   */
  maxEvents?: number;
  /** Derives the idempotency key of an event. Defaults to {@link defaultIdempotencyKey}. */
  idempotencyKey?: (event: C2pEvent) => string;
  /** The realm in `WWW-Authenticate`. Defaults to `clik2pay`. */
  realm?: string;
  /**
   * The `@opentelemetry/api` module (`import * as otel from '@opentelemetry/api'`),
   * for a span per delivery and the `c2p.deliveries` counter. Defaults to none:
   * then nothing is recorded and nothing is called.
   */
  telemetry?: OpenTelemetryApi;
}

/**
 * Sync mode: the handlers run before the answer, and a 2xx means they ran and
 * committed; Clik2pay's three attempts are the only retries.
 */
export interface SyncWebhooksOptions<S extends IdempotencyStore = IdempotencyStore>
  extends CommonWebhooksOptions {
  /** Deduplicates deliveries. Defaults to an in-memory store: use a durable one in production. */
  store?: S;
  /**
   * The handlers to run, from {@link createHandlers}. Defaults to a registry of
   * the pipeline's own, filled through `webhooks.on(...)`.
   */
  handlers?: Handlers<TransactionOf<S>>;
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
  /** Sync mode has no inbox: see {@link InboxWebhooksOptions}. */
  inbox?: undefined;
}

/**
 * Inbox mode: every event of a delivery is stored in `inbox` in one commit,
 * and the delivery is answered 200 only after that commit (503 when it cannot
 * commit). Handlers run later, from the inbox, in {@link startInboxWorker}
 * (here or in other processes), which owns the handlers, leases and retries:
 * so none of those options belong here.
 */
export interface InboxWebhooksOptions<I extends InboxStore = InboxStore>
  extends CommonWebhooksOptions {
  /** Where deliveries are stored before they are answered; it deduplicates them itself. */
  inbox: I;
  /** Inbox mode takes no store: the inbox deduplicates. */
  store?: never;
  /** Inbox mode runs no handlers: pass them to `startInboxWorker({ inbox, handlers })`. */
  handlers?: never;
  /** The worker's lease: `startInboxWorker({ leaseMs })`. */
  leaseMs?: never;
  /** An inbox keeps processed events for its own retention (the store's option). */
  retainMs?: never;
  /** The worker's schedule: `startInboxWorker({ retry })`. */
  retry?: never;
}

/** Options for {@link createWebhooks}, in either mode. */
export type WebhooksOptions<S extends IdempotencyStore = IdempotencyStore> =
  | SyncWebhooksOptions<S>
  | InboxWebhooksOptions;

/** What both modes check and compile once, as the pipeline's first steps use them. */
export interface ResolvedOptions {
  readonly verify: BasicAuthVerifier;
  readonly allowlist: IpAllowlist;
  /** The client address of a request: the peer, or `X-Forwarded-For` through a trusted proxy. */
  readonly clientIpOf: (request: WebhookRequest) => string | undefined;
  readonly maxBodyBytes: number;
  readonly maxEvents: number;
  readonly keyOf: (event: C2pEvent) => string;
  /** The `WWW-Authenticate` value of a 401. */
  readonly challenge: string;
}

/** Sync mode's options, checked. */
export interface ResolvedSyncOptions {
  readonly store: IdempotencyStore;
  readonly run: RunHandlers;
  /** The registry `webhooks.on(...)` adds to. */
  readonly handlers: Handlers<unknown>;
  readonly leaseMs: number;
  readonly retainMs: number;
}

/** Checks the options both modes share, naming the first bad one, and compiles what can be compiled once. */
export function resolveOptions(options: CommonWebhooksOptions): ResolvedOptions {
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
  const keyOf = options.idempotencyKey ?? defaultIdempotencyKey;
  if (typeof keyOf !== 'function')
    throw invalidOption('options.idempotencyKey', 'must be a function');
  return {
    verify,
    allowlist,
    clientIpOf: clientIpRule(options.trustedProxies ?? []),
    maxBodyBytes: integerOption(options.maxBodyBytes, 'options.maxBodyBytes', {
      fallback: MAX_BODY_BYTES,
    }),
    maxEvents: integerOption(options.maxEvents, 'options.maxEvents', { fallback: MAX_EVENTS }),
    keyOf,
    challenge: `Basic realm="${checkRealm(options.realm ?? 'clik2pay')}", charset="UTF-8"`,
  };
}

/** Checks sync mode's own options: the store, the handlers, the lease and the retention. */
export function resolveSyncOptions(options: SyncWebhooksOptions): ResolvedSyncOptions {
  const store = options.store ?? createMemoryStore();
  for (const method of ['claim', 'complete', 'release'] as const) {
    if (typeof store[method] !== 'function')
      throw invalidOption('options.store', `has no ${method}() method`);
  }
  const handlers = (options.handlers ?? createHandlers()) as Handlers<unknown>;
  const run = runnerOf(handlers);
  if (run === undefined)
    throw invalidOption('options.handlers', 'must be a registry from createHandlers()');
  if ((options as { retry?: unknown }).retry !== undefined)
    throw invalidOption('options.retry', "is for inbox mode's worker: startInboxWorker({ retry })");
  return {
    store,
    run,
    handlers,
    leaseMs: integerOption(options.leaseMs, 'options.leaseMs', {
      fallback: typeof store.renew === 'function' ? RENEWED_LEASE_MS : FIXED_LEASE_MS,
    }),
    retainMs: integerOption(options.retainMs, 'options.retainMs', {
      fallback: COMPLETED_RETAIN_MS,
    }),
  };
}

const inboxMethods = ['enqueue', 'lease', 'renew', 'complete', 'fail'] as const;

/** Where each option that inbox mode does not take belongs instead. */
const notInInboxMode = {
  store:
    'is not used in inbox mode (options.inbox deduplicates deliveries itself): pass one or the other',
  handlers: 'are run by the worker in inbox mode: startInboxWorker({ inbox, handlers })',
  leaseMs: "is the worker's in inbox mode: startInboxWorker({ leaseMs })",
  retainMs: "is the inbox's own retention in inbox mode (an option of the inbox store)",
  retry: "is the worker's in inbox mode: startInboxWorker({ retry })",
} as const;

/** Checks inbox mode's inbox, and refuses every option that belongs to sync mode or the worker. */
export function checkInbox(options: InboxWebhooksOptions): InboxStore {
  const { inbox } = options;
  if (typeof inbox !== 'object' || inbox === null)
    throw invalidOption('options.inbox', 'must be an inbox store, e.g. createSqliteInbox()');
  for (const method of inboxMethods) {
    if (typeof inbox[method] !== 'function')
      throw invalidOption('options.inbox', `has no ${method}() method`);
  }
  for (const [name, why] of Object.entries(notInInboxMode)) {
    if ((options as unknown as Record<string, unknown>)[name] !== undefined)
      throw invalidOption(`options.${name}`, why);
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

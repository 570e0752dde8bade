import { type BasicCredentials, createBasicAuthVerifier } from './basic-auth.js';
import { createClientIpResolver } from './client-ip.js';
import {
  C2pError,
  type C2pErrorCode,
  errorCodes,
  invalidOption,
  isC2pError,
  storeUnavailable,
} from './errors.js';
import type {
  C2pEvent,
  EventFor,
  KnownEventType,
  ResourceKind,
  UnknownEventTypeEvent,
} from './events.js';
import {
  type IdempotencyStore,
  isTransactionalStore,
  type TransactionOf,
} from './idempotency-store.js';
import { createIpAllowlist } from './ip-allowlist.js';
import { createMemoryStore } from './memory-store.js';
import { type ParseIssue, parseEvents } from './parse-events.js';
import type { WebhookRequest, WebhookResponse } from './webhook-request.js';

/** Options for {@link createWebhooks}. */
export interface WebhooksOptions<S extends IdempotencyStore = IdempotencyStore> {
  /** The Basic credentials Clik2pay sends; give two pairs while rotating. */
  credentials: BasicCredentials | readonly BasicCredentials[];
  /**
   * Who may call: addresses, CIDRs (v4 and v6) and the presets `production`,
   * `sandbox` and `loopback`. Required: there is no safe default.
   */
  allowedIps: readonly string[];
  /** CIDRs of your own reverse proxies, whose `X-Forwarded-For` is believed. Defaults to none. */
  trustedProxies?: readonly string[];
  /** Deduplicates deliveries. Defaults to an in-memory store: use a durable one in production. */
  store?: S;
  /** The largest body accepted, in bytes. Defaults to `65536` (64 KiB). */
  maxBodyBytes?: number;
  /** How long a claim holds before another worker may take over, in ms; make it longer than your handlers run. Defaults to `60000`. */
  leaseMs?: number;
  /** How long a completed key is remembered, in ms. Defaults to `2592000000` (30 days). */
  retainMs?: number;
  /** Derives the idempotency key of an event. Defaults to {@link defaultIdempotencyKey}. */
  idempotencyKey?: (event: C2pEvent) => string;
  /** The realm in `WWW-Authenticate`. Defaults to `clik2pay`. */
  realm?: string;
}

/** What a handler receives beside the event. */
export interface HandlerContext<Tx = undefined> {
  /** The event's idempotency key. */
  key: string;
  /**
   * The store's transaction, for a transactional store (SQLite, PostgreSQL):
   * write through it and your write commits together with the completion.
   * `undefined` for other stores.
   */
  tx: Tx;
}

/** A handler for events of type `E`. Throw to refuse the event: it is released and Clik2pay retries. */
export type EventHandler<E, Tx = undefined> = (
  event: E,
  context: HandlerContext<Tx>,
) => void | Promise<void>;

/** What happened to one event of a delivery. */
export type EventOutcome =
  | 'processed'
  | 'duplicate'
  | 'in_progress'
  | 'handler_failed'
  | 'store_unavailable'
  | 'not_attempted';

/** One event's part of a {@link DeliveryReport}. */
export interface EventReport {
  eventType: string;
  kind: ResourceKind;
  resourceId: string;
  status: string | undefined;
  key: string;
  outcome: EventOutcome;
}

/** The step that decided a delivery. */
export type DeliveryStep = 'method' | 'ip' | 'auth' | 'size' | 'json' | 'payload' | 'events';

/** Everything about one delivery, for logs and dashboards. Never contains credentials or the body. */
export interface DeliveryReport {
  status: number;
  /** The error code, or `undefined` for a 200. */
  code: C2pErrorCode | undefined;
  step: DeliveryStep;
  /** The client address the allowlist judged. */
  clientIp: string | undefined;
  events: EventReport[];
  issues?: ParseIssue[];
}

/** Context of an error passed to the error hook. */
export interface ErrorContext {
  event?: C2pEvent;
  key?: string;
}

/** The pipeline: register handlers, then hand it requests. */
export interface Webhooks<S extends IdempotencyStore = IdempotencyStore> {
  /** Registers a handler for one or several documented event types; it receives the narrowed event. */
  on<T extends KnownEventType>(
    eventType: T | readonly T[],
    handler: EventHandler<EventFor<T>, TransactionOf<S>>,
  ): this;
  /** Registers a handler for every event, known or not, after the specific ones. */
  onAny(handler: EventHandler<C2pEvent, TransactionOf<S>>): this;
  /** Registers a handler for event types c2p does not know yet. Such events are answered 200. */
  onUnknown(handler: EventHandler<UnknownEventTypeEvent, TransactionOf<S>>): this;
  /** Registers the error hook: thrown handlers (the cause) and store failures. */
  onError(hook: (error: C2pError, context: ErrorContext) => unknown): this;
  /** Registers a hook called once per delivery with its {@link DeliveryReport}. */
  onDelivery(hook: (report: DeliveryReport) => unknown): this;
  /** Decides one delivery. Never throws. */
  handle(request: WebhookRequest): Promise<WebhookResponse>;
  /** Whether an error hook is registered (adapters add a logger otherwise). */
  readonly hasErrorHook: boolean;
  /** The body limit in bytes, for adapters that enforce it while reading. */
  readonly maxBodyBytes: number;
  /** The store in use. */
  readonly store: S;
}

/**
 * The default idempotency key: `kind:resource.id:eventType:status`. Clik2pay
 * sends no delivery id, so two deliveries of the same event agree on it, and a
 * later status of the same resource gets a key of its own.
 */
export function defaultIdempotencyKey(event: C2pEvent): string {
  return `${event.kind}:${event.resource.id}:${event.eventType}:${event.resource.status ?? ''}`;
}

// A new object for every response: frameworks may write into the one they are given.
function jsonHeaders(): Record<string, string> {
  return { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
}

/**
 * Builds the webhook pipeline: method, IP allowlist, Basic auth, size, JSON,
 * schema, then per event claim, handlers, completion. See the status table in
 * the README. A bad option throws here, naming it.
 *
 * @example
 * const webhooks = createWebhooks({
 *   credentials: { username: 'clik2pay', password: process.env.C2P_WEBHOOK_PASSWORD },
 *   allowedIps: ['production'],
 * });
 * webhooks.on('PAYMENT-COMPLETED', async (event) => {
 *   if (event.kind === 'payment-request' && event.resource.status === 'PAID') await fulfil(event.resource.id);
 * });
 */
export function createWebhooks<S extends IdempotencyStore = IdempotencyStore>(
  options: WebhooksOptions<S>,
): Webhooks<S> {
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
  const clientIp = createClientIpResolver({ trustedProxies: options.trustedProxies ?? [] });
  const trustsProxies = (options.trustedProxies ?? []).length > 0;
  const maxBodyBytes = positiveInteger(options.maxBodyBytes, 65_536, 'options.maxBodyBytes');
  const leaseMs = positiveInteger(options.leaseMs, 60_000, 'options.leaseMs');
  const retainMs = positiveInteger(options.retainMs, 30 * 24 * 60 * 60 * 1000, 'options.retainMs');
  const store = (options.store ?? createMemoryStore()) as S;
  for (const method of ['claim', 'complete', 'release'] as const) {
    if (typeof store[method] !== 'function')
      throw invalidOption('options.store', `has no ${method}() method`);
  }
  const keyOf = options.idempotencyKey ?? defaultIdempotencyKey;
  if (typeof keyOf !== 'function')
    throw invalidOption('options.idempotencyKey', 'must be a function');
  const realm = options.realm ?? 'clik2pay';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the point
  if (typeof realm !== 'string' || /["\\\u0000-\u001f]/.test(realm)) {
    throw invalidOption(
      'options.realm',
      'must be a string without quotes, backslashes or control characters',
    );
  }
  const transactional = isTransactionalStore(store);

  type Handler = EventHandler<never, unknown>;
  const byType = new Map<string, Handler[]>();
  const anyHandlers: Handler[] = [];
  const unknownHandlers: Handler[] = [];
  const errorHooks: Array<(error: C2pError, context: ErrorContext) => unknown> = [];
  const deliveryHooks: Array<(report: DeliveryReport) => unknown> = [];

  const reportError = (error: C2pError, context: ErrorContext): void => {
    for (const hook of errorHooks) {
      try {
        ignoreRejection(hook(error, context));
      } catch {
        // A broken hook must not change the answer.
      }
    }
  };

  const runHandlers = async (event: C2pEvent, context: HandlerContext<unknown>): Promise<void> => {
    const specific = event.known ? byType.get(event.eventType) : unknownHandlers;
    for (const list of [specific, anyHandlers]) {
      for (const handler of list ?? []) {
        const result = (handler as EventHandler<C2pEvent, unknown>)(event, context);
        // A synchronous handler costs no extra turn of the microtask queue.
        if (result !== undefined) await result;
      }
    }
  };

  // A handler's own failure, told apart from the store's inside completeWithin.
  class HandlerFailure {
    constructor(readonly cause: unknown) {}
  }
  const runOrMark = (event: C2pEvent, key: string) => async (tx: unknown) => {
    try {
      await runHandlers(event, { key, tx });
    } catch (cause) {
      throw new HandlerFailure(cause);
    }
  };

  // One event: claim, run, complete. Answers the outcome; never throws.
  const process = async (event: C2pEvent, key: string): Promise<EventOutcome> => {
    let claim: Awaited<ReturnType<IdempotencyStore['claim']>>;
    try {
      claim = await store.claim(key, leaseMs);
    } catch (cause) {
      reportError(storeUnavailable(cause), { event, key });
      return 'store_unavailable';
    }
    if (claim.status === 'completed') return 'duplicate';
    if (claim.status === 'in_progress') return 'in_progress';
    const { token } = claim;
    try {
      let completed: boolean;
      if (transactional) {
        completed = await store.completeWithin(key, token, retainMs, runOrMark(event, key));
      } else {
        try {
          await runHandlers(event, { key, tx: undefined });
        } catch (cause) {
          throw new HandlerFailure(cause);
        }
        completed = await store.complete(key, token, retainMs);
      }
      // A stale owner: our lease ran out and another worker owns the event now.
      return completed ? 'processed' : 'in_progress';
    } catch (error) {
      if (error instanceof HandlerFailure) {
        reportError(new C2pError('HANDLER_FAILED', { cause: error.cause }), { event, key });
        await store
          .release(key, token)
          .catch((cause) => reportError(storeUnavailable(cause), { event, key }));
        return 'handler_failed';
      }
      reportError(storeUnavailable(error), { event, key });
      // A failed transaction applied nothing: give the key up so Clik2pay's retry
      // runs it at once. A plain store's handlers did run: keep the claim until its
      // lease ends rather than invite a second run.
      if (transactional) await store.release(key, token).catch(() => {});
      return 'store_unavailable';
    }
  };

  const decide = async (
    request: WebhookRequest,
    report: DeliveryReport,
  ): Promise<WebhookResponse> => {
    const fail = (
      code: C2pErrorCode,
      extra?: Record<string, unknown>,
      headers?: Record<string, string>,
    ): WebhookResponse => {
      report.code = code;
      return errorResponse(code, extra, headers);
    };
    const { method } = request;
    if (method !== 'POST' && (typeof method !== 'string' || method.toUpperCase() !== 'POST')) {
      report.step = 'method';
      return fail('METHOD_NOT_ALLOWED', undefined, { allow: 'POST' });
    }
    report.step = 'ip';
    // Without trusted proxies the header cannot matter: skip the lookup.
    const forwardedFor = trustsProxies ? request.header('x-forwarded-for') : undefined;
    report.clientIp = clientIp(request.peerAddress, forwardedFor);
    if (!allowlist.allows(report.clientIp)) return fail('IP_NOT_ALLOWED');
    report.step = 'auth';
    if (!verify(request.header('authorization'))) {
      return fail('UNAUTHORIZED', undefined, {
        'www-authenticate': `Basic realm="${realm}", charset="UTF-8"`,
      });
    }
    report.step = 'size';
    const declared = request.header('content-length');
    if (declared && Number(declared) > maxBodyBytes) return fail('PAYLOAD_TOO_LARGE');
    let body: string | Uint8Array | undefined;
    try {
      body = typeof request.body === 'function' ? await request.body(maxBodyBytes) : request.body;
    } catch (error) {
      if (isC2pError(error, 'PAYLOAD_TOO_LARGE')) return fail('PAYLOAD_TOO_LARGE');
      report.step = 'json';
      return fail('INVALID_JSON');
    }
    if (body !== undefined && exceeds(body, maxBodyBytes)) return fail('PAYLOAD_TOO_LARGE');
    report.step = 'json';
    const parsed = parseEvents(body ?? '');
    if (!parsed.success) {
      if (parsed.error.code === 'INVALID_JSON') return fail('INVALID_JSON');
      report.step = 'payload';
      report.issues = parsed.error.issues;
      return fail('INVALID_PAYLOAD', { issues: parsed.error.issues });
    }
    report.step = 'events';
    let processed = 0;
    let duplicates = 0;
    let worst: C2pErrorCode | undefined;
    for (const event of parsed.data) {
      const entry: EventReport = {
        eventType: event.eventType,
        kind: event.kind,
        resourceId: event.resource.id,
        status: event.resource.status,
        key: '',
        outcome: 'not_attempted',
      };
      report.events.push(entry);
      if (worst === 'STORE_UNAVAILABLE') continue;
      try {
        entry.key = keyOf(event);
      } catch (cause) {
        reportError(new C2pError('HANDLER_FAILED', { cause }), { event });
        entry.outcome = 'handler_failed';
        worst = worse(worst, 'HANDLER_FAILED');
        continue;
      }
      entry.outcome = await process(event, entry.key);
      if (entry.outcome === 'processed') processed++;
      else if (entry.outcome === 'duplicate') duplicates++;
      else worst = worse(worst, outcomeCodes[entry.outcome]);
    }
    if (worst) return fail(worst);
    return {
      status: 200,
      headers: jsonHeaders(),
      body: `{"received":${parsed.data.length},"processed":${processed},"duplicates":${duplicates}}`,
    };
  };

  const webhooks: Webhooks<S> = {
    on(eventType, handler) {
      for (const type of typeof eventType === 'string' ? [eventType] : eventType) {
        const list = byType.get(type) ?? [];
        list.push(handler as Handler);
        byType.set(type, list);
      }
      return this;
    },
    onAny(handler) {
      anyHandlers.push(handler as Handler);
      return this;
    },
    onUnknown(handler) {
      unknownHandlers.push(handler as Handler);
      return this;
    },
    onError(hook) {
      errorHooks.push(hook);
      return this;
    },
    onDelivery(hook) {
      deliveryHooks.push(hook);
      return this;
    },
    async handle(request) {
      const report: DeliveryReport = {
        status: 0,
        code: undefined,
        step: 'method',
        clientIp: undefined,
        events: [],
      };
      let response: WebhookResponse;
      try {
        response = await decide(request, report);
      } catch (cause) {
        // Only a broken request object (e.g. a throwing header lookup) gets here.
        reportError(new C2pError('HANDLER_FAILED', { cause }), {});
        report.code = 'HANDLER_FAILED';
        response = errorResponse('HANDLER_FAILED');
      }
      report.status = response.status;
      for (const hook of deliveryHooks) {
        try {
          ignoreRejection(hook(report));
        } catch {
          // A broken hook must not change the answer.
        }
      }
      return response;
    },
    get hasErrorHook() {
      return errorHooks.length > 0;
    },
    maxBodyBytes,
    store,
  };
  return webhooks;
}

const outcomeCodes = {
  in_progress: 'IN_PROGRESS',
  handler_failed: 'HANDLER_FAILED',
  store_unavailable: 'STORE_UNAVAILABLE',
  not_attempted: 'STORE_UNAVAILABLE',
} as const satisfies Record<Exclude<EventOutcome, 'processed' | 'duplicate'>, C2pErrorCode>;

// A batch answers with its worst outcome.
const severity: Partial<Record<C2pErrorCode, number>> = {
  IN_PROGRESS: 1,
  HANDLER_FAILED: 2,
  STORE_UNAVAILABLE: 3,
};
function worse(current: C2pErrorCode | undefined, next: C2pErrorCode): C2pErrorCode {
  return current && (severity[current] ?? 0) >= (severity[next] ?? 0) ? current : next;
}

/** The wire form of an error: `{"error":{"code","message"}}`, never echoing input. */
function errorResponse(
  code: C2pErrorCode,
  extra?: Record<string, unknown>,
  headers?: Record<string, string>,
): WebhookResponse {
  return {
    status: errorCodes[code].status,
    headers: headers ? { ...jsonHeaders(), ...headers } : jsonHeaders(),
    body: JSON.stringify({ error: { code, message: errorCodes[code].message, ...extra } }),
  };
}

// A hook typed `=> void` may still be async: its rejection would go unhandled
// and, on Node, end the process.
function ignoreRejection(result: unknown): void {
  if (result instanceof Promise) result.catch(() => {});
}

function positiveInteger(value: number | undefined, fallback: number, path: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0)
    throw invalidOption(path, 'must be a positive integer');
  return value;
}

function exceeds(body: string | Uint8Array, maxBytes: number): boolean {
  if (typeof body !== 'string') return body.byteLength > maxBytes;
  // UTF-8 takes at least one byte and at most three per UTF-16 unit.
  if (body.length > maxBytes) return true;
  if (body.length * 3 <= maxBytes) return false;
  return new TextEncoder().encode(body).byteLength > maxBytes;
}

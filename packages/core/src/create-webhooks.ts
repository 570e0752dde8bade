import { callHooks } from './call-hooks.js';
import type { EventHandler } from './create-handlers.js';
import { type DeliveryPipeline, decideDelivery } from './decide-delivery.js';
import { type DeliveryReport, type ErrorContext, newDeliveryReport } from './delivery-report.js';
import { C2pError } from './errors.js';
import type { C2pEvent } from './events.js';
import type { IdempotencyStore } from './idempotency-store.js';
import type { InboxStore } from './inbox-store.js';
import { wakeInboxWorkers } from './inbox-wakeups.js';
import { createLeaseKeeper } from './lease-keeper.js';
import { processEvents } from './process-events.js';
import {
  checkInbox,
  type InboxWebhooksOptions,
  type ResolvedOptions,
  resolveOptions,
  resolveSyncOptions,
  type SyncWebhooksOptions,
  type WebhooksOptions,
} from './resolve-options.js';
import { refuse } from './responses.js';
import { storeEvents } from './store-events.js';
import {
  checkTelemetry,
  createDeliveryTelemetry,
  type DeliveryTelemetry,
  type TelemetrySpan,
} from './telemetry.js';
import type { WebhookResponse } from './webhook-request.js';
import type { WebhookIntake, Webhooks } from './webhooks.js';

/**
 * Builds the webhook pipeline: method, IP allowlist, Basic auth, size, JSON,
 * schema, then the events, in one of two modes (see the status table in the README).
 *
 * - **inbox mode** (`inbox`): every event of a delivery is stored in one commit
 *   before the 200; `startInboxWorker({ inbox, handlers })` runs the handlers,
 *   in this process or others, and is woken here at once.
 * - **sync mode** (`store`, `handlers`): per event claim, handlers, completion,
 *   before the answer.
 *
 * A bad option throws here, naming it; an option of the other mode is one.
 *
 * @example
 * // inbox mode: intake only stores
 * const intake = createWebhooks({ credentials, allowedIps: ['production'], inbox });
 * // sync mode: intake runs the handlers itself
 * const webhooks = createWebhooks({ credentials, allowedIps: ['production'], store, handlers });
 */
export function createWebhooks<I extends InboxStore>(
  options: InboxWebhooksOptions<I>,
): WebhookIntake;
export function createWebhooks<S extends IdempotencyStore = IdempotencyStore>(
  options: SyncWebhooksOptions<S>,
): Webhooks<S>;
export function createWebhooks(options: WebhooksOptions): WebhookIntake | Webhooks {
  const resolved = resolveOptions(options);
  const api = checkTelemetry(options.telemetry, 'options.telemetry');
  const hooks = createHooks(api && createDeliveryTelemetry(api));
  if (options.inbox !== undefined) {
    const inbox = checkInbox(options as InboxWebhooksOptions);
    return createIntake(resolved, hooks, storeStep(inbox, resolved, hooks));
  }
  const sync = resolveSyncOptions(options as SyncWebhooksOptions);
  const processor = {
    ...sync,
    keyOf: resolved.keyOf,
    leases: createLeaseKeeper(sync.store.renew?.bind(sync.store), sync.leaseMs),
    reportError: hooks.reportError,
    detailed: () => hooks.delivery.length > 0,
  };
  const intake = createIntake(resolved, hooks, (events, report) =>
    processEvents(events, report, processor),
  );
  const { handlers } = sync;
  return Object.assign(intake, {
    on(eventType: string | readonly string[], handler: EventHandler<C2pEvent, unknown>) {
      handlers.on(eventType as never, handler);
      return this;
    },
    onAny(handler: EventHandler<C2pEvent, unknown>) {
      handlers.onAny(handler);
      return this;
    },
    onUnknown(handler: EventHandler<C2pEvent, unknown>) {
      handlers.onUnknown(handler as never);
      return this;
    },
  }) as Webhooks;
}

/** The hooks a pipeline calls, and how it calls them. */
interface Hooks {
  readonly error: Array<(error: C2pError, context: ErrorContext) => unknown>;
  readonly delivery: Array<(report: DeliveryReport) => unknown>;
  /** A span and a count per delivery, with `options.telemetry`. */
  readonly telemetry: DeliveryTelemetry | undefined;
  reportError(error: C2pError, context: ErrorContext): void;
}

function createHooks(telemetry: DeliveryTelemetry | undefined): Hooks {
  const error: Hooks['error'] = [];
  return {
    error,
    delivery: [],
    telemetry,
    reportError: (value, context) => callHooks(error, value, context),
  };
}

/** Inbox mode's events step: one commit of every event, then this process's workers are woken. */
function storeStep(
  inbox: InboxStore,
  resolved: ResolvedOptions,
  hooks: Hooks,
): DeliveryPipeline['acceptEvents'] {
  const target = {
    inbox,
    keyOf: resolved.keyOf,
    now: Date.now,
    wake: () => wakeInboxWorkers(inbox),
    reportError: hooks.reportError,
  };
  return (events, report) => storeEvents(events, report, target);
}

/** A pipeline around its events step: `handle()` and the hooks, the same in both modes. */
function createIntake(
  options: ResolvedOptions,
  hooks: Hooks,
  acceptEvents: DeliveryPipeline['acceptEvents'],
): WebhookIntake {
  const pipeline: DeliveryPipeline = { options, acceptEvents };
  const { telemetry } = hooks;
  const answer = (
    report: DeliveryReport,
    response: WebhookResponse,
    span?: TelemetrySpan,
  ): WebhookResponse => {
    report.status = response.status;
    if (span !== undefined) telemetry?.end(span, report);
    // Without hooks, not even the call (its rest arguments are an array per delivery).
    if (hooks.delivery.length > 0) callHooks(hooks.delivery, report);
    return response;
  };
  // Only a broken request object (e.g. a throwing header lookup) throws or rejects.
  const broken = (
    report: DeliveryReport,
    cause: unknown,
    span?: TelemetrySpan,
  ): WebhookResponse => {
    hooks.reportError(new C2pError('HANDLER_FAILED', { cause }), {});
    return answer(report, refuse(report, 'HANDLER_FAILED'), span);
  };
  return {
    onError(hook) {
      hooks.error.push(hook);
      return this;
    },
    onDelivery(hook) {
      hooks.delivery.push(hook);
      return this;
    },
    handle(request) {
      const report = newDeliveryReport();
      // Without telemetry, no span and no call: `undefined` all the way.
      const span = telemetry?.start();
      let decided: WebhookResponse | Promise<WebhookResponse>;
      try {
        decided = decideDelivery(request, report, pipeline);
      } catch (cause) {
        return Promise.resolve(broken(report, cause, span));
      }
      // One promise for the caller, and no more than the steps themselves made.
      if (!(decided instanceof Promise)) return Promise.resolve(answer(report, decided, span));
      return decided.then(
        (response) => answer(report, response, span),
        (cause: unknown) => broken(report, cause, span),
      );
    },
    maxBodyBytes: options.maxBodyBytes,
  };
}

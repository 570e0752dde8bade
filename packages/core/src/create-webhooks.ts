import { callHooks } from './call-hooks.js';
import { decideDelivery } from './decide-delivery.js';
import { type DeliveryReport, type ErrorContext, newDeliveryReport } from './delivery-report.js';
import { C2pError } from './errors.js';
import type { C2pEvent, EventFor, KnownEventType, UnknownEventTypeEvent } from './events.js';
import { createHandlerRegistry, type EventHandler } from './handler-registry.js';
import type { IdempotencyStore, TransactionOf } from './idempotency-store.js';
import { processEvents } from './process-events.js';
import { resolveOptions, type WebhooksOptions } from './resolve-options.js';
import { refuse } from './responses.js';
import type { WebhookRequest, WebhookResponse } from './webhook-request.js';

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
  /** The body limit in bytes, for adapters that enforce it while reading. */
  readonly maxBodyBytes: number;
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
  const resolved = resolveOptions(options);
  const handlers = createHandlerRegistry();
  const errorHooks: Array<(error: C2pError, context: ErrorContext) => unknown> = [];
  const deliveryHooks: Array<(report: DeliveryReport) => unknown> = [];
  const reportError = (error: C2pError, context: ErrorContext): void =>
    callHooks(errorHooks, error, context);
  const processor = { ...resolved, run: handlers.run, reportError };
  const pipeline = {
    options: resolved,
    acceptEvents: (events: readonly C2pEvent[], report: DeliveryReport) =>
      processEvents(events, report, processor),
  };

  return {
    on(eventType, handler) {
      handlers.on(eventType, handler as EventHandler<C2pEvent, unknown>);
      return this;
    },
    onAny(handler) {
      handlers.onAny(handler as EventHandler<C2pEvent, unknown>);
      return this;
    },
    onUnknown(handler) {
      handlers.onUnknown(handler as EventHandler<C2pEvent, unknown>);
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
      const report = newDeliveryReport();
      let response: WebhookResponse;
      try {
        response = await decideDelivery(request, report, pipeline);
      } catch (cause) {
        // Only a broken request object (e.g. a throwing header lookup) gets here.
        reportError(new C2pError('HANDLER_FAILED', { cause }), {});
        response = refuse(report, 'HANDLER_FAILED');
      }
      report.status = response.status;
      callHooks(deliveryHooks, report);
      return response;
    },
    maxBodyBytes: resolved.maxBodyBytes,
  };
}

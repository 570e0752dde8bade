import type { EventHandler } from './create-handlers.js';
import type { DeliveryReport, ErrorContext } from './delivery-report.js';
import type { C2pError } from './errors.js';
import type { C2pEvent, EventFor, KnownEventType, UnknownEventTypeEvent } from './events.js';
import type { IdempotencyStore, TransactionOf } from './idempotency-store.js';
import type { WebhookRequest, WebhookResponse } from './webhook-request.js';

/**
 * What an adapter needs of a pipeline, whatever its mode, store or inbox: any
 * pipeline from `createWebhooks` is one. Adapters take this, so a pipeline
 * typed for its store's transaction needs no cast.
 */
export interface DeliveryHandler {
  /** Decides one delivery. Never throws. */
  handle(request: WebhookRequest): Promise<WebhookResponse>;
  /** The body limit in bytes, for adapters that enforce it while reading. */
  readonly maxBodyBytes: number;
}

/** What a pipeline of either mode offers: handle deliveries, and hooks to watch them. */
export interface WebhookIntake extends DeliveryHandler {
  /** Registers the error hook: thrown handlers (the cause) and store failures. */
  onError(hook: (error: C2pError, context: ErrorContext) => unknown): this;
  /** Registers a hook called once per delivery with its {@link DeliveryReport}. */
  onDelivery(hook: (report: DeliveryReport) => unknown): this;
}

/**
 * A sync-mode pipeline: handlers run before the answer. `on`, `onAny` and
 * `onUnknown` are shorthands for its handler registry's (`options.handlers`, or
 * its own).
 */
export interface Webhooks<S extends IdempotencyStore = IdempotencyStore> extends WebhookIntake {
  /** Registers a handler for one or several documented event types; it receives the narrowed event. */
  on<T extends KnownEventType>(
    eventType: T | readonly T[],
    handler: EventHandler<EventFor<T>, TransactionOf<S>>,
  ): this;
  /** Registers a handler for every event, known or not, after the specific ones. */
  onAny(handler: EventHandler<C2pEvent, TransactionOf<S>>): this;
  /** Registers a handler for event types c2p does not know yet. Such events are answered 200. */
  onUnknown(handler: EventHandler<UnknownEventTypeEvent, TransactionOf<S>>): this;
}

import type { DeliveryReport, ErrorContext } from './delivery-report.js';
import type { C2pError } from './errors.js';
import type { C2pEvent, EventFor, KnownEventType, UnknownEventTypeEvent } from './events.js';
import type { EventHandler } from './handler-registry.js';
import type { IdempotencyStore, TransactionOf } from './idempotency-store.js';
import type { InboxStore, InboxTransactionOf } from './inbox-store.js';
import type { AttemptReport, InboxWorker, InboxWorkerOptions } from './inbox-worker.js';
import type { WebhookRequest, WebhookResponse } from './webhook-request.js';

/**
 * The transaction handlers receive: the inbox's in inbox mode, else the store's
 * (`undefined` for a store or inbox without transactions).
 */
export type HandlerTransaction<
  S extends IdempotencyStore,
  I extends InboxStore | undefined,
> = I extends InboxStore ? InboxTransactionOf<I> : TransactionOf<S>;

/** Options for {@link Webhooks.startWorker}. */
export type WorkerOptions = Pick<
  InboxWorkerOptions,
  'concurrency' | 'leaseMs' | 'pollIntervalMs' | 'sweepIntervalMs'
>;

/**
 * What an adapter needs of a pipeline, whatever its mode, store or inbox: any
 * {@link Webhooks} is one. Adapters take this, so a pipeline typed for its
 * inbox's transaction needs no cast.
 */
export interface DeliveryHandler {
  /** Decides one delivery. Never throws. */
  handle(request: WebhookRequest): Promise<WebhookResponse>;
  /** The body limit in bytes, for adapters that enforce it while reading. */
  readonly maxBodyBytes: number;
}

/** The pipeline: register handlers, then hand it requests. */
export interface Webhooks<
  S extends IdempotencyStore = IdempotencyStore,
  I extends InboxStore | undefined = undefined,
> extends DeliveryHandler {
  /** Registers a handler for one or several documented event types; it receives the narrowed event. */
  on<T extends KnownEventType>(
    eventType: T | readonly T[],
    handler: EventHandler<EventFor<T>, HandlerTransaction<S, I>>,
  ): this;
  /** Registers a handler for every event, known or not, after the specific ones. */
  onAny(handler: EventHandler<C2pEvent, HandlerTransaction<S, I>>): this;
  /** Registers a handler for event types c2p does not know yet. Such events are answered 200. */
  onUnknown(handler: EventHandler<UnknownEventTypeEvent, HandlerTransaction<S, I>>): this;
  /** Registers the error hook: thrown handlers (the cause) and store failures. */
  onError(hook: (error: C2pError, context: ErrorContext) => unknown): this;
  /** Registers a hook called once per delivery with its {@link DeliveryReport}. */
  onDelivery(hook: (report: DeliveryReport) => unknown): this;
  /** Inbox mode: registers a hook called once per attempt of the worker with its {@link AttemptReport}. */
  onAttempt(hook: (report: AttemptReport) => unknown): this;
  /**
   * Inbox mode: starts a worker in this process that runs the handlers of
   * stored events, at once after each delivery this pipeline accepts, and again
   * on the retry schedule. Stop it before closing the inbox. Throws without
   * `options.inbox`.
   */
  startWorker(options?: WorkerOptions): InboxWorker;
}

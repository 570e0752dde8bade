import { callHooks } from './call-hooks.js';
import { decideDelivery } from './decide-delivery.js';
import { type DeliveryReport, type ErrorContext, newDeliveryReport } from './delivery-report.js';
import { C2pError, invalidOption } from './errors.js';
import type { C2pEvent } from './events.js';
import { createHandlerRegistry, type EventHandler } from './handler-registry.js';
import type { IdempotencyStore } from './idempotency-store.js';
import type { InboxStore } from './inbox-store.js';
import { type AttemptReport, type InboxWorker, startInboxWorker } from './inbox-worker.js';
import { createLeaseKeeper } from './lease-keeper.js';
import { processEvents } from './process-events.js';
import { resolveOptions, type WebhooksOptions } from './resolve-options.js';
import { refuse } from './responses.js';
import { storeEvents } from './store-events.js';
import type { WebhookResponse } from './webhook-request.js';
import type { Webhooks } from './webhooks.js';

/**
 * Builds the webhook pipeline: method, IP allowlist, Basic auth, size, JSON,
 * schema, then the events: in sync mode per event claim, handlers, completion;
 * in inbox mode one commit of every event into the inbox, the handlers running
 * later in a worker. See the status table in the README. A bad option throws
 * here, naming it.
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
export function createWebhooks<
  S extends IdempotencyStore = IdempotencyStore,
  I extends InboxStore | undefined = undefined,
>(options: WebhooksOptions<S, I>): Webhooks<S, I> {
  const resolved = resolveOptions(options);
  const handlers = createHandlerRegistry();
  const errorHooks: Array<(error: C2pError, context: ErrorContext) => unknown> = [];
  const deliveryHooks: Array<(report: DeliveryReport) => unknown> = [];
  const attemptHooks: Array<(report: AttemptReport) => unknown> = [];
  const workers = new Set<InboxWorker>();
  const reportError = (error: C2pError, context: ErrorContext): void =>
    callHooks(errorHooks, error, context);
  const { inbox } = resolved;
  const leases = createLeaseKeeper(resolved.store, resolved.leaseMs);
  const processor = {
    ...resolved,
    leases,
    run: handlers.run,
    reportError,
    detailed: () => deliveryHooks.length > 0,
  };
  const acceptEvents = inbox
    ? (events: readonly C2pEvent[], report: DeliveryReport) =>
        storeEvents(events, report, {
          inbox,
          keyOf: resolved.keyOf,
          now: Date.now,
          wake: () => {
            for (const worker of workers) worker.wake();
          },
          reportError,
        })
    : (events: readonly C2pEvent[], report: DeliveryReport) =>
        processEvents(events, report, processor);
  const pipeline = { options: resolved, acceptEvents };
  const finish = (report: DeliveryReport, response: WebhookResponse): WebhookResponse => {
    report.status = response.status;
    // Without hooks, not even the call (its rest arguments are an array per delivery).
    if (deliveryHooks.length > 0) callHooks(deliveryHooks, report);
    return response;
  };
  // Only a broken request object (e.g. a throwing header lookup) throws or rejects.
  const broken = (report: DeliveryReport, cause: unknown): WebhookResponse => {
    reportError(new C2pError('HANDLER_FAILED', { cause }), {});
    return finish(report, refuse(report, 'HANDLER_FAILED'));
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
    onAttempt(hook) {
      attemptHooks.push(hook);
      return this;
    },
    handle(request) {
      const report = newDeliveryReport();
      let decided: WebhookResponse | Promise<WebhookResponse>;
      try {
        decided = decideDelivery(request, report, pipeline);
      } catch (cause) {
        return Promise.resolve(broken(report, cause));
      }
      // One promise for the caller, and no more than the steps themselves made.
      if (!(decided instanceof Promise)) return Promise.resolve(finish(report, decided));
      return decided.then(
        (response) => finish(report, response),
        (cause: unknown) => broken(report, cause),
      );
    },
    startWorker(workerOptions = {}) {
      if (!inbox) {
        throw invalidOption(
          'options.inbox',
          'is required to start a worker: pass an inbox to createWebhooks (inbox mode)',
        );
      }
      const worker = startInboxWorker({
        ...workerOptions,
        inbox,
        run: handlers.run,
        schedule: resolved.schedule,
        onAttempt: (report) => callHooks(attemptHooks, report),
        onError: reportError,
      });
      workers.add(worker);
      return {
        wake: worker.wake,
        idle: worker.idle,
        async stop() {
          workers.delete(worker);
          await worker.stop();
        },
      };
    },
    maxBodyBytes: resolved.maxBodyBytes,
  };
}

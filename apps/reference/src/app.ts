import type { Clik2payClient, ReconcileReport, Reconciler } from '@c2p/api';
import {
  type C2pError,
  createHandlers,
  createWebhooks,
  type DeliveryReport,
  type ErrorContext,
  type Handlers,
  type InboxWorker,
  type RateGate,
  readInboxHealth,
  startInboxWorker,
  type WebhookIntake,
  type Webhooks,
  wakeInboxWorkers,
} from '@c2p/core';
import type { Logger } from 'pino';
import { createAdminListener } from './admin.js';
import { backlogAlert, deadAlert, recoveredAlert } from './alerts/alert-texts.js';
import { type Alerts, createAlerts } from './alerts/create-alerts.js';
import { type AppInbox, type Backend, openBackend, type SyncStore } from './backend.js';
import type { AdapterName, Config } from './config.js';
import { createDeliveryLog, type DeliveryLog } from './delivery-log.js';
import { createFulfilmentClient, type FulfilmentClient } from './fulfilment.js';
import { openHandlerRateGate } from './handler-rate-gate.js';
import { type HealthCheck, startListener, webhookPath } from './listeners.js';
import { type AppMetrics, createAppMetrics } from './metrics/app-metrics.js';
import { fulfils } from './order.js';
import { type OrderSink, registerOrderHandlers } from './order-handlers.js';
import { createApiClient, startReconciler } from './reconcile.js';
import { createNodeServer, listen, type RunningServer } from './servers.js';
import { createPaidVerifier, type PaidVerifier, type VerifyFailedAlert } from './verify-paid.js';
import { withTimeout } from './with-timeout.js';

/** The running reference app. */
export interface App {
  /** Webhook URL per started listener. */
  webhookUrls: Partial<Record<AdapterName, string>>;
  adminUrl: string;
  backend: Backend;
  /**
   * Stops accepting, finishes in-flight deliveries and (inbox mode) the
   * worker's running attempts, then closes the store.
   */
  close(): Promise<void>;
}

/** What every pipeline of the app shares. */
interface Shared {
  config: Config;
  backend: Backend;
  deliveries: DeliveryLog;
  fulfilment: FulfilmentClient | undefined;
  /** `C2P_VERIFY_PAID=on`: the API's word, asked before a PAID fulfils. */
  verify: PaidVerifier | undefined;
  logger: Logger;
  metrics: AppMetrics;
  alerts: Alerts;
}

/**
 * What the app reports beside its logs, for alerts and metrics (the lead's
 * wiring connects them); each is logged whether or not it is given.
 */
export interface AppHooks {
  /** A PAID the API did not confirm (`C2P_VERIFY_PAID=on`): the `verify-failed` alert. */
  onVerifyFailed?: (alert: VerifyFailedAlert) => void;
  /** One reconciler read's outcome (`c2p_reconcile_total{outcome}`). */
  onReconcile?: (report: ReconcileReport) => void;
}

/**
 * Starts the listeners and the admin page on one store and one order book.
 * Each listener has its own pipeline (so deliveries are logged with the
 * listener that took them); they share the store, so a duplicate is caught
 * whichever listener it reaches.
 *
 * Inbox mode: the listeners' pipelines only store events; the process's one
 * worker, built apart with the order handlers and no webhook credentials, runs
 * them. Core wakes the workers of an inbox when its intake stores something
 * new (the admin's replay and retry-now wake them too); without a wake they
 * still poll every second. One worker, one set of handlers.
 */
export async function startApp(config: Config, logger: Logger, hooks: AppHooks = {}): Promise<App> {
  const backend = await openBackend(config, {
    onOrderError: (error) =>
      logger.error({ err: error }, 'order book: accepted events not recorded'),
  });
  const deliveries = createDeliveryLog(backend.deliveries, {
    capacity: 500,
    onError: (error) => logger.error({ err: error }, 'delivery log write failed'),
  });
  const fulfilment = config.fulfilUrl ? createFulfilmentClient(config.fulfilUrl) : undefined;
  const health = createHealthCheck(backend, logger);
  const metrics = createAppMetrics();
  const alerts = createAlerts({
    url: config.alerts.url,
    log: logger.child({ alerts: true }),
    onAlert: (alert) => metrics.alert(alert.alert),
  });
  const api = config.api === undefined ? undefined : createApiClient(config.api);
  const verify = api && config.verifyPaid ? paidVerifier(api, logger, alerts, hooks) : undefined;
  const shared: Shared = {
    config,
    backend,
    deliveries,
    fulfilment,
    verify,
    logger,
    metrics,
    alerts,
  };
  const started: RunningServer[] = [];
  let worker: InboxWorker | undefined;
  let reconciler: Reconciler | undefined;
  let gate: RateGate | undefined;
  const stop = async (): Promise<void> => {
    // The worker finishes its running attempts while the listeners finish
    // theirs; events stored meanwhile wait, pending, for the next start.
    await Promise.all([
      ...started.map((server) => server.close()),
      worker?.stop(),
      reconciler?.stop(),
    ]);
    await gate?.close?.();
    await alerts.close();
    await deliveries.close();
    await backend.audit.close();
    await backend.close();
  };
  try {
    const { intake } = backend;
    // C2P_ROLE: `listener` runs no handlers, `worker` opens no webhook port (config
    // refuses a split role in sync mode, where the listener runs the handlers).
    if (intake.mode === 'inbox' && config.role !== 'listener') {
      const { ratePerSecond } = config.worker;
      if (ratePerSecond !== undefined)
        gate = await openHandlerRateGate(config.store, ratePerSecond);
      worker = startWorker(intake.inbox, shared, gate);
    }
    const webhookUrls: App['webhookUrls'] = {};
    if (config.role !== 'worker') {
      for (const name of config.adapters) {
        const running = await startWebhookListener(name, shared, health);
        started.push(running);
        webhookUrls[name] = `${running.origin}${webhookPath}`;
      }
    }
    const admin = await startAdmin(shared, health);
    started.push(admin);
    // Where handlers run (`all`, `worker`): every such process reads; events deduplicate.
    if (api && config.role !== 'listener') reconciler = startReconciling(api, shared, hooks);
    return { webhookUrls, adminUrl: `${admin.origin}/`, backend, close: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `C2P_VERIFY_PAID=on`: the check before a PAID fulfils, its alert logged, sent and handed on. */
function paidVerifier(
  api: Clik2payClient,
  logger: Logger,
  alerts: Alerts,
  hooks: AppHooks,
): PaidVerifier {
  return createPaidVerifier(api, (alert) => {
    logger.error({ alert: alert.alert, reason: alert.reason, event: alert.event }, alert.text);
    alerts.send({ ...alert });
    hooks.onVerifyFailed?.(alert);
  });
}

/**
 * The reconciler, submitting through a pipeline of its own on the same inbox
 * (or the same store and order handlers in sync mode) that admits only
 * 127.0.0.1 with the app's credentials: a missed webhook's event is validated
 * and keyed exactly as the webhook's would have been.
 */
function startReconciling(api: Clik2payClient, shared: Shared, hooks: AppHooks): Reconciler {
  const { config, backend, logger } = shared;
  const { intake } = backend;
  const log = logger.child({ reconciler: true });
  const common = { credentials: config.credentials, allowedIps: ['127.0.0.1'] };
  const pipeline =
    intake.mode === 'inbox'
      ? createWebhooks({ ...common, inbox: intake.inbox })
      : createWebhooks<SyncStore>({
          ...common,
          store: intake.store,
          handlers: orderHandlers(shared, log),
        });
  pipeline.onError(logError(log));
  return startReconciler({
    client: api,
    config,
    orders: backend.orders,
    pipeline,
    logger,
    onReconcile: (report) => {
      shared.metrics.reconcile.inc({ outcome: report.outcome });
      hooks.onReconcile?.(report);
    },
  });
}

/** One webhook listener, with its own pipeline on the shared store or inbox. */
function startWebhookListener(
  name: AdapterName,
  shared: Shared,
  health: HealthCheck,
): Promise<RunningServer> {
  const { intake } = shared.backend;
  const webhooks =
    intake.mode === 'inbox'
      ? createInboxListenerPipeline(name, intake.inbox, shared)
      : createSyncPipeline(name, intake.store, shared);
  return startListener(name, shared.config, { webhooks, health });
}

/** The admin page and API. A replay or retry-now wakes this process's workers of the inbox at once. */
async function startAdmin(shared: Shared, health: HealthCheck): Promise<RunningServer> {
  const { config, backend, logger } = shared;
  const { intake } = backend;
  const adminServer = createNodeServer(config.tls);
  const admin = await listen(adminServer, {
    setting: 'ADMIN_PORT',
    port: config.admin.port,
    host: config.admin.host,
    tls: config.tls,
  });
  adminServer.on(
    'request',
    createAdminListener({
      deliveries: shared.deliveries,
      orders: backend.orders,
      inbox:
        intake.mode === 'inbox'
          ? { store: intake.inbox, wake: () => wakeInboxWorkers(intake.inbox) }
          : undefined,
      health,
      access: {
        host: config.admin.host,
        port: admin.port,
        tls: config.tls !== undefined,
        token: config.admin.token,
      },
      onError: (error) => logger.error({ err: error }, 'admin request failed'),
      operate: {
        metrics: shared.metrics,
        inboxHealth: intake.mode === 'inbox' ? () => readInboxHealth(intake.inbox) : undefined,
        backlogS: config.alerts.backlogS,
        audit: backend.audit,
      },
    }),
  );
  return admin;
}

/**
 * The order logic, the same in both modes: the order system first, decided on
 * the committed order, so no database lock is held across the network call (a
 * failure throws: the event is retried); then the order's transition, written
 * through the store's or inbox's transaction, so it commits with the event's
 * completion (SQLite, PostgreSQL).
 */
function orderSink({ backend, fulfilment, verify }: Shared, log: Logger): OrderSink<unknown> {
  return async (event, context) => {
    // C2P_VERIFY_PAID: a PAID the API does not confirm throws here, before any write or call.
    if (verify) await verify(event);
    if (fulfilment && fulfils(await backend.orders.get(event.orderId, context.tx), event)) {
      await fulfilment.fulfil(event);
    }
    const order = await backend.orders.apply(event, context.tx);
    if (order)
      log.debug(
        { orderId: order.id, state: order.state, fulfilments: order.fulfilments },
        'order updated',
      );
  };
}

function logError(log: Logger) {
  return (error: C2pError, context: ErrorContext): void => {
    log.error(
      { code: error.code, key: context.key, err: error.cause ?? error },
      error.code === 'STORE_UNAVAILABLE' ? 'store unavailable' : 'event handler failed',
    );
  };
}

/** Records the delivery in the log and writes its one log line: never the body or credentials. */
function recordDelivery(listener: AdapterName, shared: Shared, log: Logger) {
  const { deliveries } = shared;
  return (report: DeliveryReport): void => {
    shared.metrics.delivery(listener, report);
    const entry = deliveries.record(listener, report);
    log.info(
      {
        status: entry.status,
        outcome: entry.outcome,
        step: entry.step,
        code: entry.code ?? undefined,
        reason: entry.reason ?? undefined,
        clientIp: entry.clientIp ?? undefined,
        events: entry.events.map(
          (e) => `${e.eventType} ${e.kind}:${e.resourceId} ${e.status ?? ''} ${e.outcome}`,
        ),
      },
      'delivery',
    );
  };
}

/** The order handlers, the same in both modes; they get the store's or inbox's transaction. */
function orderHandlers(shared: Shared, log: Logger): Handlers<unknown> {
  return registerOrderHandlers(createHandlers<unknown>(), orderSink(shared, log));
}

/** Sync mode: the listener's pipeline runs the handlers before answering. */
function createSyncPipeline(
  listener: AdapterName,
  store: SyncStore,
  shared: Shared,
): Webhooks<SyncStore> {
  const log = shared.logger.child({ listener });
  return createWebhooks<SyncStore>({
    credentials: shared.config.credentials,
    allowedIps: shared.config.allowedIps,
    trustedProxies: shared.config.trustedProxies,
    maxEvents: shared.config.maxEvents,
    store,
    handlers: orderHandlers(shared, log),
  })
    .onError(logError(log))
    .onDelivery(recordDelivery(listener, shared, log));
}

/** Inbox mode: the listener's pipeline stores the events (one commit); core wakes the workers. */
function createInboxListenerPipeline(
  listener: AdapterName,
  inbox: AppInbox,
  shared: Shared,
): WebhookIntake {
  const log = shared.logger.child({ listener });
  return createWebhooks({
    credentials: shared.config.credentials,
    allowedIps: shared.config.allowedIps,
    trustedProxies: shared.config.trustedProxies,
    maxEvents: shared.config.maxEvents,
    inbox,
  })
    .onError(logError(log))
    .onDelivery(recordDelivery(listener, shared, log));
}

/**
 * Inbox mode: the process's one worker, with the order handlers and no
 * webhook credentials. Each attempt is logged; a failed one is retried on
 * `C2P_RETRY_*`'s schedule, then kept as `dead`.
 */
function startWorker(inbox: AppInbox, shared: Shared, gate: RateGate | undefined): InboxWorker {
  const log = shared.logger.child({ worker: true });
  const { concurrency, breaker } = shared.config.worker;
  return startInboxWorker({
    inbox,
    handlers: orderHandlers(shared, log),
    retry: shared.config.retry,
    concurrency,
    // C2P_HANDLER_RATE and C2P_BREAKER.
    ...(gate === undefined ? {} : { rate: { gate } }),
    breaker: breaker === false ? false : { failures: breaker },
    onError: logError(log),
    onDead: (event) => shared.alerts.send(deadAlert(event)),
    backlogAfterMs: shared.config.alerts.backlogS * 1000,
    onBacklog: (report) => shared.alerts.send(backlogAlert(report)),
    onRecovered: (report) => shared.alerts.send(recoveredAlert(report)),
    onAttempt: (report) => {
      // The order shows its inbox event and a failing fulfilment (retrying, dead) at once.
      shared.backend.orders
        .noteAttempt(report)
        .catch((error: unknown) => log.error({ err: error }, 'order book: attempt not recorded'));
      shared.metrics.attempt(report);
      const line = {
        id: report.id,
        key: report.key,
        attempt: report.attempt,
        outcome: report.outcome,
        durationMs: report.durationMs,
        nextAttemptAt:
          report.nextAttemptAt === null ? undefined : new Date(report.nextAttemptAt).toISOString(),
      };
      if (report.outcome === 'processed') log.info(line, 'attempt');
      else log.warn(line, 'attempt');
    },
  });
}

/** `GET /healthz`: the store (inbox mode: the inbox) and the order book must answer within 3 s. */
function createHealthCheck(backend: Backend, logger: Logger): HealthCheck {
  return async () => {
    try {
      await withTimeout(backend.check(), 3_000, 'timed out after 3 s');
      return {
        status: 200,
        body: JSON.stringify({ status: 'ok', store: backend.kind, mode: backend.intake.mode }),
      };
    } catch (error) {
      logger.warn({ err: error }, 'health check failed');
      return {
        status: 503,
        body: JSON.stringify({
          status: 'unavailable',
          store: backend.kind,
          mode: backend.intake.mode,
        }),
      };
    }
  };
}

import { createWebhooks, type Webhooks } from '@c2p/core';
import type { Logger } from 'pino';
import { createAdminListener } from './admin.js';
import { type Backend, openBackend } from './backend.js';
import type { AdapterName, Config } from './config.js';
import { createDeliveryLog, type DeliveryLog } from './delivery-log.js';
import { createFulfilmentClient, type FulfilmentClient } from './fulfilment.js';
import { type HealthCheck, startListener, webhookPath } from './listeners.js';
import { fulfils } from './order.js';
import { registerOrderHandlers } from './order-handlers.js';
import { createNodeServer, listen, type RunningServer } from './servers.js';
import { withTimeout } from './with-timeout.js';

/** The running reference app. */
export interface App {
  /** Webhook URL per started listener. */
  webhookUrls: Partial<Record<AdapterName, string>>;
  adminUrl: string;
  backend: Backend;
  /** Stops accepting, finishes in-flight deliveries, closes the store. */
  close(): Promise<void>;
}

/**
 * Starts the listeners and the admin page on one store and one order book.
 * Each listener has its own pipeline (so deliveries are logged with the
 * listener that took them); they share the store, so a duplicate is caught
 * whichever listener it reaches.
 */
export async function startApp(config: Config, logger: Logger): Promise<App> {
  const backend = await openBackend(config.store);
  const deliveries = createDeliveryLog(backend.deliveries, {
    capacity: 500,
    onError: (error) => logger.error({ err: error }, 'delivery log write failed'),
  });
  const fulfilment = config.fulfilUrl ? createFulfilmentClient(config.fulfilUrl) : undefined;
  const health = createHealthCheck(backend, logger);
  const started: RunningServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((server) => server.close()));
    await deliveries.close();
    await backend.close();
  };
  try {
    const webhookUrls: App['webhookUrls'] = {};
    for (const name of config.adapters) {
      const webhooks = createPipeline(name, { config, backend, deliveries, fulfilment, logger });
      const running = await startListener(name, config, { webhooks, health });
      started.push(running);
      webhookUrls[name] = `${running.origin}${webhookPath}`;
    }
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
        deliveries,
        orders: backend.orders,
        health,
        access: {
          host: config.admin.host,
          port: admin.port,
          tls: config.tls !== undefined,
          token: config.admin.token,
        },
        onError: (error) => logger.error({ err: error }, 'admin request failed'),
      }),
    );
    started.push(admin);
    return { webhookUrls, adminUrl: `${admin.origin}/`, backend, close: stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface PipelineOptions {
  config: Config;
  backend: Backend;
  deliveries: DeliveryLog;
  fulfilment: FulfilmentClient | undefined;
  logger: Logger;
}

function createPipeline(
  listener: AdapterName,
  { config, backend, deliveries, fulfilment, logger }: PipelineOptions,
): Webhooks<Backend['store']> {
  const log = logger.child({ listener });
  const webhooks = createWebhooks({
    credentials: config.credentials,
    allowedIps: config.allowedIps,
    trustedProxies: config.trustedProxies,
    store: backend.store,
  });
  return registerOrderHandlers(webhooks, async (event, context) => {
    // The order system first, decided on the committed order: no database lock
    // is held across the network call. A failure throws: the event is retried.
    if (fulfilment && fulfils(await backend.orders.get(event.orderId), event)) {
      await fulfilment.fulfil(event);
    }
    const order = await backend.orders.apply(event, context.tx);
    if (order)
      log.debug(
        { orderId: order.id, state: order.state, fulfilments: order.fulfilments },
        'order updated',
      );
  })
    .onError((error, context) => {
      log.error(
        { code: error.code, key: context.key, err: error.cause ?? error },
        error.code === 'STORE_UNAVAILABLE' ? 'store unavailable' : 'event handler failed',
      );
    })
    .onDelivery((report) => {
      const entry = deliveries.record(listener, report);
      // One line per delivery: the deciding step and the outcome; never the body or credentials.
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
    });
}

/** `GET /healthz`: the store and the order book must answer within 3 s. */
function createHealthCheck(backend: Backend, logger: Logger): HealthCheck {
  return async () => {
    try {
      await withTimeout(backend.check(), 3_000, 'timed out after 3 s');
      return { status: 200, body: JSON.stringify({ status: 'ok', store: backend.kind }) };
    } catch (error) {
      logger.warn({ err: error }, 'health check failed');
      return { status: 503, body: JSON.stringify({ status: 'unavailable', store: backend.kind }) };
    }
  };
}

import { createWebhooks, type Webhooks } from '@c2p/core';
import type { Logger } from 'pino';
import { createAdminListener } from './admin.js';
import { type Backend, openBackend } from './backend.js';
import type { AdapterName, Config } from './config.js';
import { createDeliveryLog } from './delivery-log.js';
import { type HealthCheck, startListener, webhookPath } from './listeners.js';
import { toOrderEvent } from './order.js';
import { createNodeServer, listen, type RunningServer } from './servers.js';

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
  const deliveries = createDeliveryLog(500);
  const health = createHealthCheck(backend, logger);
  const started: RunningServer[] = [];
  try {
    const webhookUrls: App['webhookUrls'] = {};
    for (const name of config.adapters) {
      const webhooks = createPipeline(name, config, backend, deliveries, logger);
      const running = await startListener(name, config, { webhooks, health });
      started.push(running);
      webhookUrls[name] = `${running.origin}${webhookPath}`;
    }
    const admin = await listen(
      createNodeServer(
        config.tls,
        createAdminListener({
          deliveries,
          orders: backend.orders,
          health,
          onError: (error) => logger.error({ err: error }, 'admin request failed'),
        }),
      ),
      { setting: 'ADMIN_PORT', port: config.admin.port, host: config.admin.host, tls: config.tls },
    );
    started.push(admin);
    return {
      webhookUrls,
      adminUrl: `${admin.origin}/`,
      backend,
      async close() {
        await Promise.all(started.map((server) => server.close()));
        await backend.close();
      },
    };
  } catch (error) {
    await Promise.all(started.map((server) => server.close()));
    await backend.close();
    throw error;
  }
}

function createPipeline(
  listener: AdapterName,
  config: Config,
  backend: Backend,
  deliveries: ReturnType<typeof createDeliveryLog>,
  logger: Logger,
): Webhooks {
  const log = logger.child({ listener });
  return (
    createWebhooks({
      credentials: config.credentials,
      allowedIps: config.allowedIps,
      trustedProxies: config.trustedProxies,
      store: backend.store,
    })
      // Every event, known or not, reaches the order book; the transition decides what it means.
      .onAny(async (event, context) => {
        const order = await backend.orders.apply(toOrderEvent(event, context.key), context.tx);
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
      })
  );
}

/** `GET /healthz`: the store and the order book must answer within 3 s. */
function createHealthCheck(backend: Backend, logger: Logger): HealthCheck {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        backend.check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timed out after 3 s')), 3_000);
        }),
      ]);
      return { status: 200, body: JSON.stringify({ status: 'ok', store: backend.kind }) };
    } catch (error) {
      logger.warn({ err: error }, 'health check failed');
      return { status: 503, body: JSON.stringify({ status: 'unavailable', store: backend.kind }) };
    } finally {
      clearTimeout(timer);
    }
  };
}

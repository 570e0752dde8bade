import type { Server } from 'node:http';
import type { DeliveryHandler } from '@c2p/core/kit';
import { type AdapterName, type Config, portSettings } from './config.js';
import { createNodeServer, listen, type RunningServer } from './servers.js';

/** The webhook route on every listener. */
export const webhookPath = '/webhooks/clik2pay';

/** Answers `GET /healthz`: 200 when the store answers, 503 when not. */
export type HealthCheck = () => Promise<{ status: number; body: string }>;

interface ListenerOptions {
  webhooks: DeliveryHandler;
  health: HealthCheck;
  tls: Config['tls'];
}

/**
 * Builds one framework's app on a server of our own, so TLS and shutdown are
 * the same for all three. Each framework is loaded only if its listener starts.
 */
const build: Record<
  AdapterName,
  (options: ListenerOptions) => Promise<{ server: Server; close?: () => Promise<void> }>
> = {
  async express({ webhooks, health, tls }) {
    const { createExpressHandler } = await import('@c2p/adapter-express');
    const { default: express } = await import('express');
    const app = express();
    app.disable('x-powered-by');
    app.get('/healthz', async (_req, res) => {
      const answer = await health();
      res.status(answer.status).type('application/json').send(answer.body);
    });
    app.all(webhookPath, createExpressHandler(webhooks));
    return { server: createNodeServer(tls, app) };
  },

  async fastify({ webhooks, health, tls }) {
    const { fastifyWebhooks } = await import('@c2p/adapter-fastify');
    const { default: Fastify } = await import('fastify');
    let server: Server | undefined;
    const app = Fastify({
      logger: false,
      serverFactory: (handler) => {
        server = createNodeServer(tls, handler);
        return server;
      },
    });
    app.get('/healthz', async (_request, reply) => {
      const answer = await health();
      return reply.code(answer.status).type('application/json').send(answer.body);
    });
    await app.register(fastifyWebhooks, { webhooks, path: webhookPath });
    await app.ready();
    return { server: server as Server, close: () => app.close() };
  },

  async hono({ webhooks, health, tls }) {
    const { createHonoHandler } = await import('@c2p/adapter-hono');
    const { getRequestListener } = await import('@hono/node-server');
    const { getConnInfo } = await import('@hono/node-server/conninfo');
    const { Hono } = await import('hono');
    const app = new Hono();
    app.get('/healthz', async (c) => {
      const answer = await health();
      return c.body(answer.body, answer.status as 200, { 'content-type': 'application/json' });
    });
    app.all(
      webhookPath,
      createHonoHandler(webhooks, { getPeerAddress: (c) => getConnInfo(c).remote.address }),
    );
    return { server: createNodeServer(tls, getRequestListener(app.fetch)) };
  },
};

/** Starts one webhook listener on its configured port. */
export async function startListener(
  name: AdapterName,
  config: Config,
  options: Omit<ListenerOptions, 'tls'>,
): Promise<RunningServer> {
  const { server, close } = await build[name]({ ...options, tls: config.tls });
  const running = await listen(server, {
    setting: portSettings[name],
    port: config.ports[name],
    host: config.host,
    tls: config.tls,
  });
  return {
    ...running,
    async close() {
      await running.close();
      await close?.();
    },
  };
}

import { createServer } from 'node:http';
import {
  conformanceServerOptions,
  describeAdapterConformance,
} from '@c2p/testing/adapter-conformance';
import Fastify from 'fastify';
import { fastifyWebhooks } from '../src/index.js';

const serverFactory = (handler: Parameters<typeof createServer>[1]) =>
  createServer(conformanceServerOptions, handler);

describeAdapterConformance('fastify 5', {
  start: async (webhooks) => {
    const app = Fastify({ serverFactory });
    await app.register(fastifyWebhooks, { webhooks });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: `${address}/webhooks/clik2pay`, close: () => app.close() };
  },
});

describeAdapterConformance('fastify 5, under a prefix', {
  start: async (webhooks) => {
    const app = Fastify({ serverFactory });
    await app.register(fastifyWebhooks, { webhooks, prefix: '/hooks', path: '/c2p' });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: `${address}/hooks/c2p`, close: () => app.close() };
  },
});

describeAdapterConformance(
  'fastify 5, lenient router (ignoreTrailingSlash, caseSensitive: false)',
  {
    start: async (webhooks) => {
      const app = Fastify({
        serverFactory,
        routerOptions: { ignoreTrailingSlash: true, caseSensitive: false },
      });
      await app.register(fastifyWebhooks, { webhooks });
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      return { url: `${address}/webhooks/clik2pay`, close: () => app.close() };
    },
  },
);

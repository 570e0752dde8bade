import type { AddressInfo } from 'node:net';
import {
  conformanceServerOptions,
  describeAdapterConformance,
} from '@c2p/testing/adapter-conformance';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { createHonoHandler } from '../src/index.js';

// A middleware that reads the body before the handler (a validator, a logger, c.req.json()):
// the adapter must take the body from Hono's cache, byte for byte, and answer as core decides.
describeAdapterConformance('hono 4, the body read first by a middleware', {
  start: async (webhooks) => {
    const app = new Hono();
    // A body the server cut (a slow client) fails the middleware's read: answer, quietly.
    app.onError((_error, c) => c.text('', 400));
    app.use(async (c, next) => {
      await c.req.arrayBuffer();
      await next();
    });
    app.all(
      '/webhooks/clik2pay',
      createHonoHandler(webhooks, { getPeerAddress: (c) => getConnInfo(c).remote.address }),
    );
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const started = serve(
        {
          fetch: app.fetch,
          port: 0,
          hostname: '127.0.0.1',
          serverOptions: conformanceServerOptions,
        },
        () => resolve(started),
      );
    });
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/webhooks/clik2pay`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  },
  limitations: {
    'slow-unauthenticated': {
      reason:
        'the middleware waits for every whole body before the handler, and so before the credentials are checked',
    },
  },
});

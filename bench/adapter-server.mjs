// One listener for adapters.bench.mjs, in a process of its own so the load
// generator does not share its event loop: `node adapter-server.mjs <framework> <bare|c2p>`.
// Prints the port once listening.
import { createExpressHandler } from '@c2p/adapter-express';
import { fastifyWebhooks } from '@c2p/adapter-fastify';
import { createHonoHandler } from '@c2p/adapter-hono';
import { createWebhooks } from '@c2p/core';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';

const [framework, mode] = process.argv.slice(2);
const path = '/webhooks/clik2pay';
const webhooks = createWebhooks({
  credentials: { username: 'clik2pay', password: 'correct horse battery staple' },
  allowedIps: ['loopback'],
  // Unique keys at thousands a second would grow a 30-day memory store by millions
  // of entries, and its garbage collection would dominate; a deployment uses a
  // durable store. BENCH_RETAIN_MS=2592000000 shows that cost.
  retainMs: Number(process.env.BENCH_RETAIN_MS ?? 1000),
});
webhooks.on('PAYMENT-COMPLETED', () => {});
// The bare baseline does the least a webhook endpoint must: read the body, parse
// it, answer JSON. No auth, no allowlist, no deduplication.
const summary = (events) =>
  JSON.stringify({ received: [].concat(events).length, processed: 1, duplicates: 0 });
// The parent asks for this process's CPU time and request count around a run:
// CPU per request is the figure a saturated server's throughput follows.
let requests = 0;
const listening = (port, server) => {
  // Idle connections kept longer than Node's 5 s: under valgrind a server is slow
  // enough for a client's next request to meet a closing socket.
  server.keepAliveTimeout = 60_000;
  server.on('request', () => requests++);
  process.on('message', () => process.send({ cpu: process.cpuUsage(), requests }));
  console.log(JSON.stringify({ port }));
};

if (framework === 'express') {
  const app = express();
  if (mode === 'bare') {
    app.post(path, express.json(), (req, res) => res.type('json').send(summary(req.body)));
  } else app.all(path, createExpressHandler(webhooks));
  const server = app.listen(0, '127.0.0.1', () => listening(server.address().port, server));
} else if (framework === 'fastify') {
  const app = Fastify();
  if (mode === 'bare') {
    app.post(path, async (request, reply) =>
      reply.type('application/json').send(summary(request.body)),
    );
  } else await app.register(fastifyWebhooks, { webhooks, path });
  await app.listen({ port: 0, host: '127.0.0.1' });
  listening(app.server.address().port, app.server);
} else if (framework === 'hono') {
  const app = new Hono();
  if (mode === 'bare') {
    app.post(path, async (c) =>
      c.body(summary(await c.req.json()), 200, { 'content-type': 'application/json' }),
    );
  } else {
    app.all(
      path,
      createHonoHandler(webhooks, { getPeerAddress: (c) => getConnInfo(c).remote.address }),
    );
  }
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
    listening(info.port, server),
  );
} else {
  console.error('usage: node adapter-server.mjs express|fastify|hono bare|c2p');
  process.exit(2);
}
process.on('SIGTERM', () => process.exit(0));

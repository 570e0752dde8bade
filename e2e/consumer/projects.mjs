// What each fresh consumer project holds: the README's own install line (its
// @c2p/* names swapped for the packed tarballs), the files written into it, and
// what it proves. One project per public package, plus `all` for the root README.

/** The workspace's TypeScript and Node types, so the typecheck is reproducible. */
export const toolPackages = ['typescript', '@types/node'];

const authorization = "'Basic ' + btoa('clik2pay:pw')";

/** An in-process delivery through core: processed, then a duplicate, handler ran once. */
function coreDelivery({ imports, store, close = '' }) {
  return `${imports}
import { createWebhooks } from '@c2p/core';
import { fromWebRequest } from '@c2p/core/kit';

${store}
const webhooks = createWebhooks({ credentials: { username: 'clik2pay', password: 'pw' }, allowedIps: ['loopback'], store });
let runs = 0;
webhooks.on('PAYMENT-COMPLETED', async () => { runs += 1; });
const body = JSON.stringify([{ eventType: 'PAYMENT-COMPLETED', resourceType: 'payment-request', resource: { id: 'e2e-' + Date.now() + '-' + Math.random(), status: 'PAID', amount: 1 } }]);
const request = (auth) => fromWebRequest(new Request('http://127.0.0.1/webhooks/clik2pay', { method: 'POST', headers: auth ? { authorization: ${authorization}, 'content-type': 'application/json' } : {}, body }), '127.0.0.1');
const answers = [];
for (const auth of [true, true, false]) {
  const { status, body: text } = await webhooks.handle(request(auth));
  answers.push(status + ' ' + text.replace(/"message":"[^"]*"/, ''));
}
${close}
const expected = ['200 {"received":1,"processed":1,"duplicates":0}', '200 {"received":1,"processed":0,"duplicates":1}', '401 {"error":{"code":"UNAUTHORIZED",}}'];
if (JSON.stringify(answers) !== JSON.stringify(expected) || runs !== 1) {
  console.error('expected', expected, 'runs 1; got', answers, 'runs', runs);
  process.exit(1);
}
console.log('delivered once, duplicate answered, 401 without credentials');
`;
}

/** Type usage every project checks under NodeNext and Bundler (ESM), and NodeNext (CJS). */
const coreUsage = `import { createWebhooks, createMemoryStore, isC2pError, type DeliveryReport, type Webhooks } from '@c2p/core';
const webhooks: Webhooks = createWebhooks({ credentials: [{ username: 'a', password: 'b' }], allowedIps: ['production', '10.0.0.0/8'], store: createMemoryStore() });
webhooks.on('PAYMENT-COMPLETED', async (event) => {
  if (event.kind === 'payment-request') {
    const status: string | undefined = event.resource.status;
    void status;
  }
});
webhooks.onDelivery((report: DeliveryReport) => { void report.status; });
export const check = (error: unknown): boolean => isC2pError(error);
`;

export const projects = {
  core: {
    readme: 'packages/core/README.md',
    usage: coreUsage,
    files: {
      'delivery.mjs': coreDelivery({
        imports: "import { createMemoryStore } from '@c2p/core';",
        store: 'const store = createMemoryStore();',
      }),
    },
    run: [['delivery.mjs']],
    // The README's telemetry example imports the optional peer.
    extra: ['@opentelemetry/api'],
  },
  'adapter-express': {
    readme: 'packages/adapter-express/README.md',
    usage: `${coreUsage}import { createExpressHandler } from '@c2p/adapter-express';
import express from 'express';
const app = express();
app.all('/webhooks/clik2pay', createExpressHandler(webhooks));
`,
    server: 'express.mjs',
  },
  'adapter-fastify': {
    readme: 'packages/adapter-fastify/README.md',
    usage: `${coreUsage}import { fastifyWebhooks } from '@c2p/adapter-fastify';
import Fastify from 'fastify';
const app = Fastify();
export const ready = app.register(fastifyWebhooks, { webhooks, path: '/webhooks/clik2pay' });
`,
    server: 'fastify.mjs',
  },
  'adapter-hono': {
    readme: 'packages/adapter-hono/README.md',
    usage: `${coreUsage}import { createHonoHandler } from '@c2p/adapter-hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
const app = new Hono();
app.all('/webhooks/clik2pay', createHonoHandler(webhooks, { getPeerAddress: (c) => getConnInfo(c).remote.address }));
`,
    server: 'hono-node.mjs',
  },
  'store-sqlite': {
    readme: 'packages/store-sqlite/README.md',
    usage: `${coreUsage}import { createSqliteStore } from '@c2p/store-sqlite';
export const store = createSqliteStore({ database: ':memory:' });
`,
    files: {
      // As the README says: a file in a directory that does not exist yet.
      'delivery.mjs': coreDelivery({
        imports: "import { createSqliteStore } from '@c2p/store-sqlite';",
        store: "const store = createSqliteStore({ database: './data/webhooks.db' });",
        close: 'await store.close();',
      }),
    },
    run: [['delivery.mjs']],
    // The README's complete example is sent its deliveries with the packed c2p CLI.
    packed: ['testing'],
  },
  'store-postgres': {
    readme: 'packages/store-postgres/README.md',
    usage: `${coreUsage}import { createPostgresStore } from '@c2p/store-postgres';
export const store = createPostgresStore({ connection: 'postgres://127.0.0.1/db' });
`,
    files: {
      'delivery.mjs': coreDelivery({
        imports: "import { createPostgresStore } from '@c2p/store-postgres';",
        store:
          "const store = createPostgresStore({ connection: process.env.C2P_TEST_POSTGRES_URL, table: 'e2e_' + process.pid });\nawait store.migrate();",
        close: 'await store.close();',
      }),
    },
    run: [['delivery.mjs']],
    needs: ['C2P_TEST_POSTGRES_URL'],
  },
  'store-redis': {
    readme: 'packages/store-redis/README.md',
    usage: `${coreUsage}import { createRedisStore } from '@c2p/store-redis';
export const store = createRedisStore({ client: 'redis://127.0.0.1:6379' });
`,
    files: {
      'delivery.mjs': coreDelivery({
        imports: "import { createRedisStore } from '@c2p/store-redis';",
        store:
          "const store = createRedisStore({ client: process.env.C2P_TEST_REDIS_URL, keyPrefix: 'e2e:' + process.pid + ':' + Date.now() + ':' });",
        close: 'await store.close();',
      }),
    },
    run: [['delivery.mjs']],
    needs: ['C2P_TEST_REDIS_URL'],
  },
  testing: {
    readme: 'packages/testing/README.md',
    usage: `import { createBody, createEvent, deliver } from '@c2p/testing';
const body = createBody(createEvent({ eventType: 'PAYMENT-FAILED' }));
export const result = deliver({ url: 'http://127.0.0.1:1/', username: 'u', password: 'p', body, attempts: 1 });
`,
    usageCjs: `import { createBody, createEvent } from '@c2p/testing';
export const body = createBody(createEvent());
`,
    files: {
      'cli.mjs': `import { execFileSync } from 'node:child_process';
const out = execFileSync('npx', ['--no-install', 'c2p', 'example', 'payment-failed'], { encoding: 'utf8' });
const [event] = JSON.parse(out);
if (event.eventType !== 'PAYMENT-FAILED') { console.error(out); process.exit(1); }
console.log('c2p example printed a PAYMENT-FAILED body');
`,
    },
    run: [['cli.mjs']],
    // The conformance suites are vitest test factories: the README names it a peer for them.
    extra: ['vitest'],
  },
  api: {
    readme: 'packages/api/README.md',
    usage: `import { createClik2payClient, isC2pApiError, type PaymentRequest } from '@c2p/api';
const client = createClik2payClient({ username: 'u', password: 'p', apiKey: 'k', environment: 'sandbox' });
export const read = (id: string): Promise<PaymentRequest> => client.getPaymentRequest(id);
export const check = (error: unknown): boolean => isC2pApiError(error, 'RATE_LIMITED');
`,
    files: {
      // The client through an in-memory fetch: one token call for two calls, a 429 retried.
      'client.mjs': `import { createClik2payClient } from '@c2p/api';
const seen = [];
let limited = false;
const fetch = async (url, init) => {
  seen.push(init.method + ' ' + url);
  const json = (status, body, headers = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  if (url.endsWith('/oauth2/token')) return json(200, { access_token: 'tok', expires_in: 3600, token_type: 'Bearer' });
  if (init.headers['x-api-key'] !== 'k' || init.headers.authorization !== 'Bearer tok') return json(401, {});
  if (init.method === 'POST') return json(201, { id: 'pr-1' });
  if (!limited) { limited = true; return json(429, {}, { 'retry-after': '0' }); }
  return json(200, { id: 'pr-1', status: 'PAID', amount: 12.5, merchantTransactionId: 'order-1' });
};
const client = createClik2payClient({ username: 'u', password: 'p', apiKey: 'k', baseUrl: 'https://api.test/open/v1', tokenUrl: 'https://auth.test/oauth2/token', fetch });
const { id } = await client.createPaymentRequest({ amount: 12.5, merchantTransactionId: 'order-1', type: 'ECOMM', deliveryMode: 'NONE', payer: {} });
const read = await client.getPaymentRequest(id);
const expected = ['POST https://auth.test/oauth2/token', 'POST https://api.test/open/v1/payment-requests', 'GET https://api.test/open/v1/payment-requests/pr-1', 'GET https://api.test/open/v1/payment-requests/pr-1'];
if (read.status !== 'PAID' || JSON.stringify(seen) !== JSON.stringify(expected)) {
  console.error('got', read, seen);
  process.exit(1);
}
console.log('created, read PAID after a 429, one token call');
`,
    },
    run: [['client.mjs']],
  },
  all: {
    readme: 'README.md',
    packages: [
      'core',
      'adapter-express',
      'adapter-fastify',
      'adapter-hono',
      'store-postgres',
      'store-redis',
      'testing',
      'api',
    ],
    extra: [
      'express',
      '@types/express',
      'fastify',
      'hono',
      '@hono/node-server',
      'pg',
      '@types/pg',
      'redis',
      'vitest',
    ],
    usage: coreUsage,
  },
};

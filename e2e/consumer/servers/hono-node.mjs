import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { buildApp } from './hono-app.mjs';

const app = buildApp({
  password: process.env.C2P_WEBHOOK_PASSWORD ?? '',
  getPeerAddress: (c) => getConnInfo(c).remote.address,
});
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  console.log(JSON.stringify({ port: info.port }));
});

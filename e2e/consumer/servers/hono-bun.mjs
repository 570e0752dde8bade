import { getConnInfo } from 'hono/bun';
import { buildApp } from './hono-app.mjs';

const app = buildApp({
  password: Bun.env.C2P_WEBHOOK_PASSWORD ?? '',
  getPeerAddress: (c) => getConnInfo(c).remote.address,
});
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch: (req, srv) => app.fetch(req, srv),
});
console.log(JSON.stringify({ port: server.port }));

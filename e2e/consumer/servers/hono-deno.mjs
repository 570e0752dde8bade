import { getConnInfo } from 'hono/deno';
import { buildApp } from './hono-app.mjs';

const app = buildApp({
  password: Deno.env.get('C2P_WEBHOOK_PASSWORD') ?? '',
  getPeerAddress: (c) => getConnInfo(c).remote.address,
});
Deno.serve(
  { hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log(JSON.stringify({ port })) },
  (req, info) => app.fetch(req, info),
);

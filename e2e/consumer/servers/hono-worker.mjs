// A Worker with the pipeline at module scope, its secret read from `env` through
// `cloudflare:workers` (Workers allow no random values or I/O at module scope).
import { env } from 'cloudflare:workers';
import { getConnInfo } from 'hono/cloudflare-workers';
import { buildApp } from './hono-app.mjs';

const app = buildApp({
  password: env.C2P_WEBHOOK_PASSWORD ?? '',
  getPeerAddress: (c) => getConnInfo(c).remote.address,
});
export default app;

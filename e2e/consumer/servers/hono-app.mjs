// The Hono app every runtime serves: /allowed takes loopback callers, /denied
// only Clik2pay's production addresses. Each runtime's entry builds it at module
// scope, as the READMEs show.

import { createHonoHandler } from '@c2p/adapter-hono';
import { createWebhooks } from '@c2p/core';
import { Hono } from 'hono';

export function buildApp({ password, getPeerAddress }) {
  const credentials = { username: 'clik2pay', password };
  const allowed = createWebhooks({ credentials, allowedIps: ['loopback'] });
  const denied = createWebhooks({ credentials, allowedIps: ['production'] });
  allowed.on('PAYMENT-COMPLETED', async () => {});
  const app = new Hono();
  app.all('/allowed', createHonoHandler(allowed, { getPeerAddress }));
  app.all('/denied', createHonoHandler(denied, { getPeerAddress }));
  return app;
}

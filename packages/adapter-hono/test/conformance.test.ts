import type { AddressInfo } from 'node:net';
import { createWebhooks, encodeBasicAuth, type Webhooks } from '@c2p/core';
import {
  conformanceServerOptions,
  describeAdapterConformance,
} from '@c2p/testing/adapter-conformance';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { expect, it } from 'vitest';
import { createHonoHandler } from '../src/index.js';

async function start(webhooks: Webhooks, strict: boolean) {
  const app = new Hono({ strict });
  app.all(
    '/webhooks/clik2pay',
    createHonoHandler(webhooks, { getPeerAddress: (c) => getConnInfo(c).remote.address }),
  );
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const options = { fetch: app.fetch, port: 0, hostname: '127.0.0.1' };
    const started = serve({ ...options, serverOptions: conformanceServerOptions }, () =>
      resolve(started),
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/clik2pay`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describeAdapterConformance('hono 4 on @hono/node-server', {
  start: (webhooks) => start(webhooks, true),
});

describeAdapterConformance('hono 4 on @hono/node-server, lenient router (strict: false)', {
  start: (webhooks) => start(webhooks, false),
});

it('answers a declared oversized body with core’s 413 through app.fetch, no server needed', async () => {
  const credentials = { username: 'clik2pay', password: 's3cret' };
  const webhooks = createWebhooks({ credentials, allowedIps: ['loopback'] });
  let handled = 0;
  webhooks.onAny(() => {
    handled++;
  });
  const app = new Hono();
  app.all('/hook', createHonoHandler(webhooks, { getPeerAddress: () => '127.0.0.1' }));
  const body = JSON.stringify([{ eventType: 'PAYMENT-COMPLETED', pad: 'x'.repeat(1024 * 1024) }]);
  const response = await app.fetch(
    new Request('http://localhost/hook', {
      method: 'POST',
      headers: {
        authorization: encodeBasicAuth(credentials.username, credentials.password),
        'content-length': String(body.length),
      },
      body,
    }),
  );
  expect(response.status).toBe(413);
  expect(await response.json()).toEqual({
    error: { code: 'PAYLOAD_TOO_LARGE', message: 'The body exceeds the size limit.' },
  });
  expect(handled).toBe(0);
});

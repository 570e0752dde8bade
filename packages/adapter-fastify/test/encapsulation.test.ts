import { createWebhooks, encodeBasicAuth } from '@c2p/core';
import { createEvent } from '@c2p/testing';
import Fastify from 'fastify';
import { afterEach, expect, it } from 'vitest';
import { fastifyWebhooks } from '../src/index.js';

const credentials = { username: 'clik2pay', password: 's3cret' };
const authorization = encodeBasicAuth(credentials.username, credentials.password);
const apps: Array<ReturnType<typeof Fastify>> = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

it("leaves the other routes' JSON parsing, hooks and decorators as they were", async () => {
  const app = Fastify();
  apps.push(app);
  const hooked: string[] = [];
  app.addHook('onRequest', async (request) => {
    hooked.push(request.url);
  });
  app.decorateRequest('tenant', 'shop');
  app.post('/orders', async (request) => ({
    body: request.body,
    tenant: (request as unknown as { tenant: string }).tenant,
  }));
  await app.register(fastifyWebhooks, {
    webhooks: createWebhooks({ credentials, allowedIps: ['loopback'] }),
  });
  await app.ready();

  expect(app.hasContentTypeParser('application/json')).toBe(true);
  expect(app.hasContentTypeParser('text/plain')).toBe(true);
  expect(app.hasContentTypeParser('*')).toBe(false);
  expect(app.hasRequestDecorator('tenant')).toBe(true);

  const orders = await app.inject({ method: 'POST', url: '/orders', payload: { id: 7 } });
  expect(orders.statusCode).toBe(200);
  expect(orders.json()).toEqual({ body: { id: 7 }, tenant: 'shop' });
  // A type only the plugin's own catch-all parser accepts is still refused elsewhere.
  const xml = await app.inject({
    method: 'POST',
    url: '/orders',
    headers: { 'content-type': 'application/xml' },
    payload: '<id>7</id>',
  });
  expect(xml.statusCode).toBe(415);

  const event = createEvent();
  const webhook = await app.inject({
    method: 'POST',
    url: '/webhooks/clik2pay',
    headers: { authorization, 'content-type': 'text/plain' },
    payload: JSON.stringify([event]),
    remoteAddress: '127.0.0.1',
  });
  expect(webhook.statusCode).toBe(200);
  // The user's own hook still sees the plugin's route, as encapsulation intends.
  expect(hooked).toEqual(['/orders', '/orders', '/webhooks/clik2pay']);
});

it("adds no hook to the user's webhooks: failures reach only the hooks they registered", async () => {
  const app = Fastify();
  apps.push(app);
  const webhooks = createWebhooks({ credentials, allowedIps: ['loopback'] });
  const added: string[] = [];
  for (const name of ['onError', 'onDelivery', 'on', 'onAny', 'onUnknown'] as const) {
    const original = webhooks[name].bind(webhooks) as (...args: unknown[]) => unknown;
    (webhooks as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      added.push(name);
      return original(...args);
    };
  }
  await app.register(fastifyWebhooks, { webhooks });
  await app.ready();
  expect(added).toEqual([]);
});

it('answers before any body parser: no content type is refused, no body buffered unauthenticated', async () => {
  const app = Fastify();
  apps.push(app);
  let parsed = 0;
  app.addHook('preParsing', async () => {
    parsed++;
  });
  await app.register(fastifyWebhooks, {
    webhooks: createWebhooks({ credentials, allowedIps: ['loopback'] }),
  });
  const body = JSON.stringify([createEvent()]);
  const codes: number[] = [];
  for (const type of [undefined, '', 'garbage', 'application/xml', 'multipart/form-data']) {
    const response = await app.inject({
      method: 'POST',
      url: '/webhooks/clik2pay',
      headers: { authorization, ...(type === undefined ? {} : { 'content-type': type }) },
      payload: body,
      remoteAddress: '127.0.0.1',
    });
    codes.push(response.statusCode);
  }
  expect(codes).toEqual([200, 200, 200, 200, 200]);
  expect(parsed).toBe(0);
});

it('names a missing webhooks option', async () => {
  const app = Fastify();
  apps.push(app);
  // @ts-expect-error: webhooks is required
  app.register(fastifyWebhooks, {});
  await expect(app.ready()).rejects.toThrow('[@c2p/adapter-fastify] options.webhooks');
});

import { fastifyWebhooks } from '@c2p/adapter-fastify';
import { createWebhooks } from '@c2p/core';
import Fastify from 'fastify';

const credentials = { username: 'clik2pay', password: process.env.C2P_WEBHOOK_PASSWORD ?? '' };
const allowed = createWebhooks({ credentials, allowedIps: ['loopback'] });
const denied = createWebhooks({ credentials, allowedIps: ['production'] });
allowed.on('PAYMENT-COMPLETED', async () => {});
const app = Fastify();
await app.register(fastifyWebhooks, { webhooks: allowed, path: '/allowed' });
await app.register(fastifyWebhooks, { webhooks: denied, path: '/denied' });
await app.listen({ port: 0, host: '127.0.0.1' });
console.log(JSON.stringify({ port: app.server.address().port }));

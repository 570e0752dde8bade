import { createExpressHandler } from '@c2p/adapter-express';
import { createWebhooks } from '@c2p/core';
import express from 'express';

const credentials = { username: 'clik2pay', password: process.env.C2P_WEBHOOK_PASSWORD ?? '' };
const allowed = createWebhooks({ credentials, allowedIps: ['loopback'] });
const denied = createWebhooks({ credentials, allowedIps: ['production'] });
allowed.on('PAYMENT-COMPLETED', async () => {});
const app = express();
app.all('/allowed', createExpressHandler(allowed));
app.all('/denied', createExpressHandler(denied));
const server = app.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }));
});

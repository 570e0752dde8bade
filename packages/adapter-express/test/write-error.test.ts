import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createWebhooks, encodeBasicAuth } from '@c2p/core';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterEach, expect, it } from 'vitest';
import { createExpressHandler } from '../src/index.js';

const credentials = { username: 'clik2pay', password: 's3cret' };
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

// A middleware before the handler already answered, so writing c2p's answer
// throws (ERR_HTTP_HEADERS_SENT). That throw must reach Express's error
// handler, not become an unhandled rejection (which ends a Node process).
it("hands a failure to write the answer to Express's error handlers", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const errors: string[] = [];
  const app = express();
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.writeHead(202).flushHeaders();
    next();
  });
  app.all('/hook', createExpressHandler(createWebhooks({ credentials, allowedIps: ['loopback'] })));
  app.use((error: { code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    errors.push(String(error.code));
    res.end();
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => {
    process.off('unhandledRejection', onUnhandled);
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  const response = await fetch(`http://127.0.0.1:${port}/hook`, {
    method: 'POST',
    headers: { authorization: encodeBasicAuth(credentials.username, credentials.password) },
    body: '[]',
  });
  expect(response.status).toBe(202);
  // Without the error handler's end() the answer never ends: wait a bounded time, not for it.
  for (let waited = 0; errors.length === 0 && waited < 1_000; waited += 10)
    await new Promise((resolve) => setTimeout(resolve, 10));
  expect(errors).toEqual(['ERR_HTTP_HEADERS_SENT']);
  expect(await response.text()).toBe('');
  expect(unhandled).toEqual([]);
});

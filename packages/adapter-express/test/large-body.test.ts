import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { createWebhooks, encodeBasicAuth } from '@c2p/core';
import express from 'express';
import { afterEach, expect, it } from 'vitest';
import { createExpressHandler } from '../src/index.js';

const MiB = 1024 * 1024;
const credentials = { username: 'clik2pay', password: 's3cret' };
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function serve() {
  let handled = 0;
  const webhooks = createWebhooks({ credentials, allowedIps: ['loopback'] });
  webhooks.onAny(() => {
    handled++;
  });
  const app = express();
  app.all('/hook', createExpressHandler(webhooks));
  const server = app.listen(0, '127.0.0.1');
  const sockets: Socket[] = [];
  server.on('connection', (socket) => sockets.push(socket));
  await once(server, 'listening');
  closers.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    handled: () => handled,
    bytesRead: () => sockets.reduce((sum, socket) => sum + socket.bytesRead, 0),
  };
}

/** 200 MiB of a JSON array, made lazily 64 KiB at a time; counts what the client produced. */
function hugeBody() {
  let produced = 0;
  const chunk = new TextEncoder().encode(`${' '.repeat(64 * 1024 - 1)}\n`);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (produced >= 200 * MiB) return controller.close();
      produced += chunk.byteLength;
      controller.enqueue(produced === chunk.byteLength ? new TextEncoder().encode('[') : chunk);
    },
  });
  return { stream, produced: () => produced };
}

it('answers 413 to a streamed 200 MiB body quickly, reading little of it', async () => {
  const server = await serve();
  const body = hugeBody();
  const started = performance.now();
  const response = await fetch(server.url, {
    method: 'POST',
    headers: {
      authorization: encodeBasicAuth(credentials.username, credentials.password),
      'content-type': 'application/json',
    },
    body: body.stream,
    duplex: 'half',
  } as RequestInit);
  expect(response.status).toBe(413);
  expect(await response.json()).toEqual({
    error: { code: 'PAYLOAD_TOO_LARGE', message: 'The body exceeds the size limit.' },
  });
  expect(performance.now() - started).toBeLessThan(2000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  // The 64 KiB limit plus socket and stream buffers, nowhere near 200 MiB.
  expect(server.bytesRead()).toBeLessThan(8 * MiB);
  expect(body.produced()).toBeLessThan(16 * MiB);
  expect(server.handled()).toBe(0);
});

it('answers 413 to a declared 200 MiB body without reading it', async () => {
  const server = await serve();
  const { request } = await import('node:http');
  const req = request(server.url, {
    method: 'POST',
    headers: {
      authorization: encodeBasicAuth(credentials.username, credentials.password),
      'content-type': 'application/json',
      'content-length': String(200 * MiB),
    },
  });
  req.on('error', () => {}); // the server closes while we still write
  let written = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const pump = () => {
    while (written < 200 * MiB && !req.destroyed) {
      written += chunk.byteLength;
      if (!req.write(chunk)) return void req.once('drain', pump);
    }
  };
  pump();
  const [response] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
  let text = '';
  for await (const part of response) text += part;
  expect(response.statusCode).toBe(413);
  expect(JSON.parse(text).error.code).toBe('PAYLOAD_TOO_LARGE');
  expect(response.headers.connection).toBe('close');
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(server.bytesRead()).toBeLessThan(8 * MiB);
  expect(written).toBeLessThan(16 * MiB);
  req.destroy();
});

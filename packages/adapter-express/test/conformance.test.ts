import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Webhooks } from '@c2p/core';
import { describeAdapterConformance } from '@c2p/testing/adapter-conformance';
import express5 from 'express';
import express4 from 'express4';
import { createExpressHandler } from '../src/index.js';

type Parser = 'none' | 'json' | 'raw' | 'text';
const path = '/webhooks/clik2pay';

// Parsers answer every content type here, so the adapter really receives what each one leaves.
function listen(express: typeof express5, parser: Parser, webhooks: Webhooks) {
  const app = express();
  if (parser === 'none') app.all(path, createExpressHandler(webhooks));
  else {
    if (parser === 'json') app.use(express.json());
    if (parser === 'raw') app.use(express.raw({ type: () => true }));
    if (parser === 'text') app.use(express.text({ type: () => true }));
    // app.use (not app.all): a parser's error reaches only middleware mounted with use.
    app.use(path, createExpressHandler(webhooks));
  }
  return start(app.listen(0, '127.0.0.1'));
}

async function start(server: Server) {
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

for (const [version, express] of [
  ['express 5', express5],
  ['express 4', express4],
] as const) {
  for (const parser of ['none', 'json', 'raw', 'text'] as const) {
    describeAdapterConformance(`${version}, body parser: ${parser}`, {
      start: (webhooks) => listen(express, parser, webhooks),
    });
  }
}

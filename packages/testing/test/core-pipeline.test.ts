import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { C2pEvent, SyncWebhooksOptions } from '@c2p/core';
import { createWebhooks, eventTypes } from '@c2p/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createBody } from '../src/create-body.js';
import type { FactoryResourceKind } from '../src/create-event.js';
import { createEvent } from '../src/create-event.js';
import { deliver, deliverMany } from '../src/deliver.js';

// The simulator against core's real pipeline, behind a minimal node:http wiring.
const credentials = { username: 'clik2pay-café', password: 'pa:ss:wörd 🔑' };
const servers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((close) => close()));
});

async function startPipeline(
  options: Partial<SyncWebhooksOptions> = {},
  onEvent: (event: C2pEvent) => void = () => {},
): Promise<{ url: string; processed: C2pEvent[] }> {
  const processed: C2pEvent[] = [];
  const webhooks = createWebhooks({ credentials, allowedIps: ['loopback'], ...options }).onAny(
    (event) => {
      onEvent(event);
      processed.push(event);
    },
  );
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const response = await webhooks.handle({
        method: req.method ?? '',
        header: (name) => {
          const value = req.headers[name];
          return Array.isArray(value) ? value.join(', ') : value;
        },
        body: new Uint8Array(Buffer.concat(chunks)),
        peerAddress: req.socket.remoteAddress,
      });
      res.writeHead(response.status, response.headers);
      res.end(response.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  servers.push(() => new Promise((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/webhooks/clik2pay`, processed };
}

const kinds: FactoryResourceKind[] = ['payment-request', 'payment'];
const fast = { backoffMs: 5, timeoutMs: 2000 } as const;

describe('the simulator against createWebhooks', () => {
  it('delivers every event type and kind, both shapes, with UTF-8 credentials', async () => {
    const { url, processed } = await startPipeline();
    const events = eventTypes.flatMap((eventType) =>
      kinds.map((kind) => createEvent({ eventType, kind })),
    );
    const bodies = events.map((event, i) =>
      createBody(event, { shape: i % 2 ? 'object' : 'array' }),
    );
    const run = await deliverMany({ ...fast, url, ...credentials, bodies });
    expect(run.ok, JSON.stringify(run.deliveries.flatMap((d) => d.attempts))).toBe(true);
    expect(processed.map((e) => [e.eventType, e.kind, e.resource.id])).toEqual(
      events.map((e) => [e.eventType, e.resourceType, e.resource.id]),
    );
  });

  it('processes an event once however many times and however concurrently it arrives', async () => {
    const { url, processed } = await startPipeline();
    const run = await deliverMany({
      ...fast,
      url,
      ...credentials,
      bodies: [createBody(createEvent())],
      times: 5,
      concurrency: 5,
    });
    expect(run.ok).toBe(true);
    expect(processed).toHaveLength(1);
  });

  it('gets a 2xx on the retry after a handler failed', async () => {
    let calls = 0;
    const { url, processed } = await startPipeline({}, () => {
      calls++;
      if (calls === 1) throw new Error('database down');
    });
    const result = await deliver({ ...fast, url, ...credentials, body: createBody(createEvent()) });
    expect(result.attempts.map((a) => a.status)).toEqual([500, 200]);
    expect(processed).toHaveLength(1);
  });

  it('is refused three times with the wrong password', async () => {
    const { url, processed } = await startPipeline();
    const result = await deliver({
      ...fast,
      url,
      username: credentials.username,
      password: 'pa:ss:word',
      body: createBody(createEvent()),
    });
    expect(result.attempts.map((a) => a.status)).toEqual([401, 401, 401]);
    expect(processed).toHaveLength(0);
  });

  it('passes the allowlist only through a trusted proxy with X-Forwarded-For', async () => {
    const { url } = await startPipeline({
      allowedIps: ['production'],
      trustedProxies: ['127.0.0.1/32'],
    });
    const body = createBody(createEvent());
    const direct = await deliver({ ...fast, url, ...credentials, body, attempts: 1 });
    expect(direct.attempts[0]?.status).toBe(403);
    const proxied = await deliver({
      ...fast,
      url,
      ...credentials,
      body,
      forwardedFor: '3.99.39.224',
    });
    expect(proxied.attempts.map((a) => a.status)).toEqual([200]);
  });
});

/// <reference types="node" />
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { fromNodeRequest, writeNodeResponse } from '../src/node.js';
import type { WebhookRequest } from '../src/webhook-request.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server that hands each request to `decide` and writes its answer with writeNodeResponse. */
async function serve(decide: (request: WebhookRequest, req: IncomingMessage) => Promise<string>) {
  const server = createServer((req, res) => {
    const request = fromNodeRequest(req);
    decide(request, req).then((body) =>
      writeNodeResponse(req, res, { status: 200, headers: { 'content-type': 'text/plain' }, body }),
    );
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Sends raw HTTP/1.1 and answers the raw response, read until the server closes or 300 ms pass. */
async function raw(port: number, text: string): Promise<string> {
  const { connect } = await import('node:net');
  const socket = connect(port, '127.0.0.1');
  socket.write(text);
  let out = '';
  socket.on('data', (chunk) => {
    out += chunk;
  });
  await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 300))]);
  socket.destroy();
  return out;
}

it('joins a repeated header in the order sent, so two Authorization headers are not one', async () => {
  const port = await serve(async (request) =>
    JSON.stringify([
      request.header('authorization'),
      request.header('x-forwarded-for'),
      request.header('x-missing'),
    ]),
  );
  const answer = await raw(
    port,
    'GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic a\r\nX-Forwarded-For: 1.1.1.1\r\nauthorization: Basic b\r\nX-Forwarded-For: 2.2.2.2\r\nConnection: close\r\n\r\n',
  );
  expect(answer.endsWith('["Basic a, Basic b","1.1.1.1, 2.2.2.2",null]')).toBe(true);
});

it('gives the method and the socket peer', async () => {
  const port = await serve(async (request) => `${request.method} ${request.peerAddress}`);
  const answer = await raw(port, 'DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(answer).toMatch(/DELETE (::ffff:)?127\.0\.0\.1$/);
});

it('reads the body only when asked, within the limit', async () => {
  const port = await serve(async (request) => {
    const read = request.body as (max: number) => Promise<Uint8Array>;
    try {
      return new TextDecoder().decode(await read(5));
    } catch (error) {
      return (error as { code?: string }).code ?? 'thrown';
    }
  });
  const post = (body: string) =>
    raw(
      port,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
  expect((await post('12345')).endsWith('12345')).toBe(true);
  expect((await post('123456')).endsWith('PAYLOAD_TOO_LARGE')).toBe(true);
});

it('closes the connection once answered when the body was left unread, and keeps it otherwise', async () => {
  const port = await serve(async (request, req) => {
    if (req.url === '/read') await (request.body as (max: number) => Promise<Uint8Array>)(2000);
    return 'ok';
  });
  const send = (path: string) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest({
        port,
        host: '127.0.0.1',
        path,
        method: 'POST',
        headers: { 'content-length': '1000' },
      });
      req.on('response', resolve).on('error', reject);
      // Half the declared body: whoever does not read it cannot finish it.
      req.write('x'.repeat(500));
      if (path === '/read') req.end('x'.repeat(500));
    });
  const unread = await send('/unread');
  expect(unread.headers.connection).toBe('close');
  unread.destroy();
  const read = await send('/read');
  expect(read.headers.connection).toBe('keep-alive');
  read.destroy();
});

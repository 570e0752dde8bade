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

/** A server whose handler gets the raw request and answers the text `handle` resolves to. */
async function serveRaw(handle: (req: IncomingMessage) => Promise<string>) {
  const server = createServer((req, res) => {
    handle(req).then((body) => {
      if (!res.destroyed) res.end(body);
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** What reading the body within `max` gives: its text, the error's code or message, or `hung`. */
async function readOutcome(request: WebhookRequest, max: number): Promise<string> {
  const read = (request.body as (max: number) => Promise<Uint8Array>)(max);
  const hung = new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 1_000));
  return Promise.race([
    read.then(
      (bytes) => `read ${new TextDecoder().decode(bytes)}`,
      (error: { code?: string; message?: string }) => `rejected ${error.code ?? error.message}`,
    ),
    hung,
  ]);
}

it('matches a header by its whole name, not by its length', async () => {
  const port = await serveRaw(async (req) => {
    const request = fromNodeRequest(req);
    // cache-control has as many letters as authorization.
    return JSON.stringify([request.header('authorization'), request.header('cache-control')]);
  });
  const answer = await raw(
    port,
    'GET / HTTP/1.1\r\nHost: x\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n',
  );
  expect(answer.endsWith('[null,"no-cache"]')).toBe(true);
});

it('takes the peer address given, even an undefined one, over the socket', async () => {
  const port = await serveRaw(async (req) =>
    JSON.stringify([
      fromNodeRequest(req, { peerAddress: '203.0.113.9' }).peerAddress,
      fromNodeRequest(req, { peerAddress: undefined }).peerAddress ?? 'none',
      fromNodeRequest(req, {}).peerAddress?.replace('::ffff:', ''),
    ]),
  );
  const answer = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(answer.endsWith('["203.0.113.9","none","127.0.0.1"]')).toBe(true);
});

it('reads a request object without method or socket (an injected one) as such', () => {
  const injected = { rawHeaders: [] } as unknown as IncomingMessage;
  const request = fromNodeRequest(injected, { body: '{}' });
  expect([request.method, request.peerAddress, request.body]).toEqual(['', undefined, '{}']);
});

it('joins a body sent in several chunks, and counts text chunks in UTF-8 bytes', async () => {
  const port = await serveRaw(async (req) => {
    if (req.url === '/text') req.setEncoding('utf8');
    const max = Number(req.headers['x-max']);
    return readOutcome(fromNodeRequest(req), max);
  });
  const post = async (path: string, parts: string[], max: number) => {
    const { connect } = await import('node:net');
    const socket = connect(port, '127.0.0.1');
    const length = Buffer.byteLength(parts.join(''));
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Max: ${max}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`,
    );
    for (const part of parts) {
      await new Promise((r) => setTimeout(r, 30));
      socket.write(part);
    }
    let out = '';
    socket.on('data', (chunk) => {
      out += chunk;
    });
    await once(socket, 'close');
    return out;
  };
  expect((await post('/bytes', ['abc', 'def', 'gh'], 100)).endsWith('read abcdefgh')).toBe(true);
  expect((await post('/text', ['hé', 'llo'], 6)).endsWith('read héllo')).toBe(true);
  // Six bytes in five characters: one past a limit of 5.
  expect((await post('/text', ['hé', 'llo'], 5)).endsWith('rejected PAYLOAD_TOO_LARGE')).toBe(true);
});

it('rejects a read the request ends early, whether it closes, fails or was already destroyed', async () => {
  const results: string[] = [];
  const port = await serveRaw(async (req) => {
    const request = fromNodeRequest(req);
    const reading = readOutcome(request, 100);
    if (req.url === '/close') req.destroy();
    else if (req.url === '/error') req.destroy(new Error('socket reset'));
    const outcome = await reading;
    const after = req.url === '/close' ? await readOutcome(request, 100) : '';
    results.push(`${outcome}|${after}`);
    return outcome;
  });
  const send = (path: string) =>
    raw(port, `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc`);
  await send('/close');
  await send('/error');
  const deadline = Date.now() + 3_000;
  while (results.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(results).toEqual([
    'rejected the request closed before its body ended|rejected the request closed before its body ended',
    'rejected socket reset|',
  ]);
});

it('hands over the bytes as sent, invalid UTF-8 included', async () => {
  const port = await serveRaw(async (req) => {
    const bytes = await (fromNodeRequest(req).body as (max: number) => Promise<Uint8Array>)(100);
    return Buffer.from(bytes).toString('hex');
  });
  const { connect } = await import('node:net');
  const socket = connect(port, '127.0.0.1');
  socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n');
  socket.write(Buffer.from([0x22, 0xff, 0x22]));
  let out = '';
  socket.on('data', (chunk) => {
    out += chunk;
  });
  await once(socket, 'close');
  expect(out.endsWith('22ff22')).toBe(true);
});

it('answers empty bytes when the body was read to its end already', async () => {
  const port = await serveRaw(async (req) => {
    const request = fromNodeRequest(req);
    const first = await readOutcome(request, 100);
    return `${first}; ${await readOutcome(request, 100)}`;
  });
  const answer = await raw(
    port,
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
  );
  expect(answer.endsWith('read abc; read ')).toBe(true);
});

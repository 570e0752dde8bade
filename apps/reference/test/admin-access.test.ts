import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningReference, startReference } from './support/reference.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with whatever Host and headers a hostile page or tool would send (fetch forbids setting Host). */
function send(
  url: string,
  options: { method?: string; host?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        hostname: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        setHost: options.host === undefined,
        headers: {
          ...(options.host === undefined ? {} : { host: options.host }),
          ...options.headers,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Writes a request as raw bytes (fetch and node:http cannot repeat `Host` or
 * send an absolute-form target) and answers the status of the response.
 */
async function rawStatus(url: string, head: string): Promise<number> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let answer = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => {
    answer += chunk;
  });
  const closed = new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
  socket.write(`${head.split('\n').join('\r\n')}\r\nConnection: close\r\n\r\n`, 'latin1');
  const timer = setTimeout(() => socket.destroy(new Error(`no answer: ${head}`)), 5_000);
  await closed.finally(() => clearTimeout(timer));
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1] ?? 0);
}

const routes = ['/', '/api/events', '/api/orders', '/api/orders/x', '/healthz', '/admin.js'];

describe('the admin answers only at its own address', () => {
  let app: RunningReference;
  let port: string;
  beforeAll(async () => {
    app = await startReference({ C2P_STORE: 'memory' });
    port = new URL(app.adminUrl).port;
  });
  afterAll(async () => {
    expect(await app.stop()).toBe(0);
  });

  it('serves localhost, 127.0.0.1 and [::1] with its port', async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LOCALHOST:${port}`,
      `[::1]:${port}`,
    ]) {
      expect((await send(new URL('/api/orders', app.adminUrl).href, { host })).status, host).toBe(
        200,
      );
    }
  });

  it('refuses any other Host with 421, on every route, saying nothing else', async () => {
    const hosts = [
      'evil.example',
      `evil.example:${port}`,
      // DNS rebinding: the attacker's name, resolved to 127.0.0.1, on the admin's port.
      `rebind.attacker.example:${port}`,
      `localhost.attacker.example:${port}`,
      `127.0.0.1.nip.io:${port}`,
      `127.0.0.1:${Number(port) + 1}`,
      `127.0.0.1:${port}@evil.example`,
      '127.0.0.1',
      `[::2]:${port}`,
      '',
    ];
    for (const host of hosts) {
      for (const route of routes) {
        const answer = await send(new URL(route, app.adminUrl).href, { host });
        expect(answer.status, `${host} ${route}`).toBe(421);
        expect(JSON.parse(answer.body)).toEqual({
          error: {
            code: 'MISDIRECTED_REQUEST',
            message: 'This admin answers only at its own address.',
          },
        });
      }
    }
  });

  it('refuses a repeated Host, an absolute-form target naming another host, and a port with a leading zero (421)', async () => {
    const own = `127.0.0.1:${port}`;
    const at = (head: string) => rawStatus(app.adminUrl, head);
    // The same bytes with one plain Host are served: only what is added is refused.
    expect(await at(`GET /api/orders HTTP/1.1\nHost: ${own}`)).toBe(200);
    expect(await at(`GET http://${own}/api/orders HTTP/1.1\nHost: ${own}`)).toBe(200);
    expect(await at(`GET /api/orders HTTP/1.1\nHost: ${own}\nHost: evil.example`)).toBe(421);
    expect(await at(`GET /api/orders HTTP/1.1\nHost: ${own}\nHost: ${own}`)).toBe(421);
    expect(await at(`GET http://evil.example/api/orders HTTP/1.1\nHost: ${own}`)).toBe(421);
    expect(await at(`GET http://localhost:${port}/api/orders HTTP/1.1\nHost: ${own}`)).toBe(421);
    expect(await at(`GET /api/orders HTTP/1.1\nHost: 127.0.0.1:0${port}`)).toBe(421);
  });

  it('refuses a cross-origin write (403) before anything else, and lets a same-origin one reach the route', async () => {
    const url = new URL('/api/orders', app.adminUrl).href;
    const own = `http://127.0.0.1:${port}`;
    const foreign: Array<Record<string, string>> = [
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { origin: `http://localhost:${port}` }, // another origin than the one addressed
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: own, 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of foreign) {
      const answer = await send(url, { method: 'POST', headers });
      expect(answer.status, JSON.stringify(headers)).toBe(403);
      expect(JSON.parse(answer.body).error.code).toBe('CROSS_ORIGIN');
    }
    const same: Array<Record<string, string>> = [
      { origin: own },
      { origin: own, 'sec-fetch-site': 'same-origin' },
      {},
    ];
    for (const headers of same) {
      // The same-origin request reaches the route (POST /api/orders), which wants a JSON body.
      expect((await send(url, { method: 'POST', headers })).status, JSON.stringify(headers)).toBe(
        415,
      );
    }
  });
});

describe('the admin with ADMIN_TOKEN', () => {
  // With characters a cookie cannot hold as they are.
  const token = 'a-long;admin=token,for"tests';
  let app: RunningReference;
  let port: string;
  beforeAll(async () => {
    app = await startReference({ C2P_STORE: 'memory', ADMIN_TOKEN: token });
    port = new URL(app.adminUrl).port;
  });
  afterAll(async () => {
    expect(await app.stop()).toBe(0);
  });

  it('refuses every route but /healthz without the token (401, Bearer challenge)', async () => {
    for (const route of routes.filter((r) => r !== '/healthz')) {
      for (const authorization of [
        undefined,
        'Bearer wrong-token-wrong-token',
        `Basic ${token}`,
        `Bearer ${token}x`,
      ]) {
        const answer = await send(new URL(route, app.adminUrl).href, {
          headers: authorization ? { authorization } : {},
        });
        expect(answer.status, `${route} ${authorization}`).toBe(401);
        expect(answer.headers['www-authenticate']).toBe('Bearer realm="c2p-admin"');
        expect(answer.body).not.toContain(token);
      }
    }
    expect((await send(new URL('/healthz', app.adminUrl).href)).status).toBe(200);
  });

  it('serves with the bearer token, and never for a foreign Host even with it', async () => {
    const url = new URL('/api/orders', app.adminUrl).href;
    expect((await send(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await send(url, { headers: { authorization: `bearer ${token}` } })).status).toBe(200);
    expect(
      (
        await send(url, {
          host: `evil.example:${port}`,
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    ).toBe(421);
  });

  it('lets a browser in through /?token=, which sets an HttpOnly cookie and drops the token from the address', async () => {
    const wrong = await send(new URL('/?token=not-the-token-at-all', app.adminUrl).href);
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const login = await send(new URL(`/?token=${encodeURIComponent(token)}`, app.adminUrl).href);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/');
    const cookie = (login.headers['set-cookie'] as string[])[0] as string;
    expect(cookie).toMatch(/^c2p_admin_token=.+; HttpOnly; SameSite=Strict; Path=\/$/);
    const page = await send(app.adminUrl, { headers: { cookie: cookie.split(';')[0] as string } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<h1>c2p reference</h1>');
  });
});

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// A second fake of Clik2pay, written here apart from `c2p mock` so the client is not
// tuned to one: it answers a create with the id alone, sends expires_in as a string and
// token_type in lower case, adds unknown fields to a read, and lets a test script any
// answer and see every request with the time it arrived.

/** One request the fake received. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** performance.now() when its body had arrived. */
  at: number;
}

/** Decides an API answer instead of the fake's own: return undefined to let it answer. */
export type Script = (request: SeenRequest, res: ServerResponse) => boolean | Promise<boolean>;

export interface FakeClik2pay {
  url: string;
  baseUrl: string;
  tokenUrl: string;
  username: string;
  password: string;
  apiKey: string;
  requests: SeenRequest[];
  /** Tokens issued, in order. */
  tokens: string[];
  /** Replaces the answer to API calls (not token calls) while it returns true. */
  script: Script | undefined;
  /** Replaces the answer to token calls while it returns true. */
  tokenScript: Script | undefined;
  /** Tokens issued so far are refused from now on. */
  revokeTokens(): void;
  setStatus(id: string, status: string): void;
  close(): Promise<void>;
}

export interface FakeOptions {
  /** expires_in, seconds. Defaults to 3600. */
  expiresInS?: number;
}

function send(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export async function startFakeClik2pay(options: FakeOptions = {}): Promise<FakeClik2pay> {
  const requests: SeenRequest[] = [];
  const tokens: string[] = [];
  const valid = new Set<string>();
  const stored = new Map<string, Record<string, unknown>>();
  const fake = {
    username: 'api-user',
    password: 'api:pässword',
    apiKey: `key-${randomUUID()}`,
    requests,
    tokens,
    script: undefined as Script | undefined,
    tokenScript: undefined as Script | undefined,
  };
  const expected = `Basic ${Buffer.from(`${fake.username}:${fake.password}`).toString('base64')}`;

  const answer = async (seen: SeenRequest, res: ServerResponse): Promise<void> => {
    if (seen.path === '/auth/token') {
      if (fake.tokenScript && (await fake.tokenScript(seen, res))) return;
      const form = new URLSearchParams(seen.body);
      const ok =
        seen.method === 'POST' &&
        seen.headers.authorization === expected &&
        seen.headers['content-type'] === 'application/x-www-form-urlencoded' &&
        form.get('grant_type') === 'client_credentials' &&
        form.get('scope') === 'payment_request/all';
      if (!ok) return send(res, 400, { error: 'invalid_client' });
      const token = randomUUID();
      tokens.push(token);
      valid.add(token);
      return send(res, 200, {
        access_token: token,
        expires_in: String(options.expiresInS ?? 3600),
        token_type: 'bearer',
      });
    }
    if (fake.script && (await fake.script(seen, res))) return;
    if (seen.headers['x-api-key'] !== fake.apiKey) return send(res, 403, { message: 'Forbidden' });
    const bearer = /^Bearer (.+)$/.exec(seen.headers.authorization ?? '')?.[1];
    if (bearer === undefined || !valid.has(bearer)) return send(res, 401, { message: 'expired' });
    if (seen.method === 'POST' && seen.path === '/api/payment-requests') {
      const id = randomUUID();
      stored.set(id, { ...JSON.parse(seen.body), id, status: 'CREATED', paymentLink: 'x' });
      return send(res, 201, { id });
    }
    const id = /^\/api\/payment-requests\/([^/]+)$/.exec(seen.path)?.[1];
    const found = seen.method === 'GET' && id !== undefined ? stored.get(id) : undefined;
    if (found === undefined) return send(res, 404, { message: 'not found' });
    return send(res, 200, { ...found, unknownField: { nested: true } });
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      };
      requests.push(seen);
      void answer(seen, res).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(fake, {
    url,
    baseUrl: `${url}/api`,
    tokenUrl: `${url}/auth/token`,
    revokeTokens: () => valid.clear(),
    setStatus: (id: string, status: string) => {
      const found = stored.get(id);
      if (found) found.status = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

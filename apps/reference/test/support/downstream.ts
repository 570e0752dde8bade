import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The merchant's order system (`C2P_FULFIL_URL`), as a real HTTP server the app calls. */
export interface Downstream {
  url: string;
  /** `ok` answers 201, `fail` answers {@link Downstream.failStatus}. */
  mode: 'ok' | 'fail';
  /** The status of a `fail` answer: 503 unless a test sets another (a 4xx, say). */
  failStatus: number;
  /** How long each answer waits, in ms. */
  delayMs: number;
  /** Requests received so far, answered or not. */
  received: number;
  /** Requests answered, in the order answered. */
  calls: Array<{ key: string; status: number; body: Record<string, unknown> }>;
  /** The keys of the calls answered 2xx. */
  fulfilled(): string[];
  close(): Promise<void>;
}

export async function startDownstream(): Promise<Downstream> {
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (c: string) => {
      text += c;
    });
    req.on('end', () => {
      downstream.received += 1;
      const status = downstream.mode === 'ok' ? 201 : downstream.failStatus;
      const headers: IncomingHttpHeaders = req.headers;
      setTimeout(() => {
        downstream.calls.push({
          key: String(headers['idempotency-key']),
          status,
          body: JSON.parse(text) as Record<string, unknown>,
        });
        res.writeHead(status).end();
      }, downstream.delayMs);
    });
  });
  const downstream: Downstream = {
    url: '',
    mode: 'ok',
    failStatus: 503,
    delayMs: 0,
    received: 0,
    calls: [],
    fulfilled: () =>
      downstream.calls.filter((c) => c.status >= 200 && c.status < 300).map((c) => c.key),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  downstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders/fulfil`;
  return downstream;
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP receiver for `C2P_ALERT_URL` that can fail its first requests. */
export interface AlertReceiver {
  url: string;
  /** How many of the next requests answer 503. */
  failNext: number;
  /** Every POST received, answered 2xx or not. */
  posts: Array<{
    status: number;
    body: { alert: string; id: string; text: string } & Record<string, unknown>;
  }>;
  /** The alerts answered 2xx, in order. */
  delivered(): Array<{ alert: string; id: string; text: string } & Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startAlertReceiver(): Promise<AlertReceiver> {
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => {
      const status = receiver.failNext > 0 ? 503 : 200;
      if (receiver.failNext > 0) receiver.failNext -= 1;
      receiver.posts.push({ status, body: JSON.parse(text) });
      res.writeHead(status).end();
    });
  });
  const receiver: AlertReceiver = {
    url: '',
    failNext: 0,
    posts: [],
    delivered: () => receiver.posts.filter((p) => p.status === 200).map((p) => p.body),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
  return receiver;
}

/** A loopback port nobody listens on (yet): connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An order system answering 201 on `port`, from now on. */
export async function orderSystemOn(
  port: number,
): Promise<{ calls: number; close(): Promise<void> }> {
  const state = { calls: 0 };
  const server = createServer((req, res) => {
    req.resume().on('end', () => {
      state.calls += 1;
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    get calls() {
      return state.calls;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

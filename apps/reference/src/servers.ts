import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ConfigError } from './config.js';

/** A started server and how to stop it. */
export interface RunningServer {
  server: Server;
  /** The URL it answers on, with the port it really got. */
  origin: string;
  /** The port it really got (the setting may be `0`). */
  port: number;
  /** Stops accepting, lets in-flight requests finish, then closes. */
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Names the port setting in start-up errors, e.g. `EXPRESS_PORT`. */
  setting: string;
  port: number;
  host: string | undefined;
  tls: { cert: Buffer; key: Buffer } | undefined;
  /** How long in-flight requests get at shutdown before their connections are cut. Defaults to 10 s. */
  graceMs?: number;
}

/** Creates the HTTP or HTTPS server every listener uses, so TLS is configured once. */
export function createNodeServer(tls: ServeOptions['tls'], listener?: RequestListener): Server {
  const server = tls
    ? (createHttpsServer({ cert: tls.cert, key: tls.key }, listener) as unknown as Server)
    : createHttpServer(listener);
  // Slow-loris bounds: a delivery is small and Clik2pay answers quickly.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return server;
}

/** Listens, translating the usual failures into one line naming the port setting. */
export async function listen(server: Server, options: ServeOptions): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const port = options.port;
      if (error.code === 'EADDRINUSE') {
        reject(new ConfigError(`${options.setting}: ${port} is already in use`));
      } else if (error.code === 'EACCES') {
        reject(
          new ConfigError(
            `${options.setting}: ${port} needs privileges to bind (see the README on port 443)`,
          ),
        );
      } else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
        reject(
          new ConfigError(
            `${options.setting}: cannot bind to host "${options.host}" (${error.code})`,
          ),
        );
      } else reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options.port, options.host);
  });
  const address = server.address() as AddressInfo;
  const scheme = options.tls ? 'https' : 'http';
  const shown =
    options.host === undefined || options.host === '0.0.0.0' || options.host === '::'
      ? 'localhost'
      : options.host.includes(':')
        ? `[${options.host}]`
        : options.host;
  return {
    server,
    origin: `${scheme}://${shown}:${address.port}`,
    port: address.port,
    close: () => closeGracefully(server, options.graceMs ?? 10_000),
  };
}

function closeGracefully(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    // Keep-alive connections would hold close() open: cut each as soon as it is idle.
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    server.close(() => {
      clearTimeout(force);
      clearInterval(idle);
      resolve();
    });
    server.closeIdleConnections();
  });
}

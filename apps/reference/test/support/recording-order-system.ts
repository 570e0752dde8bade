import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The merchant's order system (`C2P_FULFIL_URL`) as a real HTTP server that
 * records when each call arrived and how many were in flight at once.
 */
export interface RecordingOrderSystem {
  url: string;
  /** Answers 201 when `true`, 503 otherwise. */
  accepting: boolean;
  /** How long each answer waits, in ms. */
  delayMs: number;
  /** When each call arrived (`performance.now()`), in arrival order. */
  readonly arrivals: number[];
  /** The Idempotency-Key of each call, in arrival order. */
  readonly keys: string[];
  /** The most calls in flight at one moment. */
  readonly mostInFlight: number;
  close(): Promise<void>;
}

export async function startRecordingOrderSystem(): Promise<RecordingOrderSystem> {
  let inFlight = 0;
  let mostInFlight = 0;
  const arrivals: number[] = [];
  const keys: string[] = [];
  const server: Server = createServer((request, response) => {
    arrivals.push(performance.now());
    keys.push(String(request.headers['idempotency-key'] ?? ''));
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    request.resume();
    request.on('end', () => {
      setTimeout(() => {
        inFlight--;
        response.writeHead(system.accepting ? 201 : 503).end();
      }, system.delayMs);
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const system: RecordingOrderSystem = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders/fulfil`,
    accepting: true,
    delayMs: 0,
    arrivals,
    keys,
    get mostInFlight() {
      return mostInFlight;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return system;
}

/** The most of `times` (ms) in any window of `windowMs`, sliding. */
export function mostInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/**
 * The SQLite files deleted under a running listener (issue 12, defect 5): writes
 * would go to the unlinked file and vanish at the next restart, so from then on
 * nothing may be acknowledged. Seen from outside, as a user runs the app: a
 * child process on a SQLite file in a temporary directory, driven over HTTP.
 *
 * - before: a delivery is answered 200 and `/healthz` 200;
 * - after `reference.db`, `-wal` and `-shm` are deleted: `/healthz` answers 503
 *   on every listener and the admin, and a new delivery 503 STORE_UNAVAILABLE
 *   on every listener (never a 2xx), in inbox and in sync mode.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createBody, createEvent, deliver } from '@c2p/testing';
import { describe, expect, it } from 'vitest';
import {
  credentials,
  type RunningReference,
  startReference,
  tempDir,
} from './support/reference.js';

const listeners = ['express', 'fastify', 'hono'] as const;

async function send(url: string, id: string): Promise<{ status: number; body: string }> {
  const result = await deliver({
    url,
    ...credentials,
    body: createBody(createEvent({ id })),
    attempts: 1,
  });
  const [attempt] = result.attempts;
  return { status: attempt?.status ?? 0, body: attempt?.responseBody ?? '' };
}

async function health(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

const healthUrls = (app: RunningReference): string[] => [
  ...listeners.map((name) => new URL('/healthz', app.webhookUrls[name]).href),
  new URL('healthz', app.adminUrl).href,
];

describe.each(['inbox', 'sync'] as const)(
  'the SQLite files deleted under a running listener (C2P_MODE=%s)',
  (mode) => {
    it('answers /healthz 503 and every new delivery 503, never 200', async () => {
      const dir = tempDir();
      const file = join(dir.path, 'reference.db');
      const app = await startReference({ C2P_STORE: `sqlite:${file}`, C2P_MODE: mode });
      try {
        const before = await send(app.webhookUrls.fastify, crypto.randomUUID());
        expect(before.status).toBe(200);
        for (const url of healthUrls(app)) expect((await health(url)).status, url).toBe(200);

        const deleted = [file, `${file}-wal`, `${file}-shm`].filter((path) => existsSync(path));
        expect(deleted).toContain(file);
        for (const path of deleted) rmSync(path);

        const healthAfter = await Promise.all(healthUrls(app).map(health));
        for (const answer of healthAfter) {
          expect(answer).toEqual({
            status: 503,
            body: { status: 'unavailable', store: 'sqlite', mode },
          });
        }
        const deliveriesAfter: Array<{ listener: string; status: number; body: string }> = [];
        for (const name of listeners) {
          deliveriesAfter.push({
            listener: name,
            ...(await send(app.webhookUrls[name], crypto.randomUUID())),
          });
        }
        for (const answer of deliveriesAfter) {
          expect(answer.status, answer.listener).toBe(503);
          expect(JSON.parse(answer.body), answer.listener).toMatchObject({
            error: { code: 'STORE_UNAVAILABLE' },
          });
        }
        // Still alive and still refusing: the process did not exit, nothing was acknowledged.
        expect(app.child.exitCode).toBeNull();
        expect((await health(healthUrls(app)[0] as string)).status).toBe(503);
        const count = (list: Array<{ status: number }>, status: number): number =>
          list.filter((a) => a.status === status).length;
        console.log(
          `[deleted sqlite, ${mode}] before: delivery ${before.status}; deleted ${deleted.length} files ` +
            `(${deleted.map((p) => p.slice(dir.path.length + 1)).join(', ')}); after: ` +
            `/healthz 503 on ${count(healthAfter, 503)}/${healthAfter.length} (listeners and admin), ` +
            `deliveries 503 on ${count(deliveriesAfter, 503)}/${deliveriesAfter.length}, 2xx ${deliveriesAfter.filter((a) => a.status < 300).length}`,
        );
      } finally {
        expect(await app.stop()).toBe(0);
        dir.remove();
      }
    });
  },
);

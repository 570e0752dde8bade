/**
 * The SQLite store's disk fills up under an inbox-mode listener that is never
 * restarted. The database lives on a 4 MiB tmpfs this test mounts itself (as
 * root, as `mount` needs; it fails, never skips, where it cannot mount), and
 * filler files take all but 256 KiB of it while deliveries go on.
 *
 * - once the disk is full, deliveries answer 503 (only 2xx and 503, ever), and
 *   `/healthz` (the listener's and the admin's) answers 503 naming the store:
 *   reads still work on a full disk, so a health check that only read said "ok";
 * - 512 KiB is freed (one filler removed; the other stays) while deliveries go
 *   on at 10/s: the events answered 2xx while the disk filled are processed,
 *   with no restart, and so is every one answered 2xx meanwhile; `/healthz`
 *   answers 200 and a new delivery is processed. Before, the WAL took the
 *   freed space before it could be checkpointed and the events stayed stuck.
 *
 * The order system answers 503 while the disk fills, so the events accepted
 * then are all still unprocessed when space returns: each needs writes to finish.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBody, createEvent } from '@c2p/testing';
import { afterAll, expect, it } from 'vitest';
import {
  credentials,
  type Expectation,
  readOrder,
  requireInbox,
  settleOrders,
  sleep,
  startDownstream,
  supervise,
} from './support/faults.js';

/** Deliveries answered 503 in a row that say the disk is full. */
const refusedInARow = 5;
/** The most deliveries sent while filling (bounded; about 20 fill the space left). */
const maxFilling = 2_000;
/** The space freed once the disk is full: less than the WAL grows to meanwhile. */
const spareBytes = 512 * 1024;
/** Deliveries per second once space is back, at least `minRecovery`, at most `maxRecovery`. */
const recoveryPerSecond = 10;
const minRecovery = 20;
const maxRecovery = 500;

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Mounts a tmpfs of `size` at a new directory; fails (with why) where it cannot. */
function mountTmpfs(size: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'c2p-fault-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`this test mounts a ${size} tmpfs and cannot (run it as root): ${error}`);
  }
  cleanups.push(() => {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const freeBytes = (dir: string): number => {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
};

it('SQLite on a full disk (inbox mode): 503 and /healthz 503 while full, no 2xx lost; space freed, the accepted events are processed without a restart', async () => {
  const disk = mountTmpfs('4m');
  mkdirSync(join(disk, 'data'));
  const database = join(disk, 'data', 'reference.db');
  const downstream = await startDownstream();
  cleanups.push(downstream.close);
  const listener = await supervise({
    adapter: 'fastify',
    env: {
      C2P_STORE: `sqlite:${database}`,
      C2P_MODE: 'inbox',
      C2P_FULFIL_URL: downstream.url,
      // The order system answers 503 while the disk fills, so the breaker (on by default)
      // would open and hold attempts 30 s after the space returns: this test is about the
      // store's recovery, which the breaker would only delay. See the README.
      C2P_BREAKER: 'off',
    },
  });
  cleanups.push(async () => {
    await listener.stop();
  });
  await requireInbox(listener.adminUrl);
  const pid = listener.pid;
  const health = async (): Promise<{ listener: number; admin: number; body: string }> => {
    const [fromListener, fromAdmin] = await Promise.all([
      fetch(new URL('/healthz', listener.webhookUrl)),
      fetch(new URL('healthz', listener.adminUrl)),
    ]);
    await fromListener.arrayBuffer();
    return { listener: fromListener.status, admin: fromAdmin.status, body: await fromAdmin.text() };
  };
  const authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const send = async (id: string): Promise<number> => {
    const response = await fetch(listener.webhookUrl, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify(createBody(createEvent({ id }))),
    });
    await response.arrayBuffer();
    return response.status;
  };
  expect((await health()).listener).toBe(200);

  // The order system fails meanwhile: what is accepted now stays unprocessed.
  downstream.status = 503;
  // A filler that stays, and a small one freed later: "a little space" returns.
  const spare = join(disk, 'spare');
  writeFileSync(spare, Buffer.alloc(spareBytes));
  writeFileSync(join(disk, 'filler'), Buffer.alloc(Math.max(0, freeBytes(disk) - 256 * 1024)));

  const accepted = new Map<string, Expectation>();
  const statuses = new Map<number, number>();
  let inARow = 0;
  for (let i = 0; i < maxFilling && inARow < refusedInARow; i++) {
    const id = randomUUID();
    const status = await send(id);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status >= 200 && status < 300) accepted.set(id, 'paid');
    inARow = status === 503 ? inARow + 1 : 0;
  }
  const healthWhenFull = await health();
  const walWhenFull = statSync(`${database}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  // Reads work on a full disk: the accepted orders are there, none fulfilled yet.
  let unprocessedWhenFull = 0;
  for (const id of accepted.keys()) {
    const view = await readOrder(listener.adminUrl, id);
    if (view?.fulfilments !== 1) unprocessedWhenFull++;
  }

  // Space returns; the order system too.
  downstream.status = 200;
  rmSync(spare);
  const freedAt = performance.now();
  // Deliveries go on meanwhile (Clik2pay retries, new payments), each one a
  // write on the freed space: until the events answered while full are processed.
  const beforeSpace = new Map(accepted);
  const recovery = new Map<number, number>();
  let sending = true;
  const traffic = (async () => {
    for (let i = 0; i < maxRecovery && (sending || i < minRecovery); i++) {
      const id = randomUUID();
      const status = await send(id);
      recovery.set(status, (recovery.get(status) ?? 0) + 1);
      if (status >= 200 && status < 300) accepted.set(id, 'paid');
      await sleep(1000 / recoveryPerSecond);
    }
  })();
  const firstViews = await settleOrders(listener.adminUrl, beforeSpace, 25_000);
  const processedMs = performance.now() - freedAt;
  sending = false;
  await traffic;
  const views = await settleOrders(listener.adminUrl, accepted, 15_000);
  let unprocessedFirst = 0;
  for (const id of beforeSpace.keys()) {
    const view = firstViews.get(id);
    if (view?.state !== 'paid' || view.fulfilments !== 1) unprocessedFirst++;
  }
  let unprocessed = 0;
  for (const id of accepted.keys()) {
    const view = views.get(id);
    if (view?.state !== 'paid' || view.fulfilments !== 1) unprocessed++;
  }
  let after = await health();
  // /healthz says 503 for 5 s after the last write that failed for want of space.
  for (let i = 0; i < 40 && (after.listener !== 200 || after.admin !== 200); i++) {
    await sleep(250);
    after = await health();
  }
  const lateId = randomUUID();
  const late = await send(lateId);
  const lateViews = await settleOrders(listener.adminUrl, new Map([[lateId, 'paid']]), 10_000);
  const counts = (map: Map<number, number>): string =>
    [...map].map(([status, n]) => `${status}: ${n}`).join(', ');
  const accepted2xx = (map: Map<number, number>): number =>
    [...map].reduce((sum, [status, n]) => sum + (status < 300 ? n : 0), 0);
  console.log(
    [
      `[full disk] deliveries while filling: ${counts(statuses)}; answered 2xx ${beforeSpace.size}, ` +
        `unprocessed when the disk was full ${unprocessedWhenFull}; WAL ${walWhenFull} bytes`,
      `[full disk] /healthz while full: listener ${healthWhenFull.listener}, admin ${healthWhenFull.admin} ${healthWhenFull.body}`,
      `[full disk] ${spareBytes / 1024} KiB freed: the ${beforeSpace.size} answered 2xx before processed (once) but ${unprocessedFirst}, in ${Math.round(processedMs)} ms; ` +
        `deliveries meanwhile: ${counts(recovery)}; of all ${accepted.size} answered 2xx, unprocessed in the end ${unprocessed}`,
      `[full disk] /healthz then ${after.listener}/${after.admin}; a new delivery ${late}, processed ${lateViews.get(lateId)?.state}; restarts ${listener.starts - 1}`,
    ].join('\n'),
  );

  expect(listener.stats().crashes).toEqual([]);
  expect(listener.pid).toBe(pid);
  // Only 2xx and 503: a full disk is "try again", never a 4xx or a 500.
  const statusesSeen = [...statuses.keys(), ...recovery.keys()];
  expect(statusesSeen.filter((s) => s !== 503 && (s < 200 || s >= 300))).toEqual([]);
  expect(accepted2xx(statuses)).toBe(beforeSpace.size);
  expect(beforeSpace.size).toBeGreaterThan(0);
  expect(unprocessedWhenFull).toBe(beforeSpace.size);
  expect(statuses.get(503)).toBeGreaterThanOrEqual(refusedInARow);
  expect(healthWhenFull.listener).toBe(503);
  expect(healthWhenFull.admin).toBe(503);
  expect(JSON.parse(healthWhenFull.body)).toMatchObject({ status: 'unavailable', store: 'sqlite' });
  expect(unprocessedFirst).toBe(0);
  expect(accepted2xx(recovery)).toBeGreaterThan(0);
  expect(unprocessed).toBe(0);
  expect(after).toMatchObject({ listener: 200, admin: 200 });
  expect(late).toBe(200);
  expect(await readOrder(listener.adminUrl, lateId)).toMatchObject({
    state: 'paid',
    fulfilments: 1,
  });
}, 120_000);

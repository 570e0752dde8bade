import { randomBytes } from 'node:crypto';
import type { AttemptReport, InboxWorker } from '@c2p/core';
import { createHandlers, startInboxWorker } from '@c2p/core';
import type { InboxRecord } from '@c2p/core/kit';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createPostgresInbox, type PostgresInbox } from '../src/index.js';
import { serverUrl } from './server-url.js';

// A worker in one process, deliveries stored by another: the second inbox
// object here has its own pools and connections, so the worker's process-local
// wake-up cannot reach it; only PostgreSQL's NOTIFY can. The worker polls once
// a minute, so an event it runs within seconds was woken by the notification.

const url = serverUrl();
const admin = new pg.Pool({ connectionString: url, max: 2 });
admin.on('error', () => undefined);
const tables: string[] = [];
const inboxes: PostgresInbox[] = [];
const workers: InboxWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
});
afterAll(async () => {
  await Promise.allSettled(inboxes.map((inbox) => inbox.close()));
  for (const table of tables)
    await admin
      .query(`DROP TABLE IF EXISTS ${table}, ${table}_settings, ${table}_counts`)
      .catch(() => {});
  await admin.end();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function pair(): Promise<{ table: string; here: PostgresInbox; there: PostgresInbox }> {
  const table = `c2p_${randomBytes(6).toString('hex')}`;
  tables.push(table);
  const here = createPostgresInbox({ connection: url, table, max: 2, workerMax: 2 });
  const there = createPostgresInbox({ connection: url, table, max: 2, workerMax: 2 });
  inboxes.push(here, there);
  await here.migrate();
  return { table, here, there };
}

let serial = 0;
const record = (resource: string): InboxRecord => ({
  key: `${resource}:${++serial}`,
  resourceKey: `payment-request:${resource}`,
  eventType: 'PAYMENT-COMPLETED',
  payload: JSON.stringify({ eventType: 'PAYMENT-COMPLETED', resource: { id: resource } }),
  receivedAt: Date.now(),
  clientIp: '127.0.0.1',
});

function startSleepyWorker(inbox: PostgresInbox, fail = () => false) {
  const reports: AttemptReport[] = [];
  const worker = startInboxWorker({
    inbox,
    handlers: createHandlers<pg.PoolClient>().onAny(() => {
      if (fail()) throw new Error('order system down');
    }),
    retry: () => null,
    pollIntervalMs: 60_000,
    sweepIntervalMs: 0,
    onAttempt: (report) => reports.push(report),
  });
  workers.push(worker);
  return { worker, reports };
}

async function until(check: () => boolean, ms: number): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await sleep(10);
  }
  return Date.now() - started;
}

/** The backends listening on a channel, as PostgreSQL lists them. */
async function listeners(table: string): Promise<number[]> {
  const result = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE query = $1`,
    [`LISTEN "${table}_due"`],
  );
  return result.rows.map((row) => row.pid);
}

describe('PostgreSQL inbox notifications', () => {
  it('wakes a worker at once for events another process stores', async () => {
    const { table, here, there } = await pair();
    let failing = true;
    const { worker, reports } = startSleepyWorker(here, () => failing);
    await worker.idle();
    expect(reports).toEqual([]);
    // Its first look found nothing: from now on only a wake-up can start it.
    await sleep(100);
    await there.enqueue([record('PR-1')]);
    const stored = await until(() => reports.length === 1, 5_000);
    expect(reports[0]?.outcome).toBe('dead');
    failing = false;
    await there.enqueue([record('PR-2')]);
    const again = await until(() => reports.length === 2, 5_000);
    expect(reports[1]?.outcome).toBe('processed');
    console.log(
      `[notify] stored elsewhere -> attempt in ${stored} ms, and again in ${again} ms (poll interval 60000 ms); listening backends: ${(await listeners(table)).length}`,
    );
  });

  it('listens again after its connection is killed, and an event stored meanwhile is not lost', async () => {
    const { table, here, there } = await pair();
    const { worker, reports } = startSleepyWorker(here);
    await worker.idle();
    const [pid] = await (async () => {
      for (let i = 0; i < 100; i++) {
        const found = await listeners(table);
        if (found.length > 0) return found;
        await sleep(20);
      }
      throw new Error('nobody listens');
    })();
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    // Stored while nobody listens: the reconnection wakes the worker, which finds it.
    await there.enqueue([record('PR-2')]);
    const recovered = await until(() => reports.length === 1, 5_000);
    await there.enqueue([record('PR-3')]);
    await until(() => reports.length === 2, 5_000);
    expect(reports.map((report) => report.outcome)).toEqual(['processed', 'processed']);
    expect(await listeners(table)).toHaveLength(1);
    console.log(
      `[notify] listening connection killed: event stored meanwhile ran after ${recovered} ms`,
    );
  });

  it('stops listening when the last watcher stops, and when the inbox closes', async () => {
    const { table, here } = await pair();
    const stop = here.watch(() => {});
    for (let i = 0; i < 100 && (await listeners(table)).length === 0; i++) await sleep(20);
    expect(await listeners(table)).toHaveLength(1);
    stop();
    for (let i = 0; i < 100 && (await listeners(table)).length > 0; i++) await sleep(20);
    expect(await listeners(table)).toHaveLength(0);
    here.watch(() => {});
    for (let i = 0; i < 100 && (await listeners(table)).length === 0; i++) await sleep(20);
    await here.close();
    for (let i = 0; i < 100 && (await listeners(table)).length > 0; i++) await sleep(20);
    expect(await listeners(table)).toHaveLength(0);
  });
});

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { InboxRecord } from '@c2p/core/kit';
import { createEvent } from '@c2p/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresInbox } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const admin = new pg.Pool({ connectionString: url, max: 2 });
admin.on('error', () => undefined);
const tables: string[] = [];
const children = new Set<ChildProcessWithoutNullStreams>();
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const table of tables) {
    await admin
      .query(`DROP TABLE IF EXISTS ${table}, ${table}_log, ${table}_settings, ${table}_counts`)
      .catch(() => undefined);
  }
  await admin.end();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface WorkerChild {
  process: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  /** Asks the worker to stop; resolves with its attempt outcomes. */
  stop(): Promise<{ worker: number; outcomes: Record<string, number> }>;
  exited: Promise<void>;
}

function startWorker(args: Record<string, unknown>): WorkerChild {
  const child = spawn(process.execPath, ['fixtures/inbox-worker-child.mjs'], {
    cwd: new URL('.', import.meta.url).pathname,
    env: { ...process.env, C2P_CHILD_ARGS: JSON.stringify(args) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<void>((resolve) =>
    child.on('close', () => {
      children.delete(child);
      resolve();
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.startsWith('ready\n')) resolve();
    });
    void exited.then(() => reject(new Error(`worker exited before ready: ${stderr}`)));
  });
  return {
    process: child,
    ready,
    exited,
    async stop() {
      child.stdin.write('stop\n');
      await exited;
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (!last.startsWith('{')) throw new Error(`worker ended without a report: ${stderr}`);
      return JSON.parse(last);
    },
  };
}

describe('PostgreSQL inbox shared by worker processes', () => {
  it('processes 10,200 events over 300 resources exactly once, each resource in arrival order, across 3 worker processes and a SIGKILL', async () => {
    const started = performance.now();
    const table = `c2p_${randomBytes(6).toString('hex')}`;
    tables.push(table);
    const inbox = createPostgresInbox({ connection: url, table, max: 30 });
    await inbox.migrate();
    await admin.query(
      `CREATE TABLE ${table}_log (n bigserial PRIMARY KEY, key text NOT NULL, resource text NOT NULL,
        seq int NOT NULL, worker int NOT NULL, attempt int NOT NULL)`,
    );

    const resources = 300;
    const perResource = 34;
    const total = resources * perResource;
    const record = (r: number, seq: number): InboxRecord => {
      const id = `PR-${r}`;
      // About 3% fail on their first attempt: retries must keep their resource's order.
      const fail = (r * 31 + seq * 7) % 33 === 0 ? 'fail' : 'ok';
      return {
        key: `${id}:${seq}:${fail}`,
        resourceKey: `payment-request:${id}`,
        eventType: 'PAYMENT-COMPLETED',
        payload: JSON.stringify(createEvent({ id, status: `S${seq}` })),
        receivedAt: Date.now(),
        clientIp: '127.0.0.1',
      };
    };

    const args = { url, table, leaseMs: 2000, concurrency: 8 };
    const workers = [0, 1, 2].map((worker) => startWorker({ ...args, worker }));
    await Promise.all(workers.map((w) => w.ready));

    // 25 senders, each owning 12 resources and sending their events in order,
    // in deliveries of up to 3 events; every 40th delivery is sent twice.
    let inserted = 0;
    let duplicates = 0;
    let deliveries = 0;
    const send = async (sender: number): Promise<void> => {
      const mine = Array.from({ length: 12 }, (_, i) => sender * 12 + i);
      const queue = Array.from({ length: perResource }, (_, seq) =>
        mine.map((r) => record(r, seq)),
      ).flat();
      for (let i = 0; i < queue.length; i += 3) {
        const delivery = queue.slice(i, i + 3);
        const answers = await inbox.enqueue(delivery);
        inserted += answers.filter(Boolean).length;
        if (++deliveries % 40 === 0) {
          const again = await inbox.enqueue(delivery);
          duplicates += again.filter((a) => !a).length;
        }
      }
    };
    const sending = Promise.all(Array.from({ length: 25 }, (_, s) => send(s)));

    const processed = async (): Promise<number> => (await inbox.counts()).processed;
    // SIGKILL one worker mid-stream, with events leased and handlers running, and start another.
    while ((await processed()) < total * 0.3) await sleep(20);
    workers[0]?.process.kill('SIGKILL');
    await workers[0]?.exited;
    const replacement = startWorker({ ...args, worker: 3 });
    await replacement.ready;
    await sending;
    const enqueuedMs = performance.now() - started;

    // A budget in progress, not in seconds: on a loaded machine the run may take minutes,
    // but it stops once 30 s pass with no event newly processed (stuck, not slow).
    let last = -1;
    let progressedAt = Date.now();
    for (let now = await processed(); now < total; now = await processed()) {
      if (now > last) [last, progressedAt] = [now, Date.now()];
      else if (Date.now() - progressedAt > 30_000) break;
      await sleep(50);
    }
    const reports = await Promise.all([workers[1], workers[2], replacement].map((w) => w?.stop()));
    const elapsedMs = performance.now() - started;

    expect(inserted).toBe(total);
    expect(await inbox.counts()).toEqual({
      pending: 0,
      retrying: 0,
      dead: 0,
      processed: total,
      resolved: 0,
    });
    const doubled = await admin.query(
      `SELECT key, count(*)::int AS n FROM ${table}_log GROUP BY key HAVING count(*) > 1`,
    );
    expect(doubled.rows).toEqual([]);
    const logged = await admin.query<{ resource: string; seqs: number[] }>(
      `SELECT resource, array_agg(seq ORDER BY n) AS seqs FROM ${table}_log GROUP BY resource`,
    );
    expect(logged.rows).toHaveLength(resources);
    const inOrder = Array.from({ length: perResource }, (_, i) => i);
    const outOfOrder = logged.rows.filter((row) => row.seqs.join() !== inOrder.join());
    expect(outOfOrder).toEqual([]);
    const retried = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table}_log WHERE attempt > 1`,
    );
    const byWorker = await admin.query<{ worker: number; n: number }>(
      `SELECT worker, count(*)::int AS n FROM ${table}_log GROUP BY worker ORDER BY worker`,
    );
    const outcomes: Record<string, number> = {};
    for (const report of reports) {
      for (const [outcome, n] of Object.entries(report?.outcomes ?? {})) {
        outcomes[outcome] = (outcomes[outcome] ?? 0) + n;
      }
    }
    console.info(
      `[store-postgres] inbox, 3 worker processes (one SIGKILLed at 30% and replaced): ${total} events over ${resources} resources ` +
        `in ${deliveries} deliveries (+${duplicates} duplicate events answered false), enqueued in ${(enqueuedMs / 1000).toFixed(1)} s, ` +
        `all processed in ${(elapsedMs / 1000).toFixed(1)} s (${Math.round(total / (elapsedMs / 1000))}/s); ` +
        `processed once each: ${total}, doubled: ${doubled.rowCount}, lost: ${total - (await processed())}, out of order: ${outOfOrder.length}; ` +
        `processed after a failed attempt: ${retried.rows[0]?.n}; by worker: ${byWorker.rows.map((r) => `${r.worker}=${r.n}`).join(' ')}; ` +
        `surviving workers' attempts: ${JSON.stringify(outcomes)}`,
    );
    expect(retried.rows[0]?.n).toBeGreaterThan(0);
    await inbox.close();
  }, 900_000);
});

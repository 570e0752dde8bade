import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { InboxRecord } from '@c2p/core/kit';
import { createEvent } from '@c2p/testing';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisInbox } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const admin = createClient({ url });
admin.on('error', () => undefined);
const prefixes: string[] = [];
const children = new Set<ChildProcessWithoutNullStreams>();
beforeAll(async () => {
  await admin.connect();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const prefix of prefixes) {
    for await (const keys of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await admin.del(keys);
    }
  }
  await admin.close();
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
  const child = spawn(process.execPath, ['fixtures/redis-inbox-worker-child.mjs'], {
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

/** Runs `resources` x `perResource` events through worker processes; `kill` SIGKILLs the first at 30%. */
async function runWorkers(kill: boolean) {
  const started = performance.now();
  const prefix = `c2p_${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  const keyPrefix = `${prefix}inbox:`;
  const log = `${prefix}handler:`;
  const inbox = createRedisInbox({ client: url, keyPrefix, durability: 'trust' });

  const resources = 300;
  const perResource = 10;
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

  // With a kill, handlers pause after their write, so the SIGKILL lands between
  // effects and completions: those events run again, and are counted.
  const args = { url, keyPrefix, log, leaseMs: 1500, concurrency: 8, afterWriteMs: kill ? 10 : 0 };
  const workers = [0, 1].map((worker) => startWorker({ ...args, worker }));
  await Promise.all(workers.map((w) => w.ready));

  // 20 senders, each owning 15 resources and sending their events in order,
  // in deliveries of up to 3 events; every 40th delivery is sent twice.
  let inserted = 0;
  let duplicates = 0;
  let deliveries = 0;
  const send = async (sender: number): Promise<void> => {
    const mine = Array.from({ length: 15 }, (_, i) => sender * 15 + i);
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
  const sending = Promise.all(Array.from({ length: 20 }, (_, s) => send(s)));

  const processed = async (): Promise<number> => (await inbox.counts()).processed;
  let running = workers;
  if (kill) {
    // SIGKILL one worker mid-stream, with events leased and handlers running, and start another.
    while ((await processed()) < total * 0.3) await sleep(20);
    workers[0]?.process.kill('SIGKILL');
    await workers[0]?.exited;
    const replacement = startWorker({ ...args, worker: 2 });
    await replacement.ready;
    running = [workers[1] as WorkerChild, replacement];
  }
  await sending;
  const enqueuedMs = performance.now() - started;

  const deadline = Date.now() + 40_000;
  while ((await processed()) < total && Date.now() < deadline) await sleep(50);
  const reports = await Promise.all(running.map((w) => w.stop()));
  const elapsedMs = performance.now() - started;

  const counts = await inbox.counts();
  const done = await admin.sCard(`${log}done`);
  const twice = Number((await admin.get(`${log}twice`)) ?? 0);
  const inOrder = Array.from({ length: perResource }, (_, i) => String(i)).join();
  let outOfOrder = 0;
  let repeated = 0;
  for (let r = 0; r < resources; r++) {
    const seqs = await admin.lRange(`${log}log:PR-${r}`, 0, -1);
    // An event run again (at least once) repeats at once: its resource's next event waits for it.
    const once = seqs.filter((seq, i) => seq !== seqs[i - 1]);
    repeated += seqs.length - once.length;
    if (once.join() !== inOrder) outOfOrder++;
  }
  const outcomes: Record<string, number> = {};
  for (const report of reports) {
    for (const [outcome, n] of Object.entries(report.outcomes)) {
      outcomes[outcome] = (outcomes[outcome] ?? 0) + n;
    }
  }
  console.info(
    `[store-redis] inbox, 2 worker processes${kill ? ' (one SIGKILLed at 30% and replaced)' : ''}: ${total} events over ${resources} resources ` +
      `in ${deliveries} deliveries (+${duplicates} duplicate events answered false), enqueued in ${(enqueuedMs / 1000).toFixed(1)} s, ` +
      `all processed in ${(elapsedMs / 1000).toFixed(1)} s (${Math.round(total / (elapsedMs / 1000))}/s); ` +
      `processed: ${done}, processed twice: ${twice}, lost: ${total - done}, out of order: ${outOfOrder}; ` +
      `attempts: ${JSON.stringify(outcomes)}`,
  );
  await inbox.close();
  return { total, inserted, counts, done, twice, repeated, outOfOrder, outcomes };
}

describe('Redis inbox shared by worker processes', () => {
  it('processes 3,000 events over 300 resources once each, in arrival order per resource, across 2 worker processes', async () => {
    const result = await runWorkers(false);
    expect(result.inserted).toBe(result.total);
    expect(result.counts).toEqual({
      pending: 0,
      retrying: 0,
      dead: 0,
      processed: result.total,
      resolved: 0,
    });
    expect(result.done).toBe(result.total);
    expect(result.twice).toBe(0);
    expect(result.repeated).toBe(0);
    expect(result.outOfOrder).toBe(0);
    expect(result.outcomes.retrying).toBeGreaterThan(0);
    expect(result.outcomes.lease_lost ?? 0).toBe(0);
  }, 60_000);

  it('loses nothing when a worker process is SIGKILLed: its events run again (at least once, counted), order kept', async () => {
    const result = await runWorkers(true);
    expect(result.counts).toEqual({
      pending: 0,
      retrying: 0,
      dead: 0,
      processed: result.total,
      resolved: 0,
    });
    expect(result.done).toBe(result.total);
    // Only events the killed worker had running (8 at a time) may run twice.
    expect(result.twice).toBeLessThanOrEqual(8);
    expect(result.twice).toBe(result.repeated);
    expect(result.outOfOrder).toBe(0);
  }, 60_000);
});

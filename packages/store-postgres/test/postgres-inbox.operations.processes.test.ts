/**
 * The inbox operations across processes: two child processes, each running
 * core's inbox worker on one PostgreSQL table and taking the operator's calls
 * (pause, resume, bulk replay) itself, as two app instances would.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { InboxRecord } from '@c2p/core/kit';
import { createEvent } from '@c2p/testing';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { PostgresInbox } from '../src/index.js';
import { createPostgresInbox } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const admin = new pg.Pool({ connectionString: url, max: 2 });
admin.on('error', () => undefined);
const tables: string[] = [];
const inboxes: PostgresInbox[] = [];
const children = new Set<ChildProcessWithoutNullStreams>();
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
});
afterAll(async () => {
  await Promise.allSettled(inboxes.map((inbox) => inbox.close()));
  for (const table of tables) {
    await admin
      .query(
        `DROP TABLE IF EXISTS ${table}, ${table}_settings, ${table}_counts, ${table}_log, ${table}_outage`,
      )
      .catch(() => undefined);
  }
  await admin.end();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Instance {
  process: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  call<T>(call: string, argument?: unknown): Promise<T>;
  exited: Promise<void>;
}

/** One instance: a child process with its worker, answering calls one line each. */
function startInstance(args: Record<string, unknown>): Instance {
  const child = spawn(process.execPath, ['fixtures/operations-worker-child.mjs'], {
    cwd: new URL('.', import.meta.url).pathname,
    env: { ...process.env, C2P_CHILD_ARGS: JSON.stringify(args) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
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
  const waiting: Array<(line: string) => void> = [];
  let buffered = '';
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((resolve, reject) => {
    ready = resolve;
    void exited.then(() => reject(new Error(`instance exited before ready: ${stderr}`)));
  });
  child.stdout.on('data', (c: Buffer) => {
    buffered += c.toString();
    let end = buffered.indexOf('\n');
    while (end >= 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      if (line === 'ready') ready();
      else waiting.shift()?.(line);
      end = buffered.indexOf('\n');
    }
  });
  return {
    process: child,
    ready: isReady,
    exited,
    call: <T>(call: string, argument?: unknown) =>
      new Promise<T>((resolve) => {
        waiting.push((line) => resolve(JSON.parse(line) as T));
        child.stdin.write(`${JSON.stringify({ call, argument })}\n`);
      }),
  };
}

async function setUp(delayMs = 0): Promise<{
  table: string;
  inbox: PostgresInbox;
  instances: [Instance, Instance];
}> {
  const table = `c2p_${randomBytes(6).toString('hex')}`;
  tables.push(table);
  const inbox = createPostgresInbox({ connection: url, table, max: 4, workerMax: 2 });
  inboxes.push(inbox);
  await inbox.migrate();
  await admin.query(`CREATE TABLE ${table}_log (n bigserial PRIMARY KEY, key text, worker int)`);
  await admin.query(`CREATE TABLE ${table}_outage (down boolean)`);
  const args = { url, table, leaseMs: 2000, concurrency: 2, delayMs };
  const instances: [Instance, Instance] = [
    startInstance({ ...args, worker: 1 }),
    startInstance({ ...args, worker: 2 }),
  ];
  await Promise.all(instances.map((instance) => instance.ready));
  return { table, inbox, instances };
}

const records = (count: number): InboxRecord[] =>
  Array.from({ length: count }, () => {
    const id = randomBytes(8).toString('hex');
    return {
      key: `payment-request:${id}:PAID`,
      resourceKey: `payment-request:${id}`,
      eventType: 'PAYMENT-COMPLETED',
      payload: JSON.stringify(createEvent({ id })),
      receivedAt: Date.now(),
      clientIp: '127.0.0.1',
    };
  });

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
  return Date.now() - started;
}

/** Makes `count` dead events: stored during an outage, each failing its one attempt. */
async function deadEvents(table: string, inbox: PostgresInbox, count: number): Promise<void> {
  await admin.query(`INSERT INTO ${table}_outage VALUES (true)`);
  await inbox.enqueue(records(count));
  await until('dead', async () => (await inbox.counts()).dead === count, 30_000);
  await admin.query(`DELETE FROM ${table}_outage`);
}

const logged = async (table: string): Promise<{ rows: number; keys: number }> =>
  (
    await admin.query<{ rows: number; keys: number }>(
      `SELECT count(*)::int AS rows, count(DISTINCT key)::int AS keys FROM ${table}_log`,
    )
  ).rows[0] ?? { rows: 0, keys: 0 };

describe('PostgreSQL inbox operations across two worker processes', () => {
  it('paused through one process, both stop; resumed through the other, all run', async () => {
    const { table, inbox, instances } = await setUp();
    const [one, other] = instances;
    expect(await one.call('pause')).toEqual({ paused: true });
    expect(await inbox.enqueue(records(10))).toEqual(Array(10).fill(true));
    await sleep(5_000);
    const attempts =
      (await one.call<{ attempts: number }>('attempts')).attempts +
      (await other.call<{ attempts: number }>('attempts')).attempts;
    const held = await inbox.counts();
    const leased = (await inbox.search({})).entries.filter((entry) => entry.attempts > 0);
    console.log(
      `[pause] 10 stored while paused; after 5 s: ${attempts} attempts, ${leased.length} leased, inbox ${JSON.stringify(held)}`,
    );
    expect(attempts).toBe(0);
    expect(leased).toEqual([]);
    expect(held).toMatchObject({ pending: 10, processed: 0 });
    expect(await other.call('resume')).toEqual({ paused: false });
    const ms = await until(
      'processed',
      async () => (await inbox.counts()).processed === 10,
      10_000,
    );
    console.log(`[pause] resumed through the other process: 10 processed in ${ms} ms`);
    expect(await logged(table)).toEqual({ rows: 10, keys: 10 });
  }, 60_000);

  it('replays each of 50 dead events once when both processes bulk-replay at once', async () => {
    const { table, inbox, instances } = await setUp();
    await deadEvents(table, inbox, 50);
    const filter = { eventType: 'PAYMENT-COMPLETED' };
    expect(await inbox.replayMatching(filter, { dryRun: true })).toBe(50);
    const answers = await Promise.all(
      instances.map((instance) => instance.call<{ replayed: number }>('replay', filter)),
    );
    const ms = await until(
      'processed',
      async () => (await inbox.counts()).processed === 50,
      30_000,
    );
    const log = await logged(table);
    console.log(
      `[bulk replay] two processes at once replayed ${answers.map((a) => a.replayed).join(' + ')}; ` +
        `50 processed in ${ms} ms; handler ran ${log.rows} times for ${log.keys} keys`,
    );
    expect(answers.reduce((sum, answer) => sum + answer.replayed, 0)).toBe(50);
    expect(log).toEqual({ rows: 50, keys: 50 });
    expect(await inbox.counts()).toMatchObject({ dead: 0, processed: 50 });
    expect(await instances[0].call('replay', filter)).toEqual({ replayed: 0 });
  }, 90_000);

  it('finishes a bulk replay in the other process when one is SIGKILLed mid-way', async () => {
    const { table, inbox, instances } = await setUp(150);
    const [one, other] = instances;
    await deadEvents(table, inbox, 40);
    expect(await one.call('replay', {})).toEqual({ replayed: 40 });
    await until('some processed', async () => (await logged(table)).rows >= 8, 30_000);
    one.process.kill('SIGKILL');
    await one.exited;
    const ms = await until(
      'processed',
      async () => (await inbox.counts()).processed === 40,
      60_000,
    );
    const log = await logged(table);
    const byWorker = await admin.query<{ worker: number; n: number }>(
      `SELECT worker, count(*)::int AS n FROM ${table}_log GROUP BY worker ORDER BY worker`,
    );
    console.log(
      `[sigkill] 40 replayed; one process SIGKILLed; all processed ${ms} ms later; log by worker ${JSON.stringify(byWorker.rows)}`,
    );
    expect(log).toEqual({ rows: 40, keys: 40 });
    expect(byWorker.rows.find((row) => row.worker === 2)?.n).toBeGreaterThan(0);
    // The counts the triggers kept, through both processes and the kill, are the table's.
    const counted = await admin.query<{ state: string; count: number }>(
      `SELECT state, count(*)::int AS count FROM ${table} GROUP BY state`,
    );
    expect(counted.rows).toEqual([{ state: 'processed', count: 40 }]);
    expect(await inbox.counts()).toEqual({
      pending: 0,
      retrying: 0,
      dead: 0,
      processed: 40,
      resolved: 0,
    });
    expect(await other.call('attempts')).toMatchObject({ attempts: expect.any(Number) });
  }, 120_000);
});

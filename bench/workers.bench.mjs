// Workers that add up (issue 22): 1, 2 and 4 worker processes of the reference app
// (`node apps/reference/dist/main.js`, C2P_ROLE=worker, C2P_WORKER_CONCURRENCY 4
// each) on one PostgreSQL inbox, against an order system that answers each call
// after 20 ms. For each count, on a fresh database: the inbox is paused, N PAID
// events of distinct payment requests are put into it directly (the inbox's own
// enqueue, as a listener would), the workers start, the inbox is resumed, and from
// the order system's first call to its N-th distinct order it prints events per
// second, the ratio to one worker, and the calls beyond one per order (there must
// be none).
//
// Client, workers and PostgreSQL share the machine's cores, so the ceiling is the
// machine's as much as the inbox's. To show what limits it, the same window's CPU
// time is read from /proc (Linux): the worker processes', PostgreSQL's (every
// process named postgres), the bench process's (the order system and the client),
// and the whole machine's busy share of its cores. Prints figures; exits non-zero
// only when an event is not processed within a minute or an order is called twice.
//   node bench/workers.bench.mjs            (3,000 events per count)
//   node bench/workers.bench.mjs --smoke    (200 events, 1 and 2 workers)

import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createPostgresInbox } from '@c2p/store-postgres';
import { createEvent } from '@c2p/testing';
import pg from 'pg';
import { startServices } from '../scripts/services.mjs';
import { startOrderSystem } from './order-system.mjs';

const smoke = process.argv.includes('--smoke');
const events = smoke ? 200 : 3_000;
const counts = smoke ? [1, 2] : [1, 2, 4];
const handlerMs = 20;
const drainLimitMs = 60_000;
const mainJs = fileURLToPath(new URL('../apps/reference/dist/main.js', import.meta.url));
if (!existsSync(mainJs)) {
  console.error(`${mainJs} is missing: build first (npm run pnpm -- exec turbo run build)`);
  process.exit(1);
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// CPU time from /proc, in ms: a process's utime + stime (fields 14 and 15 after
// its name), and the machine's busy and total time (the first line of /proc/stat).
const linux = existsSync('/proc/stat');
const tickMs = linux ? 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString()) : 0;
const processCpu = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      ms: (Number(after[11]) + Number(after[12])) * tickMs,
    };
  } catch {
    return { name: '', ms: 0 };
  }
};
function cpuSnapshot(workerPids) {
  if (!linux) return undefined;
  let postgres = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const { name, ms } = processCpu(entry);
    if (name === 'postgres') postgres += ms;
  }
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .map(Number);
  const total = ticks.slice(0, 8).reduce((sum, n) => sum + n, 0) * tickMs;
  const idle = (ticks[3] + ticks[4]) * tickMs;
  const own = process.cpuUsage();
  return {
    workers: workerPids.reduce((sum, pid) => sum + processCpu(pid).ms, 0),
    postgres,
    bench: (own.user + own.system) / 1000,
    busy: total - idle,
    total,
  };
}
const cpuBetween = (before, after, events) =>
  before &&
  after && {
    workersMs: (after.workers - before.workers) / events,
    postgresMs: (after.postgres - before.postgres) / events,
    benchMs: (after.bench - before.bench) / events,
    busy: (after.busy - before.busy) / (after.total - before.total),
  };
const children = new Set();
/** The running worker processes' pids. */
const pids = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

async function startWorker(env) {
  const child = spawn(process.execPath, [mainJs], {
    env: { PATH: process.env.PATH, C2P_ROLE: 'worker', ADMIN_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  pids.add(child.pid);
  let output = '';
  await new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`not ready in 60 s\n${output}`)), 60_000);
    const look = (chunk) => {
      output += chunk;
      if (/admin\s+http\S+/.test(output)) {
        clearTimeout(timer);
        done();
      }
    };
    child.stdout.setEncoding('utf8').on('data', look);
    child.stderr.setEncoding('utf8').on('data', look);
    child.once('exit', (code) => fail(new Error(`worker exited ${code}\n${output}`)));
  });
  return async () => {
    child.kill('SIGTERM');
    await new Promise((done) => child.once('exit', done));
    children.delete(child);
    pids.delete(child.pid);
  };
}

const record = () => {
  const id = randomUUID();
  return {
    key: `payment-request:${id}:PAYMENT-COMPLETED:PAID`,
    resourceKey: `payment-request:${id}`,
    eventType: 'PAYMENT-COMPLETED',
    payload: JSON.stringify(createEvent({ id })),
    receivedAt: Date.now(),
    clientIp: null,
  };
};

async function freshDatabase(adminUrl) {
  const name = `c2p_workers_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const again = new pg.Client({ connectionString: adminUrl });
      await again.connect();
      await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.end();
    },
  };
}

async function measure(workers, adminUrl) {
  const database = await freshDatabase(adminUrl);
  const orders = await startOrderSystem({ delayMs: handlerMs });
  const stops = [];
  // The app's inbox table, as the workers open it.
  const inbox = createPostgresInbox({ connection: database.url, table: 'reference_inbox' });
  try {
    await inbox.migrate();
    await inbox.setPaused(true);
    for (let done = 0; done < events; done += 500) {
      await inbox.enqueue(Array.from({ length: Math.min(500, events - done) }, record));
    }
    const env = { C2P_STORE: database.url, C2P_FULFIL_URL: orders.url };
    for (let i = 0; i < workers; i++) stops.push(await startWorker(env));
    const started = performance.now();
    const before = cpuSnapshot([...pids]);
    await inbox.setPaused(false);
    while (orders.calls.size < events && performance.now() - started < drainLimitMs) {
      await sleep(10);
    }
    const cpu = cpuBetween(before, cpuSnapshot([...pids]), events);
    // From the first call to the last new one: a worker's first lease after the resume
    // waits for its next poll (no notification for a resume), which is not throughput.
    const firsts = [...orders.calledAt.values()];
    const ms = Math.max(...firsts) - Math.min(...firsts);
    if (orders.calls.size < events) {
      throw new Error(`${events - orders.calls.size} events not processed within a minute`);
    }
    const repeats = [...orders.calls.values()].reduce((sum, n) => sum + n - 1, 0);
    return { workers, perSecond: (events * 1000) / ms, ms, repeats, cpu };
  } finally {
    for (const stop of stops) await stop();
    await inbox.close();
    await orders.close();
    await database.drop();
  }
}

const env = await startServices({ only: ['postgres'] });
console.log(
  `node ${process.version}; ${events} PAID events, distinct payment requests; order system answering after ${handlerMs} ms; C2P_WORKER_CONCURRENCY 4 per worker process`,
);
console.log(
  `${'workers'.padEnd(8)}${'events/s'.padStart(10)}${'x one'.padStart(8)}${'first to last ms'.padStart(18)}${'repeated calls'.padStart(16)}` +
    `${'CPU ms/event: workers'.padStart(23)}${'postgres'.padStart(10)}${'bench'.padStart(7)}${'machine busy'.padStart(14)}`,
);
const cpuColumns = (cpu) =>
  cpu
    ? `${cpu.workersMs.toFixed(2).padStart(23)}${cpu.postgresMs.toFixed(2).padStart(10)}${cpu.benchMs.toFixed(2).padStart(7)}${`${(cpu.busy * 100).toFixed(0)}% of ${availableParallelism()}`.padStart(14)}`
    : '  (CPU: no /proc here)';
const rows = [];
for (const workers of counts) {
  const row = await measure(workers, env.C2P_TEST_POSTGRES_URL);
  rows.push(row);
  console.log(
    `${String(workers).padEnd(8)}${row.perSecond.toFixed(0).padStart(10)}${(row.perSecond / rows[0].perSecond).toFixed(2).padStart(8)}${row.ms.toFixed(0).padStart(18)}${String(row.repeats).padStart(16)}${cpuColumns(row.cpu)}`,
  );
  if (row.repeats > 0) process.exitCode = 1;
}

// On paper: the CPU one event costs each part, at the most workers measured. Worker
// processes run on any machine; PostgreSQL's share is what one database must give
// every event, whatever the number of machines.
const last = rows[rows.length - 1];
if (last.cpu) {
  const { workersMs, postgresMs } = last.cpu;
  console.log(
    `per event: ${workersMs.toFixed(2)} ms of worker CPU and ${postgresMs.toFixed(2)} ms of PostgreSQL CPU: ` +
      `one PostgreSQL core carries about ${(1000 / postgresMs).toFixed(0)} events/s, one worker core about ${(1000 / workersMs).toFixed(0)}`,
  );
}

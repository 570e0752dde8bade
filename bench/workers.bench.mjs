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
// machine's as much as the inbox's. Prints figures; exits non-zero only when an
// event is not processed within a minute or an order is called twice.
//   node bench/workers.bench.mjs            (3,000 events per count)
//   node bench/workers.bench.mjs --smoke    (200 events, 1 and 2 workers)
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
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
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

async function startWorker(env) {
  const child = spawn(process.execPath, [mainJs], {
    env: { PATH: process.env.PATH, C2P_ROLE: 'worker', ADMIN_PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
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
    await inbox.setPaused(false);
    while (orders.calls.size < events && performance.now() - started < drainLimitMs) {
      await sleep(10);
    }
    // From the first call to the last new one: a worker's first lease after the resume
    // waits for its next poll (no notification for a resume), which is not throughput.
    const firsts = [...orders.calledAt.values()];
    const ms = Math.max(...firsts) - Math.min(...firsts);
    if (orders.calls.size < events) {
      throw new Error(`${events - orders.calls.size} events not processed within a minute`);
    }
    const repeats = [...orders.calls.values()].reduce((sum, n) => sum + n - 1, 0);
    return { workers, perSecond: (events * 1000) / ms, ms, repeats };
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
  `${'workers'.padEnd(8)}${'events/s'.padStart(10)}${'x one'.padStart(8)}${'first to last ms'.padStart(18)}${'repeated calls'.padStart(16)}`,
);
const rows = [];
for (const workers of counts) {
  const row = await measure(workers, env.C2P_TEST_POSTGRES_URL);
  rows.push(row);
  console.log(
    `${String(workers).padEnd(8)}${row.perSecond.toFixed(0).padStart(10)}${(row.perSecond / rows[0].perSecond).toFixed(2).padStart(8)}${row.ms.toFixed(0).padStart(18)}${String(row.repeats).padStart(16)}`,
  );
  if (row.repeats > 0) process.exitCode = 1;
}

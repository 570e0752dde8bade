// Inbox mode beside sync mode, through the reference app as a user runs it
// (`node apps/reference/dist/main.js`, one Fastify listener, settings by env,
// the worker running in the same process), on the memory store, SQLite
// (synchronous FULL, the store's default) and PostgreSQL:
//
// - accepted/s: new PAID deliveries answered 2xx per second, from `concurrency`
//   HTTP clients in this process (client and server share the machine's cores);
// - time to 2xx, p50 and p99;
// - 200 → processed, p50 and p99 (inbox mode): from the 2xx to the moment the
//   handler calls the order system (`C2P_FULFIL_URL`, a server in this process
//   that answers at once), which it does just before its commit. In sync mode
//   the handler ran before the 2xx, so there is nothing to wait for;
// - drained in: after the load stops, until every accepted event has reached
//   the order system.
//
// Prints a table (deliveries not answered 2xx are counted in its last column);
// fails only when an accepted event is not processed within a minute. Run from the repo root after a build:
//   node bench/inbox.bench.mjs            (5 s per configuration)
//   node bench/inbox.bench.mjs --smoke    (1 s each, 4 clients: a CI smoke of a few seconds)
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startServices } from '../scripts/services.mjs';
import { startOrderSystem } from './order-system.mjs';

const smoke = process.argv.includes('--smoke');
const durationMs = Number(process.env.C2P_BENCH_MS ?? (smoke ? 1_000 : 5_000));
const concurrency = smoke ? 4 : 20;
const drainLimitMs = 60_000;
const mainJs = fileURLToPath(new URL('../apps/reference/dist/main.js', import.meta.url));
if (!existsSync(mainJs)) {
  console.error(
    `${mainJs} is missing: build first (npm run pnpm -- exec turbo run build --filter=@c2p/reference...)`,
  );
  process.exit(1);
}

const username = 'clik2pay';
const password = 'bench-password-of-some-length';
const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
const body = (id) =>
  `[{"message":"The payer successfully completed the transaction.","eventType":"PAYMENT-COMPLETED","resourceType":"payment-request","resource":{"id":"${id}","merchantTransactionId":null,"amount":1.0,"type":"EBILL","status":"PAID","deliveryMode":"SMS","merchant":{"id":"a7815ec3-72cd-4efe-b809-28f14501a5d3","name":"Merchant name"},"payer":{"name":"firstName lastName"}}}]`;

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const percentile = (values, p) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL'); // never leave a listener behind
});

async function startListener(env) {
  const child = spawn(process.execPath, [mainJs], {
    env: {
      PATH: process.env.PATH,
      C2P_WEBHOOK_USERNAME: username,
      C2P_WEBHOOK_PASSWORD: password,
      C2P_ADAPTERS: 'fastify',
      FASTIFY_PORT: '0',
      ADMIN_PORT: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  const ready = await new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`not ready in 60 s\n${output}`)), 60_000);
    const look = (chunk) => {
      output += chunk;
      // The banner goes to stdout whatever LOG_LEVEL says.
      const webhook = /fastify\s+POST (\S+)/.exec(output);
      const admin = /admin\s+(http\S+)/.exec(output);
      if (webhook && admin) {
        clearTimeout(timer);
        done({ url: webhook[1], admin: admin[1] });
      }
    };
    child.stdout.setEncoding('utf8').on('data', look);
    child.stderr.setEncoding('utf8').on('data', look);
    child.once('exit', (code) => fail(new Error(`listener exited ${code}\n${output}`)));
  });
  return {
    ...ready,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((done) => child.once('exit', done));
      children.delete(child);
    },
  };
}

/** `concurrency` clients posting new PAID events for durationMs. */
async function load(url) {
  const answeredAt = new Map();
  const latencies = [];
  const refused = new Map();
  const until = performance.now() + durationMs;
  const client = async () => {
    while (performance.now() < until) {
      const id = randomUUID();
      const started = performance.now();
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: body(id),
      });
      await response.arrayBuffer();
      const at = performance.now();
      if (response.status >= 200 && response.status < 300) {
        answeredAt.set(id, at);
        latencies.push(at - started);
      } else refused.set(response.status, (refused.get(response.status) ?? 0) + 1);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = performance.now() - started;
  return { answeredAt, latencies, refused, perSecond: (answeredAt.size * 1000) / elapsed };
}

async function measure(storeName, mode, storeUrl) {
  const orders = await startOrderSystem();
  const listener = await startListener({
    C2P_STORE: storeUrl,
    C2P_MODE: mode,
    C2P_FULFIL_URL: orders.url,
  });
  try {
    if (mode === 'inbox') {
      const response = await fetch(new URL('api/inbox', listener.admin));
      if (response.status !== 200) {
        throw new Error(
          `C2P_MODE=inbox: GET /api/inbox answered ${response.status}: this build has no inbox mode`,
        );
      }
    }
    const { answeredAt, latencies, refused, perSecond } = await load(listener.url);
    const stoppedAt = performance.now();
    while (orders.calledAt.size < answeredAt.size && performance.now() - stoppedAt < drainLimitMs) {
      await sleep(20);
    }
    const missing = [...answeredAt.keys()].filter((id) => !orders.calledAt.has(id)).length;
    if (missing > 0)
      throw new Error(`${missing} accepted events not processed within ${drainLimitMs / 1000} s`);
    const lastCall = Math.max(...orders.calledAt.values());
    const toProcessed = [...answeredAt].map(([id, at]) => orders.calledAt.get(id) - at);
    return {
      store: storeName,
      mode,
      perSecond,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      processedP50: mode === 'inbox' ? percentile(toProcessed, 50) : undefined,
      processedP99: mode === 'inbox' ? percentile(toProcessed, 99) : undefined,
      drainedIn: Math.max(0, lastCall - stoppedAt),
      events: answeredAt.size,
      refused: [...refused].map(([status, count]) => `${count}×${status}`).join(' ') || '0',
    };
  } finally {
    await listener.stop();
    await orders.close();
  }
}

const env = await startServices({ only: ['postgres'] });
const dir = mkdtempSync(join(tmpdir(), 'c2p-inbox-bench-'));
const databases = [];
async function freshPostgres() {
  const name = `c2p_bench_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: env.C2P_TEST_POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  databases.push(name);
  const url = new URL(env.C2P_TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.href;
}

const f = (value) => (value === undefined ? '—' : value.toFixed(1));
console.log(
  `node ${process.version}, reference app (fastify), ${concurrency} clients, ${durationMs / 1000} s per configuration, new PAID events, order system answering at once`,
);
console.log(
  `${'store'.padEnd(12)} ${'mode'.padEnd(6)} ${'accepted/s'.padStart(10)} ${'2xx p50 ms'.padStart(11)} ${'2xx p99 ms'.padStart(11)} ${'200→processed p50 ms'.padStart(21)} ${'p99 ms'.padStart(8)} ${'drained in ms'.padStart(14)} ${'events'.padStart(7)}  not 2xx`,
);
const print = (row) =>
  console.log(
    `${row.store.padEnd(12)} ${row.mode.padEnd(6)} ${row.perSecond.toFixed(0).padStart(10)} ${f(row.p50).padStart(11)} ${f(row.p99).padStart(11)} ${f(row.processedP50).padStart(21)} ${f(row.processedP99).padStart(8)} ${f(row.drainedIn).padStart(14)} ${String(row.events).padStart(7)}  ${row.refused}`,
  );
// The memory store beside them (nothing durable: the ceiling the listener itself sets),
// so each mode's SQLite figure reads as a share of it, from the same run.
const ratios = [];
try {
  for (const mode of ['sync', 'inbox']) {
    const memory = await measure('memory', mode, 'memory');
    print(memory);
    const sqlite = await measure('sqlite FULL', mode, `sqlite:${join(dir, `${mode}.db`)}`);
    print(sqlite);
    print(await measure('postgres', mode, await freshPostgres()));
    // Processed per second from the first delivery to the last order-system call:
    // acceptance and the worker together (in sync mode the same as accepted/s).
    const endToEnd = (row) => row.events / ((durationMs + row.drainedIn) / 1000);
    ratios.push(
      `${mode} mode: sqlite FULL keeps ${(sqlite.perSecond / memory.perSecond).toFixed(2)} of the memory store's accepted/s` +
        (mode === 'inbox'
          ? ` and ${(endToEnd(sqlite) / endToEnd(memory)).toFixed(2)} of its processed/s, load and drain (${endToEnd(sqlite).toFixed(0)} against ${endToEnd(memory).toFixed(0)})`
          : ''),
    );
  }
  for (const line of ratios) console.log(line);
} finally {
  rmSync(dir, { recursive: true, force: true });
  const admin = new pg.Client({ connectionString: env.C2P_TEST_POSTGRES_URL });
  await admin.connect();
  for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

// A backlog of a million (issue 22): the SQLite and PostgreSQL inboxes, empty and
// then holding 1,000,000 processed, 100,000 dead and 10,000 pending events, seeded
// directly with one INSERT ... SELECT each (a recursive CTE on SQLite,
// generate_series on PostgreSQL) into the table the inbox created, payloads of a
// real event's size. For each inbox, empty and full, it prints:
//
// - what /metrics and the page read every few seconds: counts(), readInboxHealth
//   (counts, the oldest unfinished event's age, paused), a page of dead events,
//   a resource's events (median of 5 calls, ms);
// - the lease of 4 due events (median of 5, each released by completing it);
// - acceptance: 20 concurrent single-event enqueues for 2 s, enqueues/s and p99 ms,
//   and the full inbox's share of the empty one's throughput.
//
// Prints figures; asserts nothing. Run from the repo root after a build:
//   node bench/backlog.bench.mjs            (the million; a few minutes)
//   node bench/backlog.bench.mjs --smoke    (10,000 / 1,000 / 100: seconds, figures meaningless)
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readInboxHealth } from '@c2p/core';
import { createPostgresInbox } from '@c2p/store-postgres';
import { createSqliteInbox } from '@c2p/store-sqlite';
import { createEvent } from '@c2p/testing';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startServices } from '../scripts/services.mjs';

const smoke = process.argv.includes('--smoke');
const sizes = smoke
  ? { processed: 10_000, dead: 1_000, pending: 100 }
  : { processed: 1_000_000, dead: 100_000, pending: 10_000 };
const acceptMs = smoke ? 300 : 2_000;
const senders = 20;
const base = Date.now() - 86_400_000;
// A PAID event as Clik2pay sends it (the factory's).
const payload = JSON.stringify(createEvent());
const total = sizes.processed + sizes.dead + sizes.pending;
// Row n: processed, then dead, then pending; 5 events per resource among the
// settled ones, and each pending event the head of a resource of its own.
const stateOf = (n) =>
  `CASE WHEN ${n} <= ${sizes.processed} THEN 'processed' WHEN ${n} <= ${sizes.processed + sizes.dead} THEN 'dead' ELSE 'pending' END`;
const resourceOf = (n) =>
  `'payment-request:seed-' || (CASE WHEN ${n} <= ${sizes.processed + sizes.dead} THEN ${n} / 5 ELSE ${n} END)`;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const record = () => {
  const key = randomUUID();
  return {
    key: `payment-request:${key}:PAYMENT-COMPLETED:PAID`,
    resourceKey: `payment-request:${key}`,
    eventType: 'PAYMENT-COMPLETED',
    payload,
    receivedAt: Date.now(),
    clientIp: null,
  };
};

async function timed(fn, runs = 5) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return median(times);
}

async function accept(inbox) {
  const latencies = [];
  const until = performance.now() + acceptMs;
  const sender = async () => {
    while (performance.now() < until) {
      const started = performance.now();
      await inbox.enqueue([record()]);
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: senders }, sender));
  const perSecond = (latencies.length * 1000) / (performance.now() - started);
  return { perSecond, p99: percentile(latencies, 99) };
}

async function measure(inbox) {
  const counts = await timed(() => inbox.counts());
  const health = await timed(() => readInboxHealth(inbox));
  const deadPage = await timed(() => inbox.search({ state: 'dead', limit: 50 }));
  const resource = await timed(() =>
    inbox.search({ resourceKey: 'payment-request:seed-4242', limit: 50 }),
  );
  const lease = await timed(async () => {
    const leases = await inbox.lease(4, 60_000);
    for (const { entry, token } of leases) await inbox.complete(entry.id, token);
  });
  const accepted = await accept(inbox);
  return { counts, health, deadPage, resource, lease, ...accepted };
}

const rows = [];
const row = (name, figures) => {
  rows.push({ name, ...figures });
  const f = (ms) => ms.toFixed(1).padStart(9);
  console.log(
    `${name.padEnd(22)}${f(figures.counts)}${f(figures.health)}${f(figures.deadPage)}${f(figures.resource)}${f(figures.lease)}${figures.perSecond.toFixed(0).padStart(11)}${f(figures.p99)}`,
  );
};

// The first counts() after seeding: on PostgreSQL it reads and folds the delta rows the
// seed's one INSERT left (one per event), which the medians below leave out.
async function firstCounts(inbox) {
  const started = performance.now();
  await inbox.counts();
  console.log(
    `  (the first counts() after seeding: ${(performance.now() - started).toFixed(1)} ms)`,
  );
}

const seconds = (since) => ((performance.now() - since) / 1000).toFixed(1);

async function sqlite(dir) {
  const path = join(dir, 'backlog.db');
  const inbox = createSqliteInbox({ database: path });
  await inbox.counts();
  row('sqlite FULL, empty', await measure(inbox));
  const started = performance.now();
  const db = new Database(path);
  db.prepare(
    `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${total})
     INSERT INTO c2p_inbox (key, resource_key, event_type, payload, received_at, state, attempts, next_attempt_at, processed_at, last_error)
     SELECT 'seed-' || n, ${resourceOf('n')}, 'PAYMENT-COMPLETED', @payload, ${base} + n, ${stateOf('n')},
       1, CASE WHEN ${stateOf('n')} = 'pending' THEN ${base} END,
       CASE WHEN ${stateOf('n')} = 'processed' THEN ${base} + n END,
       CASE WHEN ${stateOf('n')} = 'dead' THEN 'order system refused' END
     FROM g`,
  ).run({ payload });
  db.close();
  console.log(`  (seeded ${total.toLocaleString('en')} events in ${seconds(started)} s)`);
  await firstCounts(inbox);
  row('sqlite FULL, backlog', await measure(inbox));
  await inbox.close();
}

async function postgres(url) {
  const table = `c2p_backlog_${randomUUID().slice(0, 8)}`;
  const pool = new pg.Pool({ connectionString: url, max: 20 });
  const inbox = createPostgresInbox({ connection: pool, table });
  try {
    await inbox.migrate();
    row('postgres, empty', await measure(inbox));
    const started = performance.now();
    await pool.query(
      `INSERT INTO "${table}" (key, resource_key, event_type, payload, received_at, state, attempts, next_attempt_at, processed_at, last_error)
       SELECT 'seed-' || n, ${resourceOf('n')}, 'PAYMENT-COMPLETED', $1, ${base} + n, ${stateOf('n')},
         1, CASE WHEN ${stateOf('n')} = 'pending' THEN ${base} END,
         CASE WHEN ${stateOf('n')} = 'processed' THEN ${base} + n END,
         CASE WHEN ${stateOf('n')} = 'dead' THEN 'order system refused' END
       FROM generate_series(1, ${total}) AS n`,
      [payload],
    );
    await pool.query(`ANALYZE "${table}"`);
    console.log(`  (seeded ${total.toLocaleString('en')} events in ${seconds(started)} s)`);
    await firstCounts(inbox);
    row('postgres, backlog', await measure(inbox));
  } finally {
    await inbox.close();
    await pool.query(
      `DROP TABLE IF EXISTS "${table}", "${table}_settings", "${table}_counts" CASCADE`,
    );
    await pool.end();
  }
}

const env = await startServices({ only: ['postgres'] });
const dir = mkdtempSync(join(tmpdir(), 'c2p-backlog-bench-'));
console.log(
  `node ${process.version}; backlog: ${sizes.processed.toLocaleString('en')} processed, ${sizes.dead.toLocaleString('en')} dead, ${sizes.pending.toLocaleString('en')} pending; median of 5 calls in ms; acceptance: ${senders} concurrent single-event enqueues for ${acceptMs / 1000} s`,
);
console.log(
  `${'inbox'.padEnd(22)}${'counts'.padStart(9)}${'health'.padStart(9)}${'dead pg'.padStart(9)}${'resource'.padStart(9)}${'lease 4'.padStart(9)}${'enqueue/s'.padStart(11)}${'p99 ms'.padStart(9)}`,
);
try {
  await sqlite(dir);
  await postgres(env.C2P_TEST_POSTGRES_URL);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
for (const store of ['sqlite FULL', 'postgres']) {
  const empty = rows.find((r) => r.name === `${store}, empty`);
  const full = rows.find((r) => r.name === `${store}, backlog`);
  console.log(
    `${store}: with the backlog, acceptance keeps ${(full.perSecond / empty.perSecond).toFixed(2)} of the empty inbox's enqueues/s; p99 ${(full.p99 / empty.p99).toFixed(2)}x`,
  );
}

// Throughput of every idempotency store, measured in one run on one machine:
// claim+complete pairs per second (a duplicate's claim answers `completed` and
// needs no complete), for unique keys and a duplicate-heavy mix (9 in 10
// deliveries repeat a completed key), at concurrency 1 and 50. Then the floors
// that explain the figures: a bare round trip per server, and each SQL store
// without its per-commit fsync. Prints figures; asserts nothing.
//
// Then inbox acceptance through the pipeline (`createWebhooks({ inbox })`, every
// step of a real delivery: auth, parse, one commit into the inbox, the 200) for the
// memory, SQLite FULL and PostgreSQL inboxes at concurrency 1 and 50.
//
// Run: npm run pnpm -- --filter @c2p/bench stores   (starts PostgreSQL and Redis itself)
//      C2P_BENCH_MS=3000 ... to measure each case for longer (default 1500 ms).
//      --smoke: 100 ms per case (CI: the script still runs against every store).

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryInbox, createMemoryStore, createWebhooks, encodeBasicAuth } from '@c2p/core';
import { createPostgresInbox, createPostgresStore } from '@c2p/store-postgres';
import { createRedisStore } from '@c2p/store-redis';
import { createSqliteInbox, createSqliteStore } from '@c2p/store-sqlite';
import pg from 'pg';
import { createClient } from 'redis';
import { startServices } from '../scripts/services.mjs';

const smoke = process.argv.includes('--smoke');
const durationMs = smoke ? 100 : Number(process.env.C2P_BENCH_MS ?? 1500);
const LEASE = 30_000;
const RETAIN = 30 * 24 * 3600 * 1000;

const env = await startServices();
const dir = mkdtempSync(join(tmpdir(), 'c2p-bench-'));
const run = randomBytes(4).toString('hex');
const tables = [];

const stores = {
  memory: async () => createMemoryStore(),
  'sqlite FULL': async (id) =>
    createSqliteStore({ database: join(dir, `${id}.db`), synchronous: 'FULL' }),
  'sqlite NORMAL': async (id) =>
    createSqliteStore({ database: join(dir, `${id}.db`), synchronous: 'NORMAL' }),
  postgres: async (id) => {
    const table = `bench_${run}_${id}`;
    tables.push(table);
    const store = createPostgresStore({ connection: env.C2P_TEST_POSTGRES_URL, table, max: 50 });
    await store.migrate();
    return store;
  },
  redis: async (id) =>
    createRedisStore({ client: env.C2P_TEST_REDIS_URL, keyPrefix: `bench:${run}:${id}:` }),
};

/** One delivery: claim; complete when acquired. */
async function deliver(store, key) {
  const claim = await store.claim(key, LEASE);
  if (claim.status === 'acquired') await store.complete(key, claim.token, RETAIN);
  return claim.status;
}

/** Runs `concurrency` workers for durationMs; answers deliveries per second. */
async function measure(store, mix, concurrency) {
  const completed = [];
  if (mix === 'duplicates') {
    for (let i = 0; i < 100; i++) {
      const key = `seed-${i}`;
      await deliver(store, key);
      completed.push(key);
    }
  }
  let n = 0;
  let done = 0;
  const until = performance.now() + durationMs;
  const nextKey = () => {
    const i = n++;
    if (mix === 'duplicates' && i % 10 !== 0) return completed[i % completed.length];
    return `k-${concurrency}-${i}`;
  };
  const worker = async () => {
    while (performance.now() < until) {
      await deliver(store, nextKey());
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((performance.now() - start) / 1000);
}

const rows = [];
let id = 0;
for (const [name, make] of Object.entries(stores)) {
  const row = { store: name };
  for (const mix of ['unique', 'duplicates']) {
    for (const concurrency of [1, 50]) {
      const store = await make(`s${id++}`);
      await measure(store, 'unique', 1); // warm up: connections, prepared statements, scripts
      row[`${mix} c=${concurrency}`] = Math.round(await measure(store, mix, concurrency));
      await store.close?.();
    }
  }
  rows.push(row);
  console.log(`measured ${name}`);
}

console.log(
  `\nclaim+complete pairs per second (${durationMs} ms per case, ${process.platform}, node ${process.version})`,
);
console.table(rows);

// ---- Where the time goes ----------------------------------------------------

async function perSecond(fn, concurrency = 1) {
  let done = 0;
  const until = performance.now() + durationMs;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await fn(done);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

const floors = [];
const pool = new pg.Pool({ connectionString: env.C2P_TEST_POSTGRES_URL, max: 1 });
floors.push({
  what: 'postgres: SELECT 1 round trip',
  'per second': await perSecond(() => pool.query('SELECT 1')),
});
await pool.end();

const asyncPool = new pg.Pool({
  connectionString: env.C2P_TEST_POSTGRES_URL,
  max: 50,
  options: '-c synchronous_commit=off',
});
{
  const table = `bench_${run}_nofsync`;
  tables.push(table);
  const store = createPostgresStore({ connection: asyncPool, table });
  await store.migrate();
  await measure(store, 'unique', 1);
  floors.push({
    what: 'postgres store, synchronous_commit=off, unique c=1',
    'per second': await measure(store, 'unique', 1),
  });
}
await asyncPool.end();

const redis = createClient({ url: env.C2P_TEST_REDIS_URL });
await redis.connect();
floors.push({ what: 'redis: PING round trip', 'per second': await perSecond(() => redis.ping()) });
{
  // synchronous=OFF is not an option of the store (a power cut loses commits);
  // it is set on a connection passed in, only to show what the fsync costs.
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(join(dir, 'off.db'));
  const off = createSqliteStore({ database: db });
  db.pragma('synchronous = OFF');
  await measure(off, 'unique', 1);
  floors.push({
    what: 'sqlite store, synchronous=OFF, unique c=1',
    'per second': await measure(off, 'unique', 1),
  });
  await off.close();
  db.close();
}
const cleanup = createClient({ url: env.C2P_TEST_REDIS_URL });
await cleanup.connect();
for await (const keys of cleanup.scanIterator({ MATCH: `bench:${run}:*`, COUNT: 1000 })) {
  if (keys.length > 0) await cleanup.del(keys);
}
await cleanup.close();
await redis.close();

console.log('\nfloors: what one operation costs without the store around it');
console.table(floors.map((f) => ({ ...f, 'per second': Math.round(f['per second']) })));

// ---- Inbox acceptance through the pipeline ------------------------------------

const inboxes = {
  memory: async () => createMemoryInbox(),
  'sqlite FULL': async (id) =>
    createSqliteInbox({ database: join(dir, `${id}.db`), synchronous: 'FULL' }),
  postgres: async (id) => {
    const table = `bench_${run}_${id}`;
    tables.push(table);
    const inbox = createPostgresInbox({ connection: env.C2P_TEST_POSTGRES_URL, table, max: 50 });
    await inbox.migrate();
    return inbox;
  },
};
const authorization = encodeBasicAuth('clik2pay', 'correct horse battery staple');
const headers = { authorization, 'content-type': 'application/json' };
let eventId = 0;
const delivery = () => ({
  method: 'POST',
  header: (name) => headers[name],
  body: `[{"message":"The payer successfully completed the transaction.","eventType":"PAYMENT-COMPLETED","resourceType":"payment-request","resource":{"id":"8ecd810d-c0e2-40a6-8ab9-${String(++eventId).padStart(12, '0')}","merchantTransactionId":null,"amount":1.0,"type":"EBILL","status":"PAID","deliveryMode":"SMS","merchant":{"id":"a7815ec3-72cd-4efe-b809-28f14501a5d3","name":"Merchant name"},"payer":{"name":"firstName lastName"}}}]`,
  peerAddress: '127.0.0.1',
});
const inboxRows = [];
for (const [name, make] of Object.entries(inboxes)) {
  const row = { inbox: name };
  for (const concurrency of [1, 50]) {
    const inbox = await make(`i${id++}`);
    const webhooks = createWebhooks({
      credentials: { username: 'clik2pay', password: 'correct horse battery staple' },
      allowedIps: ['loopback'],
      inbox,
    });
    const accept = async () => {
      const response = await webhooks.handle(delivery());
      if (response.status !== 200) throw new Error(`${name}: answered ${response.status}`);
    };
    await perSecond(accept, concurrency); // warm up
    row[`accepted/s c=${concurrency}`] = Math.round(await perSecond(accept, concurrency));
    await inbox.close?.();
  }
  inboxRows.push(row);
}
const memoryAt50 = inboxRows[0]['accepted/s c=50'];
for (const row of inboxRows)
  row['c=50 / memory'] = (row['accepted/s c=50'] / memoryAt50).toFixed(2);
console.log(
  '\ninbox acceptance through createWebhooks({ inbox }): new single-event deliveries answered 200 per second',
);
console.table(inboxRows);

const dropPool = new pg.Pool({ connectionString: env.C2P_TEST_POSTGRES_URL, max: 1 });
for (const table of tables) await dropPool.query(`DROP TABLE IF EXISTS ${table}`);
await dropPool.end();
rmSync(dir, { recursive: true, force: true });

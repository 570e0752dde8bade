// Throughput of every idempotency store, measured in one run on one machine:
// claim+complete pairs per second (a duplicate's claim answers `completed` and
// needs no complete), for unique keys and a duplicate-heavy mix (9 in 10
// deliveries repeat a completed key), at concurrency 1 and 50. Then the floors
// that explain the figures: a bare round trip per server, and each SQL store
// without its per-commit fsync. Prints figures; asserts nothing.
//
// Run: npx pnpm@12.4.2 --filter @c2p/bench stores   (starts PostgreSQL and Redis itself)
//      C2P_BENCH_MS=3000 ... to measure each case for longer (default 1500 ms).

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore } from '@c2p/core';
import { createPostgresStore } from '@c2p/store-postgres';
import { createRedisStore } from '@c2p/store-redis';
import { createSqliteStore } from '@c2p/store-sqlite';
import pg from 'pg';
import { createClient } from 'redis';
import { startServices } from '../scripts/services.mjs';

const durationMs = Number(process.env.C2P_BENCH_MS ?? 1500);
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

const dropPool = new pg.Pool({ connectionString: env.C2P_TEST_POSTGRES_URL, max: 1 });
for (const table of tables) await dropPool.query(`DROP TABLE IF EXISTS ${table}`);
await dropPool.end();
rmSync(dir, { recursive: true, force: true });

/**
 * `counts()` from `<table>_counts`, kept by triggers (issue 22: 177 ms counting
 * a backlog of 1.1 million events). Each test checks the counts against the
 * table itself, counted with `GROUP BY state`.
 */
import { randomBytes } from 'node:crypto';
import type { InboxState } from '@c2p/core';
import { inboxStates } from '@c2p/core';
import type { InboxRecord } from '@c2p/core/kit';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { PostgresInbox } from '../src/index.js';
import { createPostgresInbox } from '../src/index.js';
import { inboxSql } from '../src/postgres-inbox.js';
import { foldAbove } from '../src/postgres-inbox-counts.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const admin = new pg.Pool({ connectionString: url, max: 4 });
admin.on('error', () => undefined);
const tables: string[] = [];
const inboxes: PostgresInbox[] = [];
afterAll(async () => {
  await Promise.allSettled(inboxes.map((inbox) => inbox.close()));
  for (const table of tables) await dropInbox(table);
  await admin.end();
});

/** The trigger functions migrate() creates, `<table>_<name>`. */
const countFunctions = ['count_added', 'count_removed', 'count_moved', 'count_cleared'];

/** Drops an inbox's tables and its count functions (DROP TABLE leaves functions). */
async function dropInbox(table: string): Promise<void> {
  await admin
    .query(`DROP TABLE IF EXISTS "${table}", "${table}_settings", "${table}_counts"`)
    .catch(() => undefined);
  for (const name of countFunctions) {
    await admin.query(`DROP FUNCTION IF EXISTS "${table}_${name}"()`).catch(() => undefined);
  }
}

const freshName = (): string => {
  const table = `c2p_${randomBytes(6).toString('hex')}`;
  tables.push(table);
  return table;
};

/** Each inbox its own pools, as each process has. `offset` moves its clock. */
function open(table: string, clock?: { offset: number }): PostgresInbox {
  const inbox = createPostgresInbox({
    connection: url,
    table,
    max: 4,
    workerMax: 4,
    retainMs: 60_000,
    sweepBatch: 7,
    ...(clock && { now: () => Date.now() + clock.offset }),
  });
  inboxes.push(inbox);
  return inbox;
}

let serial = 0;
const records = (count: number, prefix = 'r'): InboxRecord[] =>
  Array.from({ length: count }, () => {
    const n = ++serial;
    return {
      key: `${prefix}:${n}`,
      resourceKey: `payment-request:${prefix}-${n}`,
      eventType: 'PAYMENT-COMPLETED',
      payload: '{}',
      receivedAt: Date.now(),
      clientIp: null,
    };
  });

/** The table counted with GROUP BY, every state present. */
async function tableCounts(table: string): Promise<Record<InboxState, number>> {
  const { rows } = await admin.query<{ state: InboxState; count: number }>(
    `SELECT state, count(*)::int AS count FROM "${table}" GROUP BY state`,
  );
  const counts = Object.fromEntries(inboxStates.map((state) => [state, 0])) as Record<
    InboxState,
    number
  >;
  for (const { state, count } of rows) counts[state] = count;
  return counts;
}

const deltaRows = async (table: string): Promise<number> =>
  (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}_counts"`)).rows[0]
    ?.n ?? -1;

/** Leases what is due and settles each lease: complete, retry later, or dead, in turn. */
async function work(inbox: PostgresInbox): Promise<void> {
  const leases = await inbox.lease(12, 30_000);
  await Promise.all(
    leases.map(({ entry, token }, index) =>
      index % 3 === 0
        ? inbox.complete(entry.id, token)
        : inbox.fail(entry.id, token, {
            error: 'down',
            retryAt: index % 3 === 1 ? Date.now() - 1 : null,
          }),
    ),
  );
}

describe('PostgreSQL inbox counts', () => {
  it('match the table after every kind of change, two inboxes writing, reading and folding at once', async () => {
    const table = freshName();
    const clock = { offset: 0 };
    const one = open(table, clock);
    const other = open(table, clock);
    await Promise.all([one.migrate(), other.migrate()]);
    let reads = 0;
    const round = async (inbox: PostgresInbox, other: PostgresInbox, n: number) => {
      const batch = records(20, `round${n}`);
      // The same delivery through both inboxes: each event stored once.
      await Promise.all([inbox.enqueue(batch), other.enqueue(batch)]);
      await work(inbox);
      await work(other);
      const [dead] = (await inbox.search({ state: 'dead', limit: 1 })).entries;
      if (dead) await other.resolve(dead.id, 'settled by hand');
      await inbox.replayMatching({ eventType: 'PAYMENT-COMPLETED' });
      await Promise.all([inbox.counts(), other.counts(), other.sweep()]);
      reads += 3;
    };
    const rounds = Array.from({ length: 12 }, (_, n) =>
      n % 2 === 0 ? round(one, other, n) : round(other, one, n),
    );
    // Between them, readers that fold whenever the deltas pile up.
    let reading = true;
    const reader = (async () => {
      while (reading) {
        await one.counts();
        reads++;
      }
    })();
    await Promise.all(rounds);
    // Past the retention: the sweeps delete processed and resolved events, 7 at a time.
    clock.offset = 120_000;
    while ((await one.sweep()) > 0);
    reading = false;
    await reader;
    const counted = await tableCounts(table);
    console.log(
      `[counts] 12 rounds from two inboxes, ${reads} reads: ${JSON.stringify(counted)}; ${await deltaRows(table)} delta rows`,
    );
    expect(counted.processed + counted.resolved).toBe(0);
    expect(counted.pending + counted.retrying + counted.dead).toBeGreaterThan(0);
    expect(await one.counts()).toEqual(counted);
    expect(await other.counts()).toEqual(counted);
  }, 60_000);

  it('fold the deltas into one row per state, while writers add theirs, losing none', async () => {
    const table = freshName();
    const inbox = open(table);
    await inbox.migrate();
    for (let i = 0; i < 3 * foldAbove; i++) await inbox.enqueue(records(1, 'fold'));
    expect(await deltaRows(table)).toBeGreaterThan(foldAbove);
    // Three readers fold at once while deliveries keep adding deltas.
    await Promise.all([
      inbox.counts(),
      inbox.counts(),
      inbox.counts(),
      ...Array.from({ length: 20 }, () => inbox.enqueue(records(1, 'fold'))),
    ]);
    await inbox.counts();
    const rows = await deltaRows(table);
    console.log(`[counts] ${3 * foldAbove + 20} deliveries; after the folds ${rows} delta rows`);
    expect(rows).toBeLessThan(30);
    expect(await inbox.counts()).toEqual(await tableCounts(table));
    expect((await inbox.counts()).pending).toBe(3 * foldAbove + 20);
  });

  it('read <table>_counts alone, never the events table', async () => {
    const table = freshName();
    const inbox = open(table);
    await inbox.migrate();
    const { rows } = await admin.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN ${inboxSql(table).counts}`,
    );
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    expect(plan).toContain(`${table}_counts`);
    expect(plan).not.toMatch(new RegExp(`on ${table}(?!_counts)\\b`));
  });

  it("are emptied by a TRUNCATE that waited for a fold, the fold's sums included", async () => {
    const table = freshName();
    const inbox = open(table);
    await inbox.migrate();
    await inbox.enqueue(records(5, 'truncate'));
    // A fold holding its rows, uncommitted, while the inbox is truncated.
    const folding = await admin.connect();
    try {
      await folding.query('BEGIN');
      await folding.query(inboxSql(table).foldCounts);
      const truncated = admin.query(`TRUNCATE "${table}"`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await folding.query('COMMIT');
      await truncated;
    } finally {
      folding.release();
    }
    expect(await inbox.counts()).toEqual(await tableCounts(table));
    expect((await inbox.counts()).pending).toBe(0);
  });

  it('fill again from an events table dropped and made again while the counts stayed', async () => {
    const table = freshName();
    const inbox = open(table);
    await inbox.migrate();
    await inbox.enqueue(records(4, 'before'));
    await admin.query(`DROP TABLE "${table}"`);
    const again = open(table);
    await again.migrate();
    expect(await again.counts()).toEqual(await tableCounts(table));
    await again.enqueue(records(2, 'after'));
    expect((await again.counts()).pending).toBe(2);
  });

  it('are emptied by TRUNCATE, and fill from the table where an earlier version made it', async () => {
    const table = freshName();
    const inbox = open(table);
    await inbox.migrate();
    await inbox.enqueue(records(5, 'old'));
    await work(inbox);
    await admin.query(`TRUNCATE "${table}"`);
    expect(await inbox.counts()).toEqual(await tableCounts(table));
    // The version before counts: no counts table, no triggers, rows in several states.
    await dropInbox(table);
    const earlier = open(table);
    await earlier.migrate();
    await admin.query(`DROP TABLE "${table}_counts"`);
    for (const name of countFunctions) {
      await admin.query(`DROP FUNCTION "${table}_${name}"() CASCADE`);
    }
    await earlier.enqueue(records(9, 'earlier'));
    await work(earlier);
    const before = await tableCounts(table);
    await Promise.all([earlier.migrate(), earlier.migrate()]);
    expect(await earlier.counts()).toEqual(before);
    await earlier.enqueue(records(2, 'after'));
    await work(earlier);
    expect(await earlier.counts()).toEqual(await tableCounts(table));
    expect(before.dead + before.retrying + before.processed).toBe(9);
  });
});

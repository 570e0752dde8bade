import { randomBytes } from 'node:crypto';
import type { InboxFilter, InboxSearch } from '@c2p/core';
import { isC2pError } from '@c2p/core';
import type { InboxRecord } from '@c2p/core/kit';
import { checkInboxSearch, inboxCursor, inboxSelectList } from '@c2p/core/kit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresInbox } from '../src/index.js';
import { createPostgresInbox } from '../src/index.js';
import { inboxSql } from '../src/postgres-inbox.js';
import { inboxFilterSql, inboxSearchSql } from '../src/postgres-inbox-filter.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const pool = new pg.Pool({ connectionString: url, max: 4 });
pool.on('error', () => undefined);
const tables: string[] = [];
const inboxes: PostgresInbox[] = [];
afterAll(async () => {
  await Promise.allSettled(inboxes.map((inbox) => inbox.close()));
  for (const table of tables) {
    await pool
      .query(`DROP TABLE IF EXISTS ${table}, ${table}_settings, ${table}_counts`)
      .catch(() => undefined);
  }
  await pool.end();
});

const freshName = (): string => {
  const table = `c2p_${randomBytes(6).toString('hex')}`;
  tables.push(table);
  return table;
};

const open = (table: string): PostgresInbox => {
  const inbox = createPostgresInbox({ connection: url, table, max: 3, workerMax: 3 });
  inboxes.push(inbox);
  return inbox;
};

let serial = 0;
const record = (resource: string, eventType = 'PAYMENT-COMPLETED'): InboxRecord => ({
  key: `${resource}:${++serial}`,
  resourceKey: `payment-request:${resource}`,
  eventType,
  payload: JSON.stringify({ eventType, resource: { id: resource } }),
  receivedAt: Date.now(),
  clientIp: '127.0.0.1',
});

/** Leases every due event and fails it for good: `count` dead events. */
async function killAll(inbox: PostgresInbox, count: number): Promise<void> {
  let dead = 0;
  while (dead < count) {
    const leases = await inbox.lease(100, 30_000);
    if (leases.length === 0) throw new Error(`only ${dead} of ${count} events were due`);
    for (const { entry, token } of leases) {
      await inbox.fail(entry.id, token, { error: 'down', retryAt: null });
      dead++;
    }
  }
}

// The table as @c2p/store-postgres made it before the operations (issue 19).
const previousVersionSql = (table: string): string[] => [
  `CREATE TABLE "${table}" (
    id bigserial PRIMARY KEY, key text NOT NULL UNIQUE, resource_key text NOT NULL,
    event_type text NOT NULL, payload text NOT NULL, received_at bigint NOT NULL, client_ip text,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'retrying', 'dead', 'processed')),
    attempts integer NOT NULL DEFAULT 0, next_attempt_at bigint, locked_until bigint,
    lease_token text, last_error text, processed_at bigint,
    unfinished boolean NOT NULL GENERATED ALWAYS AS (state IN ('pending', 'retrying')) STORED)`,
  `CREATE INDEX "${table}_due" ON "${table}" (id) WHERE unfinished`,
  `CREATE INDEX "${table}_resource" ON "${table}" (resource_key, id) WHERE unfinished`,
  `CREATE INDEX "${table}_processed" ON "${table}" (processed_at) WHERE state = 'processed'`,
  `CREATE INDEX "${table}_dead" ON "${table}" (id) WHERE state = 'dead'`,
  `INSERT INTO "${table}" (key, resource_key, event_type, payload, received_at, state, attempts, last_error, processed_at, next_attempt_at)
   VALUES ('old-1', 'payment-request:A', 'PAYMENT-COMPLETED', '{}', 1, 'dead', 5, 'down', NULL, NULL),
          ('old-2', 'payment-request:B', 'PAYMENT-COMPLETED', '{}', 2, 'processed', 1, NULL, 2, NULL),
          ('old-3', 'payment-request:C', 'PAYMENT-FAILED', '{}', 3, 'pending', 0, NULL, NULL, 0)`,
];

describe('PostgreSQL inbox operations', () => {
  it('upgrades a table the previous version made, keeping its rows, idempotently', async () => {
    const table = freshName();
    for (const text of previousVersionSql(table)) await pool.query(text);
    const inbox = open(table);
    await Promise.all([inbox.migrate(), inbox.migrate()]);
    await inbox.migrate();
    expect(await inbox.counts()).toEqual({
      pending: 1,
      retrying: 0,
      dead: 1,
      processed: 1,
      resolved: 0,
    });
    const [dead] = (await inbox.search({ state: 'dead' })).entries;
    expect(dead).toMatchObject({ key: 'old-1', attempts: 5, lastError: 'down' });
    expect(await inbox.history(dead?.id ?? '')).toEqual([]);
    expect(await inbox.resolve(dead?.id ?? '', 'refunded by hand')).toBe(true);
    expect(await inbox.history(dead?.id ?? '')).toEqual([
      { at: expect.any(Number), action: 'resolved', note: 'refunded by hand' },
    ]);
    // The counts filled at the upgrade follow the change.
    expect(await inbox.counts()).toMatchObject({ dead: 0, resolved: 1 });
    expect(await inbox.isPaused()).toBe(false);
    const page = await inbox.search({ limit: 2 });
    expect(page.entries.map((entry) => entry.key)).toEqual(['old-3', 'old-2']);
    expect((await inbox.search({ limit: 2, after: page.next })).entries.map((e) => e.key)).toEqual([
      'old-1',
    ]);
  });

  it('pauses every process of the table, across a new instance, and accepts deliveries meanwhile', async () => {
    const table = freshName();
    const one = open(table);
    const other = open(table);
    await one.migrate();
    await one.setPaused(true);
    expect(await other.enqueue([record('P-1'), record('P-2')])).toEqual([true, true]);
    expect(await other.lease(10, 30_000)).toEqual([]);
    expect(await one.lease(10, 30_000)).toEqual([]);
    const restarted = open(table);
    await restarted.migrate();
    expect(await restarted.isPaused()).toBe(true);
    expect(await restarted.lease(10, 30_000)).toEqual([]);
    await other.setPaused(false);
    expect(await one.isPaused()).toBe(false);
    expect((await one.lease(10, 30_000)).map(({ entry }) => entry.resourceKey)).toEqual([
      'payment-request:P-1',
      'payment-request:P-2',
    ]);
  });

  it('replays each dead event once when two processes replay the same filter at once', async () => {
    const table = freshName();
    const one = open(table);
    const other = open(table);
    await one.migrate();
    const records = Array.from({ length: 200 }, (_, n) => record(`R-${n}`));
    await one.enqueue(records);
    await killAll(one, 200);
    const filter: InboxFilter = { eventType: 'PAYMENT-COMPLETED' };
    expect(await other.replayMatching(filter, { dryRun: true })).toBe(200);
    const counts = await Promise.all([
      one.replayMatching(filter),
      other.replayMatching(filter),
      one.replayMatching({ ...filter, state: 'dead' }),
    ]);
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(200);
    expect(await one.replayMatching(filter)).toBe(0);
    const replays = await pool.query(
      `SELECT count(*)::int AS n FROM ${table}, jsonb_array_elements(history) AS item
       WHERE item->>'action' = 'replayed'`,
    );
    expect(replays.rows).toEqual([{ n: 200 }]);
    expect((await one.counts()).pending).toBe(200);
  });

  it('refuses to bulk-replay any state but dead, naming filter.state', async () => {
    const inbox = open(freshName());
    await inbox.migrate();
    const error = await inbox.replayMatching({ state: 'processed' }).catch((e: unknown) => e);
    expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toContain('filter.state');
  });

  it('keeps the newest 50 history items of an event, attempts with their duration', async () => {
    const table = freshName();
    const inbox = open(table);
    await inbox.migrate();
    await inbox.enqueue([record('H-1')]);
    for (let round = 0; round < 30; round++) {
      const [lease] = await inbox.lease(1, 30_000);
      if (!lease) throw new Error('nothing due');
      await inbox.fail(lease.entry.id, lease.token, {
        error: `down ${round}`,
        retryAt: null,
        startedAt: Date.now() - 40,
      });
      expect(await inbox.replay(lease.entry.id)).toBe(true);
    }
    const [lease] = await inbox.lease(1, 30_000);
    if (!lease) throw new Error('nothing due');
    await inbox.complete(lease.entry.id, lease.token, { startedAt: Date.now() - 5 });
    const history = await inbox.history(lease.entry.id);
    expect(history).toHaveLength(50);
    // 61 items were written: the oldest 11 (6 failures, 5 replays) are gone.
    expect(history[0]).toMatchObject({ action: 'replayed' });
    expect(history[1]).toMatchObject({ action: 'attempt', outcome: 'dead', error: 'down 6' });
    expect(history[1]?.durationMs).toBeGreaterThanOrEqual(30);
    expect(history[49]).toMatchObject({ action: 'attempt', outcome: 'processed' });
    expect(history.map((item) => item.at)).toEqual(
      [...history.map((item) => item.at)].sort((a, b) => a - b),
    );
  });

  it("records completeWithin's attempt with the time its transaction took", async () => {
    const inbox = open(freshName());
    await inbox.migrate();
    await inbox.enqueue([record('W-1')]);
    const [lease] = await inbox.lease(1, 30_000);
    if (!lease) throw new Error('nothing due');
    const done = await inbox.completeWithin(lease.entry.id, lease.token, async (tx) => {
      await tx.query('SELECT pg_sleep(0.06)');
    });
    expect(done).toBe(true);
    const [item] = await inbox.history(lease.entry.id);
    expect(item).toMatchObject({ action: 'attempt', outcome: 'processed' });
    expect(item?.durationMs).toBeGreaterThanOrEqual(55);
    expect(item?.durationMs).toBeLessThan(5_000);
  });

  it('sweeps processed and resolved events past the retention, never dead or unfinished ones', async () => {
    const table = freshName();
    let now = 1_000_000;
    const inbox = createPostgresInbox({
      connection: url,
      table,
      retainMs: 1000,
      now: () => now,
      max: 2,
      workerMax: 2,
    });
    inboxes.push(inbox);
    await inbox.migrate();
    await inbox.enqueue(['S-1', 'S-2', 'S-3', 'S-4'].map((id) => record(id)));
    const leases = await inbox.lease(3, 30_000);
    const [first, second, third] = leases;
    if (!first || !second || !third) throw new Error('three leases expected');
    await inbox.complete(first.entry.id, first.token);
    await inbox.fail(second.entry.id, second.token, { error: 'x', retryAt: null });
    await inbox.fail(third.entry.id, third.token, { error: 'x', retryAt: null });
    expect(await inbox.resolve(third.entry.id, 'done by hand')).toBe(true);
    now += 5000;
    expect(await inbox.sweep()).toBe(2);
    expect(await inbox.counts()).toEqual({
      pending: 1,
      retrying: 0,
      dead: 1,
      processed: 0,
      resolved: 0,
    });
  });
});

/** Every node of an EXPLAIN (FORMAT JSON) plan, depth first. */
function planNodes(node: Record<string, unknown>): Array<Record<string, unknown>> {
  const children = (node.Plans as Array<Record<string, unknown>> | undefined) ?? [];
  return [node, ...children.flatMap(planNodes)];
}

describe('PostgreSQL inbox search plans, on 200,000 events', () => {
  const table = freshName();
  const rows = 200_000;
  const base = 1_700_000_000_000;

  beforeAll(async () => {
    const inbox = open(table);
    await inbox.migrate();
    // 40,000 resources of 5 events, 6 event types and a rare one, 90% processed, 5% dead,
    // 3% pending, 2% retrying, one event a second.
    await pool.query(
      `INSERT INTO "${table}" (key, resource_key, event_type, payload, received_at, state, processed_at, next_attempt_at)
       SELECT 'key-' || g, 'payment-request:' || (g % 40000),
         CASE WHEN g % 1000 = 7 THEN 'REFUNDED' ELSE 'TYPE-' || (g % 6) END, '{}', ${base} + g * 1000,
         CASE WHEN g % 100 < 90 THEN 'processed' WHEN g % 100 < 95 THEN 'dead'
              WHEN g % 100 < 98 THEN 'pending' ELSE 'retrying' END,
         CASE WHEN g % 100 < 90 THEN ${base} + g * 1000 END,
         CASE WHEN g % 100 >= 95 THEN ${base} + g * 1000 END
       FROM generate_series(1, ${rows}) AS g`,
    );
    await pool.query(`ANALYZE "${table}"`);
  }, 120_000);

  const cases: Array<[string, InboxSearch, string[]]> = [
    ['state', { state: 'dead' }, [`${table}_by_state`, `${table}_dead`]],
    ['resourceKey', { resourceKey: 'payment-request:1234' }, [`${table}_by_resource`]],
    ['a rare eventType', { eventType: 'REFUNDED' }, [`${table}_by_type`]],
    // A sixth of the rows: the primary key newest first, stopping at the page, is cheaper.
    ['a common eventType', { eventType: 'TYPE-3' }, [`${table}_by_type`, `${table}_pkey`]],
    ['key', { key: 'key-777' }, [`${table}_key_key`]],
    [
      'receivedSince',
      { receivedSince: base + (rows - 500) * 1000 },
      [`${table}_by_received`, `${table}_pkey`],
    ],
    ['receivedBefore', { receivedBefore: base + 500 * 1000 }, [`${table}_by_received`]],
    ['ids', { ids: ['10', '20', '30'] }, [`${table}_pkey`]],
    ['a cursor alone', { after: inboxCursor('150000') }, [`${table}_pkey`]],
    [
      'state, eventType and receivedSince',
      { state: 'dead', eventType: 'TYPE-1', receivedSince: base + 1000 * 1000 },
      [`${table}_by_state`, `${table}_dead`, `${table}_by_type`],
    ],
    [
      'resourceKey and state, on a later page',
      { resourceKey: 'payment-request:99', state: 'processed', after: inboxCursor('190000') },
      [`${table}_by_resource`],
    ],
  ];

  it.each(cases)('answers a search by %s from an index', async (_name, query, indexes) => {
    const { text, values } = inboxSearchSql(
      `"${table}"`,
      inboxSelectList(),
      checkInboxSearch(query),
    );
    const explained = await pool.query(`EXPLAIN (FORMAT JSON) ${text}`, values);
    const plan = (explained.rows[0] as { 'QUERY PLAN': Array<{ Plan: Record<string, unknown> }> })[
      'QUERY PLAN'
    ][0]?.Plan as Record<string, unknown>;
    const nodes = planNodes(plan);
    const used = nodes.map((node) => node['Index Name']).filter((name) => name !== undefined);
    const text2 = await pool.query(`EXPLAIN ${text}`, values);
    console.log(
      `search by ${_name}:\n${text2.rows.map((row) => `  ${row['QUERY PLAN']}`).join('\n')}`,
    );
    expect(nodes.map((node) => node['Node Type'])).not.toContain('Seq Scan');
    expect(used.some((name) => indexes.includes(String(name)))).toBe(true);
  });

  it("leases the next due events from an index: each resource's head, no scan of the table", async () => {
    // $1 the clock (all due), $2 the limit, $3 the lease.
    const params = [base + (rows + 1) * 1000, 4, 30_000];
    const plan = (await pool.query(`EXPLAIN ${inboxSql(table).lease}`, params)).rows
      .map((row) => String(row['QUERY PLAN']))
      .join('\n');
    console.log(`lease of 4 among ${rows} events (10,000 unfinished):\n${plan}`);
    // The one-row settings table may be scanned; the inbox never.
    expect(plan).not.toMatch(new RegExp(`Seq Scan on ${table}\\b`));
    // Due events in id order from the partial index, each one's earlier events by resource.
    expect(plan).toContain(`Index Scan using ${table}_due`);
    expect(plan).toContain(`Index Scan using ${table}_resource`);
  });

  it('counts a bulk replay by resource from an index', async () => {
    const values: unknown[] = [];
    const where = inboxFilterSql({ state: 'dead', resourceKey: 'payment-request:42' }, values);
    const explained = await pool.query(
      `EXPLAIN SELECT count(*) FROM "${table}" WHERE ${where.join(' AND ')}`,
      values,
    );
    const plan = explained.rows.map((row) => String(row['QUERY PLAN'])).join('\n');
    console.log(`bulk replay's count by resource:\n${plan}`);
    expect(plan).not.toContain('Seq Scan');
    expect(plan).toContain(`${table}_by_resource`);
  });
});

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InboxFilter, InboxState } from '@c2p/core';
import type { InboxRecord } from '@c2p/core/kit';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteInbox, type SqliteInbox } from '../src/index.js';
import { leaseCandidatesSql } from '../src/sqlite-inbox.js';
import { searchSql } from '../src/sqlite-inbox-operations.js';
import { countsReadSql, inboxTables } from '../src/sqlite-inbox-schema.js';
import { databaseFiles, tempFolder } from './support/sqlite-files.js';

// What the conformance suite cannot see: the SQLite inbox's upgrade of an
// earlier version's database, the index behind each filter, and the history's
// bound in its own table.

const file = databaseFiles(tempFolder('inbox-operations'));
const opened: SqliteInbox[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((inbox) => inbox.close()));
});
const open = (database: string): SqliteInbox => {
  const inbox = createSqliteInbox({ database });
  opened.push(inbox);
  return inbox;
};

const record = (n: number): InboxRecord => ({
  key: `payment-request:PR-${n}:PAYMENT-COMPLETED:PAID`,
  resourceKey: `payment-request:PR-${n}`,
  eventType: 'PAYMENT-COMPLETED',
  payload: JSON.stringify({ n }),
  receivedAt: 1_700_000_000_000 + n,
  clientIp: null,
});

/** The table and indexes exactly as the previous version created them. */
const previousVersionSql = `
  CREATE TABLE "c2p_inbox" (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    resource_key TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    client_ip TEXT,
    state TEXT NOT NULL DEFAULT 'pending'
      CHECK (state IN ('pending', 'retrying', 'dead', 'processed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error TEXT,
    processed_at INTEGER,
    lease_token TEXT,
    locked_until INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX "c2p_inbox_resource" ON "c2p_inbox" (resource_key, id) WHERE state IN ('pending', 'retrying');
  CREATE INDEX "c2p_inbox_due" ON "c2p_inbox" (next_attempt_at) WHERE state IN ('pending', 'retrying');
  CREATE INDEX "c2p_inbox_state" ON "c2p_inbox" (state, id);
  CREATE INDEX "c2p_inbox_processed" ON "c2p_inbox" (processed_at) WHERE state = 'processed';`;

describe('the SQLite inbox operations', () => {
  it('opens a database of the previous version and keeps its events, ids and counter', async () => {
    const path = file();
    const old = new Database(path);
    old.exec(previousVersionSql);
    const insert = old.prepare(
      `INSERT INTO c2p_inbox (key, resource_key, event_type, payload, received_at, state, attempts, last_error, processed_at)
       VALUES (?, ?, 'PAYMENT-COMPLETED', '{}', ?, ?, ?, ?, ?)`,
    );
    insert.run('k1', 'payment-request:1', 1, 'dead', 5, 'refused', null);
    insert.run('k2', 'payment-request:2', 2, 'processed', 1, null, 10);
    insert.run('k3', 'payment-request:3', 3, 'pending', 0, null, null);
    insert.run('k4', 'payment-request:4', 4, 'processed', 1, null, 11);
    // The newest was swept: its id must never be given out again.
    old.exec(`DELETE FROM c2p_inbox WHERE key = 'k4'`);
    old.close();

    const inbox = open(path);
    expect(await inbox.counts()).toEqual({
      pending: 1,
      retrying: 0,
      dead: 1,
      processed: 1,
      resolved: 0,
    });
    expect(await inbox.get('1')).toMatchObject({ key: 'k1', state: 'dead', attempts: 5 });
    expect(await inbox.resolve('1', 'refunded by hand')).toBe(true);
    expect(await inbox.history('1')).toMatchObject([
      { action: 'resolved', note: 'refunded by hand' },
    ]);
    expect(await inbox.enqueue([record(5)])).toEqual([true]);
    const [newest] = (await inbox.search({ limit: 1 })).entries;
    expect(newest?.id).toBe('5');
    expect(await inbox.enqueue([{ ...record(6), key: 'k2' }])).toEqual([false]);
    // The counts filled at the upgrade follow each change.
    expect(await inbox.counts()).toMatchObject({ pending: 2, dead: 0, resolved: 1, processed: 1 });
    await inbox.close();

    // Opening it again (and migrating again) changes nothing.
    const again = open(path);
    await again.migrate();
    expect((await again.search({ limit: 10 })).entries.map((e) => e.key)).toEqual([
      newest?.key,
      'k3',
      'k2',
      'k1',
    ]);
    expect((await again.get('1'))?.state).toBe('resolved');
    const db = new Database(path, { readonly: true });
    const indexes = db
      .prepare<[], { name: string }>(
        `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'c2p_inbox' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
      )
      .all()
      .map(({ name }) => name);
    db.close();
    expect(indexes).not.toContain('c2p_inbox_processed');
    expect(indexes).toContain('c2p_inbox_finished');
  });

  it("leases from indexes: each unfinished state's walk in id order, each resource's earlier events by resource, no scan", async () => {
    const path = file();
    const inbox = open(path);
    await inbox.enqueue(Array.from({ length: 2_000 }, (_, n) => record(n)));
    const db = new Database(path);
    // The very statement a lease runs.
    const leasePlan = (when: string): string[] => {
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${leaseCandidatesSql('"c2p_inbox"')}`)
        .all({ now: Date.now(), limit: 4 })
        .map((row) => (row as { detail: string }).detail);
      console.log(`SQLite lease plan, ${when}:\n  ${plan.join('\n  ')}`);
      return plan;
    };
    try {
      // As the store leaves it (it never runs ANALYZE), with 2,000 pending; then with
      // statistics of a settled inbox: 9 in 10 events processed.
      const young = leasePlan('2,000 pending, no statistics');
      db.exec(`UPDATE c2p_inbox SET state = 'processed', processed_at = 1 WHERE id % 10 <> 0`);
      db.exec('ANALYZE');
      const settled = leasePlan('9 in 10 processed, analyzed');
      for (const plan of [young, settled]) {
        expect(plan.filter((line) => /^SCAN (c2p_inbox|entry|earlier)\b/.test(line))).toEqual([]);
        expect(plan.some((line) => /SEARCH entry USING INDEX c2p_inbox_state\b/.test(line))).toBe(
          true,
        );
        expect(plan.some((line) => /SEARCH earlier USING (COVERING )?INDEX/.test(line))).toBe(true);
      }
    } finally {
      db.close();
    }
  });

  it('has an index behind every search filter', async () => {
    const path = file();
    const inbox = open(path);
    await inbox.enqueue(Array.from({ length: 50 }, (_, n) => record(n)));
    const db = new Database(path);
    db.exec('ANALYZE');
    const filters: [InboxFilter, RegExp][] = [
      [{ state: 'dead' }, /USING (COVERING )?INDEX c2p_inbox_state\b/],
      [{ resourceKey: 'payment-request:PR-1' }, /USING (COVERING )?INDEX c2p_inbox_by_resource/],
      [{ eventType: 'PAYMENT-FAILED' }, /USING (COVERING )?INDEX c2p_inbox_by_type/],
      [{ key: 'k' }, /USING INDEX sqlite_autoindex_c2p_inbox_1/],
      [{ receivedSince: 1, receivedBefore: 2 }, /USING INDEX c2p_inbox_by_received/],
      [{ ids: ['1', '2'] }, /USING INTEGER PRIMARY KEY/],
    ];
    try {
      for (const [filter, index] of filters) {
        // The very statement a search runs, with a cursor.
        const { sql, params } = searchSql(
          { ...filter, limit: 50, afterId: '40' },
          { events: '"c2p_inbox"' },
        );
        const plan = db
          .prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .all(params)
          .map((row) => (row as { detail: string }).detail)
          .join('; ');
        expect(plan, JSON.stringify(filter)).toMatch(index);
        expect(plan, JSON.stringify(filter)).not.toMatch(/^SCAN c2p_inbox\b/);
      }
    } finally {
      db.close();
    }
  });

  it('counts from c2p_inbox_counts, kept by triggers through every change by any connection', async () => {
    let now = 1_700_000_000_000;
    const path = file();
    const inbox = createSqliteInbox({ database: path, now: () => now, retainMs: 60_000 });
    opened.push(inbox);
    const other = createSqliteInbox({ database: path, now: () => now, retainMs: 60_000 });
    opened.push(other);
    const db = new Database(path);
    const counted = (): Record<InboxState, number> => {
      const counts: Record<InboxState, number> = {
        pending: 0,
        retrying: 0,
        dead: 0,
        processed: 0,
        resolved: 0,
      };
      const rows = db
        .prepare<[], { state: InboxState; n: number }>(
          'SELECT state, count(*) AS n FROM c2p_inbox GROUP BY state',
        )
        .all();
      for (const { state, n } of rows) counts[state] = n;
      return counts;
    };
    try {
      for (let round = 0; round < 6; round++) {
        const batch = Array.from({ length: 30 }, (_, n) => record(round * 100 + n));
        // One delivery through both connections: each event stored once.
        await Promise.all([inbox.enqueue(batch), other.enqueue(batch)]);
        const leases = await inbox.lease(20, 60_000);
        for (const [index, { entry, token }] of leases.entries()) {
          if (index % 3 === 0) await inbox.complete(entry.id, token);
          else if (index % 3 === 1) await other.fail(entry.id, token, { error: 'x', retryAt: now });
          else await inbox.fail(entry.id, token, { error: 'x', retryAt: null });
        }
        const [dead] = (await other.search({ state: 'dead', limit: 1 })).entries;
        if (dead) await inbox.resolve(dead.id, 'by hand');
        if (round % 2 === 1) await other.replayMatching({ eventType: 'PAYMENT-COMPLETED' });
        expect(await inbox.counts()).toEqual(counted());
      }
      // Past the retention, the sweep deletes processed and resolved events; a
      // write by a connection that is no inbox at all is counted too.
      now += 120_000;
      while ((await other.sweep()) > 0);
      db.prepare(`DELETE FROM c2p_inbox WHERE id IN (SELECT id FROM c2p_inbox LIMIT 3)`).run();
      const final = counted();
      console.log(
        `[counts] after 6 rounds, the sweep and a foreign DELETE: ${JSON.stringify(final)}`,
      );
      expect(final.processed + final.resolved).toBe(0);
      expect(final.pending + final.retrying + final.dead).toBeGreaterThan(0);
      expect(await inbox.counts()).toEqual(final);
      expect(await other.counts()).toEqual(final);
      // And counts() reads those few rows, never the events table.
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${countsReadSql(inboxTables('c2p_inbox'))}`)
        .all()
        .map((row) => (row as { detail: string }).detail);
      expect(plan).toEqual(['SCAN c2p_inbox_counts']);
    } finally {
      db.close();
    }
  });

  it('fills the counts again from an events table dropped and made again while they stayed', async () => {
    const path = file();
    const inbox = open(path);
    await inbox.enqueue([record(1), record(2), record(3)]);
    await inbox.close();
    const db = new Database(path);
    db.exec('DROP TABLE c2p_inbox');
    db.close();
    const again = open(path);
    expect(await again.counts()).toMatchObject({ pending: 0 });
    await again.enqueue([record(4)]);
    expect(await again.counts()).toMatchObject({ pending: 1 });
  });

  it("keeps at most 50 history rows per event in its own table, and the paused flag in the inbox's", async () => {
    const path = file();
    const inbox = open(path);
    await inbox.enqueue([record(1)]);
    const [lease] = await inbox.lease(1, 60_000);
    if (!lease) throw new Error('expected a lease');
    await inbox.fail(lease.entry.id, lease.token, { error: 'x', retryAt: Date.now() + 60_000 });
    for (let i = 0; i < 70; i++) await inbox.retryNow(lease.entry.id);
    const db = new Database(path, { readonly: true });
    const rows = (): number =>
      (db.prepare('SELECT count(*) AS n FROM c2p_inbox_history').get() as { n: number }).n;
    try {
      expect(rows()).toBe(50);
      // The paused flag lives in the inbox's own table, so a restart keeps it.
      await inbox.setPaused(true);
      expect(
        db.prepare(`SELECT value FROM c2p_inbox_settings WHERE name = 'paused'`).get(),
      ).toEqual({ value: 'true' });
    } finally {
      db.close();
    }
  });

  it('replays each dead event once when two processes replay the same filter at once', async () => {
    const path = file();
    const inbox = open(path);
    await inbox.enqueue(Array.from({ length: 100 }, (_, n) => record(n)));
    for (const { entry, token } of await inbox.lease(100, 60_000)) {
      await inbox.fail(entry.id, token, { error: 'refused', retryAt: null });
    }
    expect((await inbox.counts()).dead).toBe(100);
    const program = fileURLToPath(new URL('./fixtures/replay-child.mjs', import.meta.url));
    const children = [0, 1].map(() =>
      spawn(process.execPath, [program, path], { stdio: ['pipe', 'pipe', 'inherit'] }),
    );
    const said = children.map((child) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
      });
      return (pattern: RegExp): Promise<RegExpExecArray> =>
        new Promise((resolve, reject) => {
          const look = (): void => {
            const match = pattern.exec(out);
            if (match) resolve(match);
          };
          child.stdout.on('data', look);
          child.once('exit', (code) => reject(new Error(`child exited ${code}: ${out}`)));
          look();
        });
    });
    await Promise.all(said.map((wait) => wait(/ready/)));
    for (const child of children) child.stdin.write('go\n');
    const answers = await Promise.all(said.map((wait) => wait(/replayed (\d+)/)));
    const counts = answers.map((match) => Number(match[1]));
    console.log(`two processes replayed ${counts.join(' + ')} of 100 dead events`);
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(100);
    expect((await inbox.counts()).pending).toBe(100);
    const db = new Database(path, { readonly: true });
    try {
      const replays = db
        .prepare(
          `SELECT count(*) AS n, count(DISTINCT event_id) AS events FROM c2p_inbox_history WHERE action = 'replayed'`,
        )
        .get();
      expect(replays).toEqual({ n: 100, events: 100 });
    } finally {
      db.close();
    }
  }, 30_000);
});

import { inboxStates } from '@c2p/core';
import {
  inboxStateList,
  inboxStateLiterals,
  sweptInboxStates,
  unfinishedInboxStates,
} from '@c2p/core/kit';
import type Database from 'better-sqlite3';

/** The SQL of an unfinished event's state, for the lease's and indexes' WHERE. */
export const unfinishedSql = `state IN (${inboxStateList(unfinishedInboxStates)})`;

/** The inbox's tables, by their quoted names. */
export interface InboxTables {
  /** The events: `"c2p_inbox"`. */
  readonly events: string;
  /** Each event's attempts and operator actions: `"c2p_inbox_history"`. */
  readonly history: string;
  /** The inbox's own settings (`paused`): `"c2p_inbox_settings"`. */
  readonly settings: string;
  /** How many events each state holds, kept by triggers: `"c2p_inbox_counts"`. */
  readonly counts: string;
}

/** The quoted table names of the inbox `table`. */
export const inboxTables = (table: string): InboxTables => ({
  events: `"${table}"`,
  history: `"${table}_history"`,
  settings: `"${table}_settings"`,
  counts: `"${table}_counts"`,
});

/** What `counts()` reads: the counts table alone (exported for the query-plan test). */
export const countsReadSql = ({ counts }: InboxTables): string =>
  `SELECT state, count FROM ${counts}`;

/** The triggers that keep `<table>_counts`, by name. */
const countTriggers = (table: string) => ({
  insert: `${table}_counted_insert`,
  delete: `${table}_counted_delete`,
  update: `${table}_counted_update`,
});

/**
 * `<table>_counts`: one row per state, kept by triggers in every transaction
 * that inserts, deletes or moves an event, whichever process writes; so
 * `counts()` reads one row per state rather than counting a table of a million (65 ms).
 * Filled from the table when it is created, in the same transaction as its
 * triggers (migrate() runs in one IMMEDIATE transaction): no write falls
 * between. Each statement is idempotent: a current table is left as it is.
 */
const countsSql = (table: string, { events, counts }: InboxTables): string => {
  const triggers = countTriggers(table);
  const zeros = inboxStates.map((state) => `('${state}', 0)`).join(', ');
  const add = (state: string, by: string) =>
    `UPDATE ${counts} SET count = count ${by} 1 WHERE state = ${state};`;
  return `
  CREATE TABLE IF NOT EXISTS ${counts} (
    state TEXT PRIMARY KEY,
    count INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO ${counts} (state, count) SELECT state, count(*) FROM ${events} GROUP BY state;
  INSERT OR IGNORE INTO ${counts} (state, count) VALUES ${zeros};
  CREATE TRIGGER IF NOT EXISTS "${triggers.insert}" AFTER INSERT ON ${events}
    BEGIN ${add('NEW.state', '+')} END;
  CREATE TRIGGER IF NOT EXISTS "${triggers.delete}" AFTER DELETE ON ${events}
    BEGIN ${add('OLD.state', '-')} END;
  CREATE TRIGGER IF NOT EXISTS "${triggers.update}" AFTER UPDATE OF state ON ${events}
    WHEN OLD.state IS NOT NEW.state
    BEGIN ${add('OLD.state', '-')} ${add('NEW.state', '+')} END;`;
};

/** The events table, under the quoted name `quoted`. */
const eventsTableSql = (quoted: string): string => `
  CREATE TABLE IF NOT EXISTS ${quoted} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    resource_key TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    client_ip TEXT,
    state TEXT NOT NULL DEFAULT ${inboxStateLiterals.pending}
      CHECK (state IN (${inboxStateList()})),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error TEXT,
    processed_at INTEGER,
    lease_token TEXT,
    locked_until INTEGER NOT NULL DEFAULT 0
  );`;

const eventColumns =
  'id, key, resource_key, event_type, payload, received_at, client_ip, state, attempts, next_attempt_at, last_error, processed_at, lease_token, locked_until';

/**
 * Everything but the events table: an index behind each search filter (state,
 * resource, event type, receipt time; the key is UNIQUE, ids the primary key),
 * the lease's and the sweep's, the history and the settings tables.
 */
const restSql = (table: string, { events, history, settings }: InboxTables): string => `
  CREATE INDEX IF NOT EXISTS "${table}_resource" ON ${events} (resource_key, id) WHERE ${unfinishedSql};
  CREATE INDEX IF NOT EXISTS "${table}_due" ON ${events} (next_attempt_at) WHERE ${unfinishedSql};
  CREATE INDEX IF NOT EXISTS "${table}_state" ON ${events} (state, id);
  DROP INDEX IF EXISTS "${table}_processed";
  CREATE INDEX IF NOT EXISTS "${table}_finished" ON ${events} (processed_at)
    WHERE state IN (${inboxStateList(sweptInboxStates)});
  CREATE INDEX IF NOT EXISTS "${table}_by_resource" ON ${events} (resource_key, id);
  CREATE INDEX IF NOT EXISTS "${table}_by_type" ON ${events} (event_type, id);
  CREATE INDEX IF NOT EXISTS "${table}_by_received" ON ${events} (received_at);
  CREATE TABLE IF NOT EXISTS ${history} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT,
    duration_ms INTEGER,
    error TEXT,
    note TEXT
  );
  CREATE INDEX IF NOT EXISTS "${table}_history_event" ON ${history} (event_id, id);
  CREATE TABLE IF NOT EXISTS ${settings} (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );`;

/** Creates the inbox's tables and indexes where missing: what `migrate()` runs. */
export const inboxSchemaSql = (table: string): string => {
  const tables = inboxTables(table);
  return eventsTableSql(tables.events) + restSql(table, tables) + countsSql(table, tables);
};

/**
 * Brings an events table of an earlier version up to this one, in one
 * transaction: its CHECK lacks `'resolved'`, which SQLite cannot alter, so the
 * table is copied into a new one (rows, ids and the AUTOINCREMENT counter
 * kept, so no id is ever given out twice), then indexes and the new tables are
 * created. Idempotent: a current table is left as it is.
 */
export function upgradeInboxSchema(db: Database.Database, table: string): void {
  if (isCurrent(db, table)) return;
  const tables = inboxTables(table);
  const upgrade = db.transaction(() => {
    const current = db
      .prepare<[string], { sql: string }>(
        `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`,
      )
      .get(table);
    // An earlier version's events table: its CHECK names processed, not resolved.
    const earlier =
      current?.sql.includes(inboxStateLiterals.processed) === true &&
      !current.sql.includes(inboxStateLiterals.resolved);
    if (earlier) {
      const seq = db
        .prepare<[string], { seq: number }>('SELECT seq FROM sqlite_sequence WHERE name = ?')
        .get(table);
      const next = `"${table}_upgrade"`;
      db.exec(`DROP TABLE IF EXISTS ${next};
        ${eventsTableSql(next)}
        INSERT INTO ${next} (${eventColumns}) SELECT ${eventColumns} FROM ${tables.events};
        DROP TABLE ${tables.events};
        ALTER TABLE ${next} RENAME TO ${tables.events};`);
      if (seq) {
        // The copy's counter starts at its largest id; the old one may be past it (swept events).
        db.prepare('DELETE FROM sqlite_sequence WHERE name = ?').run(table);
        db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(table, seq.seq);
      }
    }
    // Counts without their triggers (the events table dropped and made again)
    // are stale: emptied here, they are filled from the table below.
    const counted = db
      .prepare<[string], { name: string }>(
        `SELECT name FROM sqlite_master WHERE type = 'trigger' AND name = ?`,
      )
      .get(countTriggers(table).insert);
    if (!counted) db.exec(`DROP TABLE IF EXISTS ${tables.counts}`);
    db.exec(inboxSchemaSql(table));
  });
  upgrade.immediate();
}

/** Is the inbox `table` this version's already? Read without taking the write lock. */
function isCurrent(db: Database.Database, table: string): boolean {
  const objects = new Map(
    db
      .prepare<string[], { name: string; sql: string }>(
        'SELECT name, sql FROM sqlite_master WHERE name IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .all(
        ...[
          table,
          `${table}_history`,
          `${table}_settings`,
          `${table}_finished`,
          `${table}_by_received`,
          `${table}_counts`,
          ...Object.values(countTriggers(table)),
          `${table}_processed`,
        ],
      )
      .map(({ name, sql }) => [name, sql]),
  );
  return (
    objects.size === 9 &&
    !objects.has(`${table}_processed`) &&
    (objects.get(table) ?? '').includes(inboxStateLiterals.resolved)
  );
}

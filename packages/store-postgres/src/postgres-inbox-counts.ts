/**
 * How many events each state holds, without counting the table: `counts()` fed
 * `/metrics` and the admin page every few seconds, and `GROUP BY state` over a
 * backlog of 1.1 million events took 177 ms.
 *
 * Triggers write each change as a delta row into `<table>_counts`, and
 * `counts()` sums them. Deltas are inserted, never updated: a counter row
 * updated by every transaction would make every delivery and every worker wait
 * on one row lock (and deadlock where two transactions touched two counters in
 * opposite orders); inserts never wait on each other. A fold replaces the rows
 * by one sum per state, at each `sweep()` and when `counts()` reads many; it
 * deletes only rows its snapshot sees, so deltas committed meanwhile stay, and
 * one fold runs at a time (a transaction-scoped advisory lock, tried, never
 * waited for).
 *
 * Inserts are counted per row: Clik2pay sends one event per delivery, and a
 * row trigger's plain INSERT cost less than a statement trigger's transition
 * table (20 concurrent single-event deliveries: 0.83 to 0.97 of the
 * throughput without a trigger, against 0.76 to 0.87, three rounds each in
 * one run). Deletes, which the sweep makes in batches, are counted per
 * statement (a transition table: one row per state). State changes are
 * counted per row, and only rows whose state changed (`WHEN`), so leases and
 * renewals cost nothing.
 */

/** `<table>_counts`, quoted. */
export const countsTable = (table: string): string => `"${table}_counts"`;

/** Rows past which `counts()` folds them after reading (a fold leaves one per state). */
export const foldAbove = 100;

/**
 * Creates the counts table, its trigger functions and triggers, and fills it
 * from the events table, when the events table lacks the triggers (a table
 * made by an earlier version, or dropped and made again while `<table>_counts`
 * stayed); nothing otherwise. Runs inside migrate's transaction (READ
 * COMMITTED): `CREATE TRIGGER` locks the events table against writes (SHARE
 * ROW EXCLUSIVE) until COMMIT, so the fill that follows, with a snapshot taken
 * after the lock, counts every committed row, and every later write fires the
 * triggers.
 *
 * The functions run as their owner (`SECURITY DEFINER`), so a role that may
 * write the inbox needs no grant on `<table>_counts`, with the search_path
 * migrate ran with pinned (`SET search_path FROM CURRENT`), so a write through
 * a connection with another search_path still reaches this `<table>_counts`.
 * `TRUNCATE` of the inbox truncates the counts too (a DELETE could miss the
 * rows a fold inserts meanwhile).
 */
export function countsMigrateSql(quoted: string, table: string): string {
  const counts = countsTable(table);
  const fn = (name: string): string => `"${table}_${name}"`;
  const trigger = (name: string, body: string): string => `
      CREATE OR REPLACE FUNCTION ${fn(name)}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
        SET search_path FROM CURRENT AS $count$ BEGIN ${body} RETURN NULL; END $count$;`;
  const triggers = ['insert', 'delete', 'update', 'truncate'].map(
    (name) => `DROP TRIGGER IF EXISTS "${table}_count_${name}" ON ${quoted};`,
  );
  return `DO $counts$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
      WHERE tgrelid = '${quoted}'::regclass AND tgname = '${table}_count_insert') THEN
      CREATE TABLE IF NOT EXISTS ${counts} (
        id bigserial PRIMARY KEY,
        state text NOT NULL,
        delta bigint NOT NULL
      );
      ${trigger('count_added', `INSERT INTO ${counts} (state, delta) VALUES (NEW.state, 1);`)}
      ${trigger('count_removed', `INSERT INTO ${counts} (state, delta) SELECT state, -count(*) FROM removed GROUP BY state;`)}
      ${trigger('count_moved', `INSERT INTO ${counts} (state, delta) VALUES (OLD.state, -1), (NEW.state, 1);`)}
      ${trigger('count_cleared', `TRUNCATE ${counts};`)}
      ${triggers.join(' ')}
      CREATE TRIGGER "${table}_count_insert" AFTER INSERT ON ${quoted}
        FOR EACH ROW EXECUTE FUNCTION ${fn('count_added')}();
      CREATE TRIGGER "${table}_count_delete" AFTER DELETE ON ${quoted}
        REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION ${fn('count_removed')}();
      CREATE TRIGGER "${table}_count_update" AFTER UPDATE OF state ON ${quoted}
        FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION ${fn('count_moved')}();
      CREATE TRIGGER "${table}_count_truncate" AFTER TRUNCATE ON ${quoted}
        FOR EACH STATEMENT EXECUTE FUNCTION ${fn('count_cleared')}();
      DELETE FROM ${counts};
      INSERT INTO ${counts} (state, delta) SELECT state, count(*) FROM ${quoted} GROUP BY state;
    END IF;
  END $counts$`;
}

/** Reading and folding the counts. */
export function countsSql(table: string) {
  const counts = countsTable(table);
  return {
    // Each state's count, and how many delta rows make it up.
    counts: `SELECT state, sum(delta)::int AS count, count(*)::int AS deltas FROM ${counts} GROUP BY state`,
    // One fold at a time: a second finds the lock taken and deletes nothing.
    foldCounts: `
      WITH moved AS (
        DELETE FROM ${counts} WHERE pg_try_advisory_xact_lock(hashtext('c2p:' || '${table}' || ':counts'))
        RETURNING state, delta)
      INSERT INTO ${counts} (state, delta)
      SELECT state, sum(delta) FROM moved GROUP BY state HAVING sum(delta) <> 0`,
  };
}

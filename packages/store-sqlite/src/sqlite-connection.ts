import { mkdirSync, type Stats, statfsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type C2pError, isC2pError } from '@c2p/core';
import { invalidOption, storeClosed, storeUnavailable } from '@c2p/core/kit';
import Database from 'better-sqlite3';

export const pkg = '@c2p/store-sqlite';

/**
 * What a SQLite store or inbox hands to your handler. Reading `db` begins the
 * write transaction (`BEGIN IMMEDIATE`) on first access, so do your network
 * calls first and touch `tx.db` only for the writes: the write lock is then held
 * from the first `tx.db` until the store commits, not while you wait on a server.
 *
 * Everything you write through `tx.db` commits with the event's completion, or
 * rolls back with it.
 */
export interface SqliteTransaction {
  /** The better-sqlite3 `Database`, inside `BEGIN IMMEDIATE` once you read it. */
  readonly db: Database.Database;
}

/** The `synchronous` settings offered: see the README for what each survives. */
export type SqliteSynchronous = 'FULL' | 'NORMAL';

// SQLite's own busy handler waits this long at most, synchronously, before an
// attempt answers SQLITE_BUSY; the retries after it are asynchronous.
const syncBusyMs = 2;
const firstPauseMs = 2;
const maxPauseMs = 50;

/** What the lazy getter throws when the write lock cannot be had at once. */
class WriteLockConflict extends Error {
  constructor(
    readonly inProcess: boolean,
    cause?: unknown,
  ) {
    super(
      `[${pkg}] the write lock is held by ${inProcess ? 'another transaction of this process' : 'another connection'}; the store retries the whole transaction`,
      { cause },
    );
    this.name = 'WriteLockConflict';
  }
}

/**
 * What the lazy getter throws when the check made right after `BEGIN IMMEDIATE`
 * settles the answer (the key was completed meanwhile, the lease is gone): the
 * handler's writes could only be rolled back, so they are not even made.
 */
class TransactionSettled extends Error {
  constructor() {
    super(`[${pkg}] this event was settled elsewhere; the transaction is not needed`);
    this.name = 'TransactionSettled';
  }
}

/** Did a write fail for want of space (`SQLITE_FULL`: the disk, or the file system's quota)? */
const isFull = (error: unknown): boolean => {
  const code = (error as { code?: unknown; cause?: { code?: unknown } } | null)?.code;
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return code === 'SQLITE_FULL' || cause === 'SQLITE_FULL';
};

/** How often, at most, a write tries to give the WAL's space back while the disk is full. */
const reclaimEveryMs = 1000;
/** `checkWritable` fails for this long after a write failed for want of space. */
const fullForMs = 5000;

/** What `PRAGMA wal_checkpoint` answers. */
interface CheckpointResult {
  readonly busy: number;
  readonly log: number;
  readonly checkpointed: number;
}

/** The WAL's size and the disk's free bytes, for `file`. */
const space = (file: string): { wal: number; free: number } => {
  const wal = statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  const disk = statfsSync(dirname(file));
  return { wal, free: disk.bavail * disk.bsize };
};

/** Has the disk room for the whole WAL of `file` (what a checkpoint may need)? */
const roomFor = (file: string): boolean => {
  const { wal, free } = space(file);
  return free >= wal;
};

const isBusy = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code === 'SQLITE_LOCKED');
};

const sameFile = (found: Stats | undefined, seen: Stats): boolean =>
  found !== undefined && found.ino === seen.ino && found.dev === seen.dev;

const jitter = (ms: number): number => ms / 2 + Math.random() * (ms / 2);

/** Resolves at the next turn of the event loop, after its I/O poll. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A completion waiting for {@link SqliteConnection}'s next group of completions. */
interface WaitingFinish {
  readonly finish: () => Finish<unknown>;
  readonly deadlineMs: number;
  /** An inbox worker's completion: may commit without an fsync (see `relax`). */
  readonly relaxed: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Completions per commit: a bound on how long one commit holds the write lock. */
const finishesPerCommit = 500;

/** What a transaction's last step decides: commit (or roll back) and answer `value`. */
export interface Finish<T> {
  readonly commit: boolean;
  readonly value: T;
}

/**
 * One better-sqlite3 connection shared by every store and inbox built on it: one
 * queue, one open transaction at a time, asynchronous waits for the write lock,
 * and the check that the file under it is still the one it opened.
 */
export class SqliteConnection {
  readonly db: Database.Database;
  /** A lazy transaction holds the connection (its handler touched `tx.db`). */
  private held = false;
  private waiters: (() => void)[] = [];
  private closedBy: C2pError | undefined;
  private readonly file: string | undefined;
  private fileStat: Stats | undefined;
  private walStat: Stats | undefined;
  private walCheckedAt = 0;
  private users = 0;
  private owned = false;
  /** Group commits queued or running: acceptance, which the worker's writes yield to. */
  private intake = 0;
  private intakeWaiters: (() => void)[] = [];
  /** Set by an inbox's group commit: then its other writes go one per turn of the event loop. */
  private paced = false;
  private pacing: Promise<void> = Promise.resolve();
  /**
   * A write failed with `SQLITE_FULL` and the WAL has not been checkpointed
   * since: the next writes wait for that (see {@link reclaim}).
   */
  private full = false;
  /** The last write that failed for want of space, and when: what `checkWritable` reports. */
  private lastFull: { readonly error: unknown; readonly at: number } | undefined;
  private reclaimedAt = 0;
  /** The `synchronous` setting the first store or inbox on the connection applied. */
  synchronous: SqliteSynchronous | undefined;
  /** The connection runs with `synchronous = NORMAL` for a worker's write (see {@link relax}). */
  private relaxed = false;
  /** Completions whose handlers wrote nothing, waiting to be committed together (see {@link finishTogether}). */
  private finishes: WaitingFinish[] = [];
  private finishing: Promise<void> | undefined;

  constructor(db: Database.Database) {
    this.db = db;
    this.file = db.memory || db.name === '' ? undefined : resolve(db.name);
    if (this.file) this.fileStat = statSync(this.file);
  }

  /** Applies the connection settings: WAL, `synchronous`, a short synchronous busy wait. */
  configure(synchronous: SqliteSynchronous): void {
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.pragma(`busy_timeout = ${syncBusyMs}`);
    this.synchronous = synchronous;
    this.relaxed = false;
  }

  /**
   * Before a write outside any transaction: `synchronous = NORMAL` for an inbox
   * worker's write (`relaxed`), the configured setting for any other. Under FULL
   * every commit waits for an fsync of the WAL; a worker's commit need not: the
   * WAL is written in order, so the next FULL commit (the next delivery's) syncs
   * it too, a SIGKILL loses nothing the OS has, and what power loss takes from
   * the WAL's tail is a completion, a retry's schedule or a lease, which the
   * event's next attempt redoes (at least once, as after any crash). A delivery's
   * commit, an operator's action, and every write of the sync-mode store keep
   * the setting.
   */
  private relax(relaxed: boolean): void {
    const want = relaxed && this.synchronous === 'FULL';
    if (want === this.relaxed || this.db.inTransaction) return;
    this.db.pragma(`synchronous = ${want ? 'NORMAL' : this.synchronous}`);
    this.relaxed = want;
  }

  /** Registers one more store on the connection; `close` closes an owned one with the last. */
  use(owned: boolean): void {
    this.users++;
    if (owned) this.owned = true;
  }

  /**
   * Throws STORE_UNAVAILABLE when the connection is closed, or when the file at
   * its path is no longer the one it opened (deleted or replaced): writes would
   * go to an unlinked file and vanish at the next restart.
   */
  guard(): void {
    if (this.closedBy) throw this.closedBy;
    if (!this.file || !this.fileStat) return;
    // One stat of the file per operation (a few microseconds); the WAL file's at
    // most once a second, as deleting it alone is rarer.
    const file = statSync(this.file, { throwIfNoEntry: false });
    let replaced = !sameFile(file, this.fileStat) ? this.file : undefined;
    const at = Date.now();
    if (!replaced && at - this.walCheckedAt >= 1000) {
      this.walCheckedAt = at;
      const wal = statSync(`${this.file}-wal`, { throwIfNoEntry: false });
      // The WAL file stays while any connection is open: once seen, it must stay.
      if (this.walStat === undefined) this.walStat = wal;
      else if (!sameFile(wal, this.walStat)) replaced = `${this.file}-wal`;
    }
    if (replaced) {
      this.closedBy = storeUnavailable(
        undefined,
        `[${pkg}] the database file ${replaced} was deleted or replaced while open: nothing more is written (it would be lost); restart the process to open the file again`,
      );
      throw this.closedBy;
    }
  }

  /** Resolves when no lazy transaction holds the connection. */
  private async free(): Promise<void> {
    while (this.held) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private release(): void {
    this.held = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Marks a group commit queued or running until the answer is called: while
   * one is, the connection's other writes wait (acceptance never queues behind
   * the worker), and from the first call on they go at most one per turn of the
   * event loop (better-sqlite3 is synchronous: each commit's fsync blocks the
   * process, so the worker's commits in a row would keep requests from being read).
   */
  beginIntake(): () => void {
    this.paced = true;
    this.intake++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.intake--;
      if (this.intake > 0) return;
      const waiters = this.intakeWaiters;
      this.intakeWaiters = [];
      for (const wake of waiters) wake();
    };
  }

  /** Resolves when a write other than a group commit may run (see {@link beginIntake}). */
  private yieldToIntake(): Promise<void> {
    if (!this.paced) return Promise.resolve();
    const turn = this.pacing.then(async () => {
      do {
        await nextTurn();
        if (this.intake > 0) {
          await new Promise<void>((resolve) => this.intakeWaiters.push(resolve));
        }
      } while (this.intake > 0);
    });
    this.pacing = turn;
    return turn;
  }

  /** {@link run} for a group commit: it yields to nothing but a lazy transaction. */
  runIntake<T>(fn: () => T, deadlineMs: number): Promise<T> {
    return this.runNow(fn, deadlineMs);
  }

  /**
   * Runs `fn` (synchronous: one statement, or one `.immediate` transaction) when
   * no lazy transaction holds the connection and no group commit waits. When another connection holds the
   * write lock, retries after short jittered pauses, without blocking the event
   * loop, until `deadlineMs` has passed; then throws STORE_UNAVAILABLE.
   */
  async run<T>(fn: () => T, deadlineMs: number, relaxed = false): Promise<T> {
    await this.yieldToIntake();
    return this.runNow(fn, deadlineMs, relaxed);
  }

  private async runNow<T>(fn: () => T, deadlineMs: number, relaxed = false): Promise<T> {
    let deadline: number | undefined;
    let pause = firstPauseMs;
    for (;;) {
      if (this.held) await this.free();
      this.guard();
      try {
        this.reclaim();
        this.relax(relaxed);
        const value = fn();
        this.keepRoom();
        return value;
      } catch (error) {
        if (!isBusy(error)) throw this.failed(error);
        deadline ??= Date.now() + deadlineMs;
        if (Date.now() >= deadline) throw this.lockedOut(error, deadlineMs);
      }
      await sleep(jitter(pause));
      pause = Math.min(pause * 2, maxPauseMs);
    }
  }

  /**
   * Before a write, while the disk is full: checkpoints the WAL and truncates
   * it, or throws (the write is refused, not tried). A WAL restarts from its
   * beginning only after a complete checkpoint, which SQLite tries only past
   * 1,000 pages; and a checkpoint needs room for the database file to grow by
   * the pages it moves. So writes let through onto freed space grow the WAL
   * into it (this connection's and the file's other writers'), the disk fills
   * again before a checkpoint can run, and the events accepted stay stuck until
   * a restart. Here no write of this connection goes before the checkpoint: it
   * is tried whenever the disk has room for the whole WAL, otherwise once a
   * second (its pages may repeat), and the writes go on once it has succeeded.
   */
  private reclaim(): void {
    const full = this.lastFull;
    if (!this.full || !full || this.db.inTransaction) return;
    const at = Date.now();
    const room = this.file ? roomFor(this.file) : true;
    if (!room && at - this.reclaimedAt < reclaimEveryMs) {
      this.lastFull = { error: full.error, at };
      throw full.error;
    }
    this.reclaimedAt = at;
    try {
      const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as CheckpointResult[];
      // Every page moved: the WAL's space is the disk's again (at once, or once readers move on).
      if (result && (result.busy === 0 || result.checkpointed === result.log)) {
        this.full = false;
        return;
      }
    } catch {
      // Still no room.
    }
    this.lastFull = { error: full.error, at };
    throw full.error;
  }

  /**
   * After a write: when the disk has less room than twice the WAL, checkpoints
   * and truncates it now, while the database file can still grow by its pages,
   * so a nearly full disk never ends with all its space in a WAL that cannot
   * be checkpointed. A `stat` and a `statfs` (microseconds); on a disk with
   * room, nothing more.
   */
  private keepRoom(): void {
    if (!this.file || this.db.inTransaction) return;
    const { wal, free } = space(this.file);
    if (wal === 0 || free >= 2 * wal) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // No room for it: the next write that fails for want of space waits for it (reclaim).
    }
  }

  /** STORE_UNAVAILABLE for a failed write, naming a full disk; marks the connection {@link full}. */
  private failed(error: unknown): C2pError {
    // Already said (`checkWritable` repeating the last failure): not a new one.
    if (isC2pError(error, 'STORE_UNAVAILABLE') || !isFull(error)) return storeUnavailable(error);
    const unavailable = storeUnavailable(
      error,
      `[${pkg}] the database cannot be written: the disk is full (SQLITE_FULL); writes are tried again, with the WAL checkpointed, once there is space`,
    );
    this.full = true;
    this.lastFull = { error: unavailable, at: Date.now() };
    return unavailable;
  }

  /**
   * Commits a write that changes nothing (the header's `user_version`, written
   * back as it is), through the connection's queue like every other write: it
   * never joins a handler's open transaction and waits for acceptance to go
   * first. Throws STORE_UNAVAILABLE when the database cannot be written now
   * (a full disk, a read-only file, a lock held past `deadlineMs`), and for
   * 5 s after any write failed for want of space: at the edge of a full disk a
   * page of its own may fit (a checkpoint gives some back) while deliveries'
   * writes keep failing.
   */
  checkWritable(deadlineMs: number): Promise<void> {
    return this.run(() => {
      if (this.lastFull && Date.now() - this.lastFull.at < fullForMs) throw this.lastFull.error;
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const version = Number(this.db.pragma('user_version', { simple: true }));
        this.db.pragma(`user_version = ${version}`);
        this.db.exec('COMMIT');
      } finally {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      }
    }, deadlineMs);
  }

  /**
   * Runs a read on the connection at once, even while a lazy transaction holds
   * it (a read changes nothing; it sees that transaction's writes so far).
   */
  read<T>(fn: () => T): T {
    this.guard();
    try {
      return fn();
    } catch (error) {
      throw storeUnavailable(error);
    }
  }

  /**
   * Runs `work` with a lazy transaction, then `finish` inside the same
   * transaction, and commits or rolls back as `finish` says. If the write lock
   * cannot be had when `work` first reads `tx.db` (another transaction of this
   * process holds the connection, or another process the file), the whole
   * attempt is dropped and run again, `work` included, after the holder is done
   * or a jittered pause, until `deadlineMs`; then STORE_UNAVAILABLE. What `work`
   * throws is rethrown after the rollback.
   *
   * `settled` runs right after `BEGIN IMMEDIATE`, holding the write lock: an answer
   * other than `undefined` rolls back at once, makes `tx.db` throw, and is the
   * result whatever `work` then does.
   */
  async transact<T>(
    work: (tx: SqliteTransaction) => Promise<void>,
    finish: () => Finish<T>,
    deadlineMs: number,
    settled: () => T | undefined = () => undefined,
    relaxed = false,
  ): Promise<T> {
    let deadline: number | undefined;
    let pause = firstPauseMs;
    for (;;) {
      await this.yieldToIntake();
      const attempt = new LazyTransaction(this, settled, relaxed);
      try {
        await work(attempt);
      } catch (error) {
        attempt.rollback();
        if (!attempt.conflict && !attempt.settled) throw error;
      }
      if (attempt.settled) return attempt.settled.value as T;
      // A conflict the handler caught and swallowed is still a conflict.
      const conflict = attempt.conflict;
      if (!conflict) {
        if (attempt.open) return this.finish(finish);
        // The handler never touched tx.db: only the completion is left to write,
        // and it joins the other completions waiting, in one commit.
        return this.finishTogether(finish, deadlineMs, relaxed);
      }
      deadline ??= Date.now() + deadlineMs;
      if (Date.now() >= deadline) throw this.lockedOut(conflict.cause, deadlineMs);
      // Wait for this process's holder to commit; for anything else (another
      // process, a transaction opened on the Database outside the store), pause.
      if (conflict.inProcess && this.held) await this.free();
      else {
        await sleep(jitter(pause));
        pause = Math.min(pause * 2, maxPauseMs);
      }
    }
  }

  /** Begins the lazy transaction, or throws why it cannot now. For {@link LazyTransaction}. */
  begin(relaxed: boolean): void {
    this.guard();
    if (this.held || this.db.inTransaction) throw new WriteLockConflict(true);
    this.reclaim();
    this.relax(relaxed);
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      if (isBusy(error)) throw new WriteLockConflict(false, error);
      throw storeUnavailable(error);
    }
    this.held = true;
  }

  /** Rolls the lazy transaction back and frees the connection. */
  end(): void {
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      // A failed rollback leaves SQLite to roll back itself; the connection is freed either way.
    } finally {
      this.release();
    }
  }

  private finish<T>(finish: () => Finish<T>): T {
    try {
      this.guard();
      const { commit, value } = finish();
      this.db.exec(commit ? 'COMMIT' : 'ROLLBACK');
      this.keepRoom();
      return value;
    } catch (error) {
      throw this.failed(error);
    } finally {
      if (this.db.inTransaction) {
        try {
          this.db.exec('ROLLBACK');
        } catch {
          // see end()
        }
      }
      this.release();
    }
  }

  /**
   * Commits `finish` together with the other completions that arrive before the
   * connection is free: one `BEGIN IMMEDIATE ... COMMIT` (one fsync) for all,
   * each in a savepoint of its own, so one that answers `commit: false` is
   * rolled back alone. A completion is a row's update and a history row, so the
   * worker's commits no longer cost one fsync per event. If one of
   * them throws, the group is rolled back and each is run on its own, so it
   * fails alone, as it did before.
   */
  private finishTogether<T>(
    finish: () => Finish<T>,
    deadlineMs: number,
    relaxed: boolean,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.finishes.push({
        finish,
        deadlineMs,
        relaxed,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.finishing ??= this.flushFinishes();
    });
  }

  private async flushFinishes(): Promise<void> {
    try {
      while (this.finishes.length > 0) {
        // Completions settling in this turn of the event loop join the group.
        await nextTurn();
        const group = this.finishes.splice(0, finishesPerCommit);
        const deadlineMs = Math.max(...group.map((waiting) => waiting.deadlineMs));
        const relaxed = group.every((waiting) => waiting.relaxed);
        let values: unknown[] | undefined;
        try {
          values = await this.run(() => this.finishAll(group), deadlineMs, relaxed);
        } catch (error) {
          for (const waiting of group) waiting.reject(error);
          continue;
        }
        if (values === undefined) {
          // One of them threw, and the group was rolled back: each on its own, so only that one fails.
          for (const waiting of group) {
            await this.run(
              () => this.finishNow(waiting.finish),
              waiting.deadlineMs,
              waiting.relaxed,
            ).then(waiting.resolve, waiting.reject);
          }
          continue;
        }
        for (const [index, waiting] of group.entries()) waiting.resolve(values[index]);
      }
    } finally {
      this.finishing = undefined;
    }
  }

  /**
   * Runs every completion of the group in one transaction, each in a savepoint;
   * `undefined` when one threw (nothing is committed). What BEGIN or COMMIT
   * throws is thrown: every completion of the group fails with it.
   */
  private finishAll(group: readonly WaitingFinish[]): unknown[] | undefined {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const values: unknown[] = [];
      for (const { finish } of group) {
        this.db.exec('SAVEPOINT c2p_finish');
        let outcome: Finish<unknown>;
        try {
          outcome = finish();
        } catch {
          return undefined;
        }
        if (!outcome.commit) this.db.exec('ROLLBACK TO c2p_finish');
        this.db.exec('RELEASE c2p_finish');
        values.push(outcome.value);
      }
      this.db.exec('COMMIT');
      return values;
    } finally {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    }
  }

  private finishNow<T>(finish: () => Finish<T>): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const { commit, value } = finish();
      this.db.exec(commit ? 'COMMIT' : 'ROLLBACK');
      return value;
    } finally {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    }
  }

  private lockedOut(cause: unknown, deadlineMs: number): C2pError {
    return storeUnavailable(
      cause,
      `[${pkg}] the database stayed locked by another connection for ${deadlineMs} ms (busyTimeoutMs)`,
    );
  }

  /**
   * One store or inbox is done with the connection: waits for a lazy transaction
   * to end, and closes the database with the last user, if a store opened it.
   */
  async close(): Promise<void> {
    // Completions already handed over are written before the connection closes.
    while (this.finishing) await this.finishing;
    await this.free();
    this.users--;
    if (this.users > 0) return;
    this.closedBy ??= storeClosed(pkg);
    connections.delete(this.db);
    if (this.owned && this.db.open) this.db.close();
  }
}

/** The `tx` handed to handlers: `db` begins the write transaction on first read. */
class LazyTransaction<T> implements SqliteTransaction {
  open = false;
  conflict: WriteLockConflict | undefined;
  settled: { readonly value: T } | undefined;

  constructor(
    private readonly connection: SqliteConnection,
    private readonly check: () => T | undefined,
    private readonly relaxed: boolean,
  ) {}

  get db(): Database.Database {
    if (this.open) return this.connection.db;
    if (this.conflict) throw this.conflict;
    if (this.settled) throw new TransactionSettled();
    try {
      this.connection.begin(this.relaxed);
    } catch (error) {
      if (error instanceof WriteLockConflict) this.conflict = error;
      throw error;
    }
    this.open = true;
    let value: T | undefined;
    try {
      value = this.check();
    } catch (error) {
      this.rollback();
      throw storeUnavailable(error);
    }
    if (value !== undefined) {
      this.settled = { value };
      this.rollback();
      throw new TransactionSettled();
    }
    return this.connection.db;
  }

  rollback(): void {
    if (!this.open) return;
    this.open = false;
    this.connection.end();
  }
}

const connections = new WeakMap<Database.Database, SqliteConnection>();

/**
 * Opens (or finds) the connection for `database`: a path is opened here, its
 * directory created if missing; a `Database` passed in is shared by every store
 * and inbox built on it, with one queue. Throws STORE_UNAVAILABLE naming what
 * failed.
 */
export function openConnection(
  database: string | Database.Database,
  synchronous: SqliteSynchronous,
): SqliteHandle {
  const owned = typeof database === 'string';
  let db: Database.Database;
  if (owned) {
    const inMemory = database === ':memory:' || database === '' || database.startsWith('file:');
    if (!inMemory) {
      const directory = dirname(resolve(database));
      try {
        mkdirSync(directory, { recursive: true });
      } catch (cause) {
        throw storeUnavailable(
          cause,
          `[${pkg}] cannot create the directory ${directory} for the database: ${(cause as Error).message}`,
        );
      }
    }
    try {
      db = new Database(database);
    } catch (cause) {
      throw storeUnavailable(
        cause,
        `[${pkg}] cannot open the database ${database}: ${(cause as Error).message}`,
      );
    }
  } else {
    db = database;
  }
  let connection = connections.get(db);
  // `synchronous` is one setting of the connection: a second store or inbox on
  // the same Database asking for another would silently weaken (or strengthen)
  // the first one's commits.
  if (connection?.synchronous !== undefined && connection.synchronous !== synchronous) {
    throw invalidOption(
      'options.synchronous',
      `"${synchronous}" differs from the setting another store or inbox already uses on this Database ("${connection.synchronous}")`,
      pkg,
    );
  }
  try {
    if (!connection) {
      connection = new SqliteConnection(db);
      connections.set(db, connection);
    }
    connection.configure(synchronous);
  } catch (cause) {
    if (owned) db.close();
    // Says why (e.g. "file is not a database"), not only that the store is unavailable.
    throw setUpFailed(cause);
  }
  connection.use(owned);
  return new SqliteHandle(connection);
}

/**
 * One store's or inbox's use of a shared {@link SqliteConnection}: closing it
 * closes that user only (once), and its operations then fail as closed even
 * while another user keeps the connection open.
 */
export class SqliteHandle {
  private closed: C2pError | undefined;

  constructor(private readonly connection: SqliteConnection) {}

  get db(): Database.Database {
    return this.connection.db;
  }

  guard(): void {
    if (this.closed) throw this.closed;
    this.connection.guard();
  }

  /** Runs `fn` on the connection; `relaxed`: an inbox worker's write, committed without an fsync. */
  run<T>(fn: () => T, deadlineMs: number, relaxed = false): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    return this.connection.run(fn, deadlineMs, relaxed);
  }

  runIntake<T>(fn: () => T, deadlineMs: number): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    return this.connection.runIntake(fn, deadlineMs);
  }

  beginIntake(): () => void {
    return this.connection.beginIntake();
  }

  read<T>(fn: () => T): T {
    if (this.closed) throw this.closed;
    return this.connection.read(fn);
  }

  checkWritable(deadlineMs: number): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    return this.connection.checkWritable(deadlineMs);
  }

  transact<T>(
    work: (tx: SqliteTransaction) => Promise<void>,
    finish: () => Finish<T>,
    deadlineMs: number,
    settled?: () => T | undefined,
    relaxed?: boolean,
  ): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    return this.connection.transact(work, finish, deadlineMs, settled, relaxed);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = storeClosed(pkg);
    await this.connection.close();
  }
}

/** The error for a database that opened but cannot be set up (read-only, not a database, ...). */
export function setUpFailed(cause: unknown): C2pError {
  return storeUnavailable(
    cause,
    `[${pkg}] cannot set up the database: ${cause instanceof Error ? cause.message : String(cause)}`,
  );
}

/**
 * Creates a store's or inbox's table on a freshly opened `connection` (`ddl`)
 * and prepares its statements; when either fails, closes the handle and throws
 * naming why.
 */
export function setUpTable<T>(
  connection: SqliteHandle,
  ddl: string,
  prepare: (db: Database.Database) => T,
): T {
  try {
    connection.guard();
    connection.db.exec(ddl);
    return prepare(connection.db);
  } catch (cause) {
    void connection.close();
    throw setUpFailed(cause);
  }
}

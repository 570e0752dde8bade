import type { InboxRecord } from '@c2p/core/kit';
import { storeClosed, storeUnavailable } from '@c2p/core/kit';
import type Database from 'better-sqlite3';
import { nextTurn, pkg, type SqliteHandle } from './sqlite-connection.js';

/** One caller of `enqueue` waiting for the group commit. */
interface Waiting {
  readonly records: readonly InboxRecord[];
  resolve(inserted: boolean[]): void;
  reject(error: unknown): void;
}

/** Events per group commit. */
const eventsPerCommit = 1000;
/**
 * A delivery of more events than this is large: it commits in a group of its
 * own, and small ones waiting beside it go first (core's default cap, `maxEvents`).
 */
const largeDelivery = 100;

const isLarge = (waiting: Waiting): boolean => waiting.records.length > largeDelivery;

/**
 * Turns of the event loop given to I/O after a large delivery's commit, unless a
 * small delivery is waiting. Node (libuv since 1.45) accepts one new connection
 * per turn, so a row of large commits, each a turn of its own, would keep a
 * delivery on a new connection waiting behind every connection opened before
 * it: in a burst of 20 large deliveries, a second. A turn with nothing to do
 * costs microseconds.
 */
const turnsAfterLarge = 8;

/** Did one delivery's rows fail (a constraint, a value SQLite cannot bind), not the database? */
const isRowError = (error: unknown): boolean => {
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof TypeError || cause instanceof RangeError) return true;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG)/.test(code);
};

/** What a {@link GroupCommit} needs. */
export interface GroupCommitOptions {
  readonly connection: SqliteHandle;
  /** Inserts records in the open transaction; answers the keys inserted, each once. */
  readonly insertAll: (records: readonly InboxRecord[]) => Set<string>;
  readonly busyTimeoutMs: number;
  readonly queueLimit: number;
  /** `false`: each delivery commits on its own. */
  readonly grouped: boolean;
}

/**
 * The inbox's group commit: callers wait in a queue, and one flush at a time
 * commits all who wait in one transaction (one fsync), a row error falling back
 * to one transaction per delivery so a bad delivery fails alone.
 */
export class GroupCommit {
  private readonly queue: Waiting[] = [];
  private queued = 0;
  private flushing: Promise<void> | undefined;
  private closing = false;
  /** The last group was a large delivery's: small ones waiting go next, then the next large one. */
  private lastLarge = false;
  /** One transaction for the records of several callers; answers each caller's flags. */
  private readonly commitGroup: Database.Transaction<(group: readonly Waiting[]) => boolean[][]>;

  constructor(private readonly options: GroupCommitOptions) {
    this.commitGroup = options.connection.db.transaction((group: readonly Waiting[]) => {
      const inserted = options.insertAll(group.flatMap((waiting) => waiting.records));
      // A key twice in one group (two deliveries of one event): the first is inserted.
      return group.map((waiting) => waiting.records.map((record) => inserted.delete(record.key)));
    });
  }

  /** Queues one delivery's records; resolves with its flags once their COMMIT is done. */
  enqueue(records: readonly InboxRecord[]): Promise<boolean[]> {
    if (records.length === 0) return Promise.resolve([]);
    if (this.closing) return Promise.reject(storeClosed(pkg));
    const { queueLimit } = this.options;
    if (this.queued + records.length > queueLimit) {
      return Promise.reject(
        storeUnavailable(
          undefined,
          `[${pkg}] the inbox's commit queue is full (${queueLimit} events, options.queueLimit)`,
        ),
      );
    }
    return new Promise<boolean[]>((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.queued += records.length;
      this.startFlush();
    });
  }

  /** Refuses new deliveries and waits for the queued ones. */
  async close(): Promise<void> {
    this.closing = true;
    while (this.flushing) await this.flushing;
  }

  private async commit(group: Waiting[]): Promise<void> {
    const { connection, busyTimeoutMs } = this.options;
    try {
      const flags = await connection.runIntake(
        () => this.commitGroup.immediate(group),
        busyTimeoutMs,
      );
      for (const [index, waiting] of group.entries()) waiting.resolve(flags[index] as boolean[]);
    } catch (error) {
      if (group.length === 1 || !isRowError(error)) {
        for (const waiting of group) waiting.reject(storeUnavailable(error));
        return;
      }
      // A row error: commit the deliveries one by one, so one bad delivery fails alone.
      for (const waiting of group) await this.commit([waiting]);
    }
  }

  /**
   * Takes the next group off the queue. Small deliveries, in arrival order, up to
   * `eventsPerCommit` events; a large one alone, taking turns with the small ones
   * when both wait, so a single event never waits behind a row of large commits,
   * and a large one behind at most one group of small ones.
   */
  private nextGroup(): Waiting[] {
    const smallWaits = this.smallWaits();
    const large = !smallWaits || (!this.lastLarge && this.queue.some(isLarge));
    this.lastLarge = large;
    const group: Waiting[] = [];
    let events = 0;
    for (let index = 0; index < this.queue.length; ) {
      const waiting = this.queue[index] as Waiting;
      const fits =
        group.length === 0 || (!large && events + waiting.records.length <= eventsPerCommit);
      if (isLarge(waiting) !== large || !fits) {
        index++;
        continue;
      }
      this.queue.splice(index, 1);
      group.push(waiting);
      events += waiting.records.length;
      if (large || !this.options.grouped) break;
    }
    this.queued -= events;
    return group;
  }

  private async flushAll(): Promise<void> {
    while (this.queue.length > 0) {
      await this.commit(this.nextGroup());
      // Let the deliveries that arrived meanwhile join the next group; after a large
      // one, let new connections in too (see turnsAfterLarge).
      if (this.queue.length > 0) await nextTurn();
      for (
        let turn = 1;
        this.lastLarge && turn < turnsAfterLarge && this.queue.length > 0 && !this.smallWaits();
        turn++
      )
        await nextTurn();
    }
  }

  private smallWaits(): boolean {
    return this.queue.some((waiting) => !isLarge(waiting));
  }

  private async flush(): Promise<void> {
    try {
      await this.flushAll();
    } finally {
      this.flushing = undefined;
      if (this.queue.length > 0) this.startFlush();
    }
  }

  private startFlush(): void {
    if (this.flushing) return;
    // The connection's other writes (the worker's) wait until this flush is done.
    const done = this.options.connection.beginIntake();
    this.flushing = nextTurn()
      .then(() => this.flush())
      .finally(done);
  }
}

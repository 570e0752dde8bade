/**
 * Where an inbox event stands.
 *
 * - `pending`: stored, not yet attempted (or being attempted for the first time).
 * - `retrying`: attempted and failed; due again at `nextAttemptAt`.
 * - `dead`: its retry schedule is spent; kept, listed, and replayable.
 * - `processed`: its handlers succeeded; kept for deduplication until swept.
 * - `resolved`: a `dead` event an operator handled by hand ({@link InboxStore.resolve});
 *   kept, readable, counted apart, and swept like `processed`.
 */
export type InboxState = 'pending' | 'retrying' | 'dead' | 'processed' | 'resolved';

/** Every {@link InboxState}, in the order dashboards list them. */
export const inboxStates = [
  'pending',
  'retrying',
  'dead',
  'processed',
  'resolved',
] as const satisfies readonly InboxState[];

/** One event of a delivery, as the pipeline stores it before answering 2xx. */
export interface InboxRecord {
  /** The event's idempotency key: unique in the inbox, so a redelivery is a duplicate. */
  readonly key: string;
  /** `kind:resource.id`: events of one resource run one at a time, in arrival order. */
  readonly resourceKey: string;
  /** The event's `eventType`, for listings. */
  readonly eventType: string;
  /** The one wire event as JSON text, exactly as parsed from the delivery. */
  readonly payload: string;
  /** When the delivery was accepted, in ms since the epoch. */
  readonly receivedAt: number;
  /** The client address the allowlist judged. */
  readonly clientIp: string | null;
}

/** A stored inbox event with its processing state. */
export interface InboxEntry extends InboxRecord {
  /** The store's id for the event; increases with arrival order within a store. */
  readonly id: string;
  readonly state: InboxState;
  /** How many attempts have started, the current one included. */
  readonly attempts: number;
  /** When a `pending` or `retrying` event is due, in ms; `null` otherwise. */
  readonly nextAttemptAt: number | null;
  /** The last failure's message (never request input beyond what the handler put there). */
  readonly lastError: string | null;
  /** When it was processed, in ms; `null` until then. */
  readonly processedAt: number | null;
}

/** An event leased to one worker: `token` fences its completion or failure. */
export interface InboxLease {
  readonly entry: InboxEntry;
  readonly token: string;
}

/** What {@link InboxStore.fail} records. */
export interface InboxFailure {
  /** A short description of the failure, shown in listings. */
  readonly error: string;
  /** When to try again, in ms; `null` when the schedule is spent: the event becomes `dead`. */
  readonly retryAt: number | null;
  /** When the attempt started, in ms: the history records its duration. */
  readonly startedAt?: number;
}

/** What {@link InboxStore.complete} may record about the attempt that succeeded. */
export interface InboxAttempt {
  /** When the attempt started, in ms: the history records its duration. */
  readonly startedAt: number;
}

/** Which events an operation applies to; the filters combine (AND). */
export interface InboxFilter {
  readonly state?: InboxState;
  /** `kind:id`, e.g. `'payment-request:<id>'`. */
  readonly resourceKey?: string;
  readonly eventType?: string;
  /** The idempotency key, exact. */
  readonly key?: string;
  /** Received at or after, in ms since the epoch (inclusive). */
  readonly receivedSince?: number;
  /** Received before, in ms since the epoch (exclusive). */
  readonly receivedBefore?: number;
  /** Only these store ids. */
  readonly ids?: readonly string[];
}

/** What {@link InboxStore.search} answers for: a filter, a page size and a cursor. */
export interface InboxSearch extends InboxFilter {
  /** At most this many; defaults to `inboxDefaults.listLimit` (50). Stores do not cap it. */
  readonly limit?: number;
  /** An opaque cursor: a previous page's `next`. An unknown cursor throws `INVALID_OPTION`. */
  readonly after?: string | null;
}

/** One page of a {@link InboxStore.search}. */
export interface InboxPage {
  /** Newest first (store id descending); stable while events arrive. */
  readonly entries: InboxEntry[];
  /** The cursor of the next page; `null` at the end. */
  readonly next: string | null;
}

/** What an {@link InboxHistoryItem} records. */
export type InboxHistoryAction = 'attempt' | 'replayed' | 'retried-now' | 'resolved';

/**
 * One thing that happened to an event: an attempt or an operator's action.
 * Each event keeps its newest `inboxDefaults.historyLimit` (50) items.
 */
export interface InboxHistoryItem {
  /** When, in ms since the epoch. */
  readonly at: number;
  readonly action: InboxHistoryAction;
  /** How an attempt ended (attempts only). */
  readonly outcome?: 'processed' | 'retrying' | 'dead';
  /** How long an attempt took, in ms (attempts only, when the worker said when it started). */
  readonly durationMs?: number;
  /** A failed attempt's error. */
  readonly error?: string | null;
  /** The operator's note (`resolved` only). */
  readonly note?: string;
}

/** Options of {@link InboxStore.replayMatching}. */
export interface InboxReplayOptions {
  /** Count the events that match without replaying them. */
  readonly dryRun?: boolean;
}

/** What {@link InboxStore.list} answers for. */
export interface InboxQuery {
  readonly state: InboxState;
  /** At most this many, oldest first for `pending` and `retrying`, newest first otherwise. Defaults to `50`. */
  readonly limit?: number;
}

/**
 * The inbox port: deliveries are stored here before they are answered, and a
 * worker runs the handlers from here, with retries on c2p's own schedule.
 *
 * Every method is atomic. A store that cannot reach its backend throws a
 * `C2pError` with code `STORE_UNAVAILABLE`.
 */
export interface InboxStore {
  /**
   * Stores the events of one delivery in one commit, and resolves only after
   * that commit is durable. Answers, per record, `true` when it was inserted and
   * `false` when its key was already in the inbox (a duplicate).
   */
  enqueue(records: readonly InboxRecord[]): Promise<boolean[]>;
  /**
   * Leases up to `limit` due events for `leaseMs`: `pending` or `retrying`, due,
   * not leased by a live worker, and the earliest unfinished event of their
   * resource (a `dead` one does not block its resource). Each lease counts as an
   * attempt.
   */
  lease(limit: number, leaseMs: number): Promise<InboxLease[]>;
  /** Extends a lease to `leaseMs` from now, if `token` still holds it. */
  renew(id: string, token: string, leaseMs: number): Promise<boolean>;
  /**
   * Marks the event `processed`, if `token` still holds its lease, and records
   * the attempt in its history (with its duration when `attempt` is given).
   */
  complete(id: string, token: string, attempt?: InboxAttempt): Promise<boolean>;
  /**
   * Records a failed attempt: `retrying` until `retryAt`, or `dead`, if `token`
   * still holds the lease; the attempt goes into the event's history.
   */
  fail(id: string, token: string, failure: InboxFailure): Promise<boolean>;
  /** Lists events in one state. */
  list(query: InboxQuery): Promise<InboxEntry[]>;
  /** One event by id. */
  get(id: string): Promise<InboxEntry | undefined>;
  /** How many events are in each state (`resolved` included). */
  counts(): Promise<Record<InboxState, number>>;
  /**
   * Makes a `dead` event `pending` again, due now, with its attempts reset; its
   * history is kept and gains a `replayed` item.
   */
  replay(id: string): Promise<boolean>;
  /** Makes a `retrying` event due now; its history gains a `retried-now` item. */
  retryNow(id: string): Promise<boolean>;
  /**
   * Deletes one bounded batch of `processed` and `resolved` events older than
   * the retention; answers how many. Never deletes `dead` or unfinished events.
   */
  sweep?(): Promise<number>;
  /**
   * Finds events by filter, newest first, a page at a time. Optional in the
   * port; every c2p inbox has it.
   */
  search?(query: InboxSearch): Promise<InboxPage>;
  /** An event's attempts and operator actions, oldest first; `[]` for an unknown id. */
  history?(id: string): Promise<InboxHistoryItem[]>;
  /**
   * Marks a `dead` event `resolved` (handled by hand) with `note` in its
   * history; answers `false` for any other state or an unknown id.
   */
  resolve?(id: string, note: string): Promise<boolean>;
  /**
   * Replays every `dead` event that matches `filter` (its `state`, if given,
   * must be `'dead'`: another throws `INVALID_OPTION`): each becomes `pending`,
   * due now, attempts reset, with a `replayed` history item. Atomic per event,
   * so concurrent calls replay each event once. Answers how many were replayed,
   * or with `dryRun`, how many match.
   */
  replayMatching?(filter: InboxFilter, options?: InboxReplayOptions): Promise<number>;
  /**
   * Pauses or resumes the inbox: while paused, {@link InboxStore.lease} answers
   * `[]` for every worker of this inbox, on every machine, across restarts where
   * the backend persists; `enqueue` is unaffected.
   */
  setPaused?(paused: boolean): Promise<void>;
  /** Is the inbox paused? */
  isPaused?(): Promise<boolean>;
  /**
   * Calls `listener` when another process may have made an event due (stored,
   * replayed or retried one), for inboxes that can tell, e.g. through
   * PostgreSQL's LISTEN/NOTIFY; answers the function that stops it. Workers
   * without it find such events at their next poll.
   */
  watch?(listener: () => void): () => void;
  /** Closes what the store opened itself. */
  close?(): Promise<void>;
}

/**
 * An inbox whose completion commits together with the handlers' own writes:
 * the worker calls {@link TransactionalInboxStore.completeWithin} instead of
 * `complete`, so a crash at any moment re-runs the event and its database
 * effects happen once.
 *
 * @typeParam Tx - what the handler receives, e.g. a `pg` client inside `BEGIN`.
 */
export interface TransactionalInboxStore<Tx> extends InboxStore {
  /**
   * Runs `work` and marks the event `processed` in one transaction, only if
   * `token` still holds its lease. Answers `true` when both committed, `false`
   * when the lease was lost (nothing committed). Rethrows what `work` throws,
   * after rolling back.
   */
  completeWithin(id: string, token: string, work: (tx: Tx) => Promise<void>): Promise<boolean>;
}

/** Is `inbox` a {@link TransactionalInboxStore}? */
export function isTransactionalInbox(inbox: InboxStore): inbox is TransactionalInboxStore<unknown> {
  return typeof (inbox as Partial<TransactionalInboxStore<unknown>>).completeWithin === 'function';
}

/** The transaction type an inbox hands to handlers, or `undefined` for a plain one. */
export type InboxTransactionOf<I extends InboxStore> =
  I extends TransactionalInboxStore<infer Tx> ? Tx : undefined;

import { guardHook } from './call-hooks.js';
import type { CircuitBreakerOptions } from './circuit-breaker.js';
import { type Handlers, type RunHandlers, runnerOf } from './create-handlers.js';
import {
  POLL_INTERVAL_MS,
  RENEWED_LEASE_MS,
  SWEEP_INTERVAL_MS,
  WORKER_CONCURRENCY,
} from './defaults.js';
import { describeCause } from './describe-cause.js';
import { C2pError, integerOption, invalidOption, isC2pError, storeUnavailable } from './errors.js';
import type { C2pEvent } from './events.js';
import { guardHandlers, HandlerFailure } from './handler-failure.js';
import {
  type InboxEntry,
  type InboxLease,
  type InboxStore,
  type InboxTransactionOf,
  isTransactionalInbox,
} from './inbox-store.js';
import { watchInbox } from './inbox-wakeups.js';
import { createLeaseKeeper, type LeaseKeeper } from './lease-keeper.js';
import { parseEvents } from './parse-events.js';
import {
  createRetrySchedule,
  type RetrySchedule,
  type RetryScheduleOptions,
} from './retry-schedule.js';
import { checkTelemetry, type OpenTelemetryApi } from './telemetry.js';
import { type Admission, createAdmission, type WorkerRateOptions } from './worker-admission.js';
import {
  type BacklogReport,
  createAttemptReporter,
  type DeadEventHook,
  startBacklogWatch,
} from './worker-observers.js';
import { createWorkerTelemetry, type WorkerTelemetry } from './worker-telemetry.js';

/** What happened to one attempt. */
export type AttemptOutcome =
  /** The handlers succeeded and the event is `processed`. */
  | 'processed'
  /** The handlers failed; the event is due again at `nextAttemptAt`. */
  | 'retrying'
  /** The handlers failed and the schedule is spent; the event is kept as `dead`. */
  | 'dead'
  /** The lease ran out under this worker and another took the event over; nothing was committed. */
  | 'lease_lost'
  /** The inbox could not record the outcome; the lease runs out and the event is attempted again. */
  | 'store_unavailable';

/** One attempt, for logs and dashboards. */
export interface AttemptReport {
  id: string;
  key: string;
  eventType: string;
  resourceKey: string;
  attempt: number;
  outcome: AttemptOutcome;
  /** When a `retrying` event is due again, in ms. */
  nextAttemptAt: number | null;
  /** How long the attempt took, in ms. */
  durationMs: number;
  /** Why it failed, when it did. */
  error?: C2pError;
}

/** Options for {@link startInboxWorker}. */
export interface InboxWorkerOptions<I extends InboxStore = InboxStore> {
  /** The inbox to drain: the same one the intake stores into, in this process or another. */
  inbox: I;
  /** What to run for each event, from {@link createHandlers}; handlers receive the inbox's transaction. */
  handlers: Handlers<InboxTransactionOf<I>>;
  /**
   * When to try again after a failure, as options for {@link createRetrySchedule}
   * or a schedule of your own. Defaults to about three days of exponential
   * backoff with jitter, then `dead`.
   */
  retry?: RetryScheduleOptions | RetrySchedule;
  /** How many events run at once in this process. Defaults to `4`. */
  concurrency?: number;
  /**
   * At most this many handler attempts start per second: `{ perSecond }` for
   * this worker alone, or `{ gate }` for a {@link RateGate} shared by every
   * worker of the inbox (the stores' `create*RateGate`). The worker waits for
   * its slot before it leases, so no lease runs out while it waits. Defaults
   * to no limit.
   */
  rate?: WorkerRateOptions;
  /**
   * The circuit breaker: after `failures` handler failures in a row, this
   * worker leases nothing for 30 s (doubling to 5 min while its one probe
   * fails), so events keep their remaining attempts while downstream is down.
   * `false` turns it off. Defaults to `{ failures: 5 }`.
   */
  breaker?: CircuitBreakerOptions | false;
  /** How long a lease holds before another worker may take the event over, in ms; renewed every third of it while handlers run. Defaults to `10000`. */
  leaseMs?: number;
  /** How often to look for due events when nothing wakes the worker, in ms. Defaults to `1000`. */
  pollIntervalMs?: number;
  /**
   * How often to delete processed events past the inbox's retention (its
   * `sweep()`, one bounded batch at a time), in ms; `0` never does. Defaults to
   * `60000`.
   */
  sweepIntervalMs?: number;
  /** Called once per attempt; a hook that throws is ignored. */
  onAttempt?(report: AttemptReport): void;
  /** Called with failed handlers (the cause) and inbox failures; a hook that throws is ignored. */
  onError?(error: C2pError, context: WorkerErrorContext): void;
  /** Called once each time an event goes `dead` (again after a replay that dies); a hook that throws is ignored. */
  onDead?: DeadEventHook;
  /**
   * The backlog threshold, in ms: when the oldest `pending` or `retrying` event
   * has waited longer than this since it was received, `onBacklog` is called
   * once, and `onRecovered` once when it is back under it. Defaults to no check.
   */
  backlogAfterMs?: number;
  /** How often the backlog is checked, in ms. Defaults to `5000`, or `backlogAfterMs` when shorter. */
  backlogCheckIntervalMs?: number;
  /** Called once when the backlog passes `backlogAfterMs`; a hook that throws is ignored. */
  onBacklog?(report: BacklogReport): void;
  /** Called once when the backlog is back under `backlogAfterMs`; a hook that throws is ignored. */
  onRecovered?(report: BacklogReport): void;
  /**
   * The `@opentelemetry/api` module, for a span per attempt, attempt counts and
   * durations, and inbox gauges (see the README's "Telemetry"). Defaults to none.
   */
  telemetry?: OpenTelemetryApi;
  /** The clock, in ms. Defaults to `Date.now`. */
  now?: () => number;
}

/** What the worker's error hook learns beside the error. */
export interface WorkerErrorContext {
  key?: string;
  event?: C2pEvent;
  attempt?: number;
}

/** A running worker. */
export interface InboxWorker {
  /** Looks for due events now (the intake wakes this process's workers by itself). */
  wake(): void;
  /** Resolves when nothing is running and nothing is due (for tests and scripts). */
  idle(): Promise<void>;
  /** Stops leasing, waits for running attempts, and resolves. */
  stop(): Promise<void>;
}

/** What one attempt needs: the worker's settings and hooks, resolved once. */
interface Attempts {
  readonly inbox: InboxStore;
  readonly run: RunHandlers;
  readonly leaseMs: number;
  readonly schedule: RetrySchedule;
  readonly leases: LeaseKeeper;
  readonly now: () => number;
  readonly report: (report: AttemptReport) => void;
  readonly reportError: (error: C2pError, context: WorkerErrorContext) => void;
  readonly telemetry: WorkerTelemetry | undefined;
}

/**
 * Runs the handlers of events stored in an inbox: at once when woken, again on
 * the retry schedule when they fail, one event of a resource at a time. Needs
 * no credentials and no HTTP: the intake may run in other processes. Leases are
 * renewed while handlers run, so a live worker never loses its event and a
 * crashed one's event is taken over when its lease runs out. Stop it before
 * closing the inbox.
 *
 * @example
 * const handlers = createHandlers<InboxTransactionOf<typeof inbox>>()
 *   .on('PAYMENT-COMPLETED', async (event, { key, tx }) => { ... });
 * const worker = startInboxWorker({ inbox, handlers, concurrency: 8 });
 * process.on('SIGTERM', () => worker.stop().then(() => inbox.close()));
 */
export function startInboxWorker<I extends InboxStore>(
  options: InboxWorkerOptions<I>,
): InboxWorker {
  const resolved = resolveWorkerOptions(options);
  const admission = createAdmission(options.rate, options.breaker, resolved.now);
  const attempts = { ...resolved, report: admission.observe(resolved.report) };
  const concurrency = integerOption(options.concurrency, 'options.concurrency', {
    fallback: WORKER_CONCURRENCY,
  });
  const pollIntervalMs = integerOption(options.pollIntervalMs, 'options.pollIntervalMs', {
    fallback: POLL_INTERVAL_MS,
  });
  const sweepIntervalMs = integerOption(options.sweepIntervalMs, 'options.sweepIntervalMs', {
    fallback: SWEEP_INTERVAL_MS,
    min: 0,
  });
  const worker = runLoop(attempts, { concurrency, pollIntervalMs, sweepIntervalMs, admission });
  const stopWatch = startBacklogWatch(attempts.inbox, options, {
    now: attempts.now,
    reportError: (error) => attempts.reportError(storeUnavailable(error), {}),
  });
  return {
    ...worker,
    stop: () => {
      stopWatch();
      attempts.telemetry?.stop();
      return worker.stop();
    },
  };
}

function resolveWorkerOptions<I extends InboxStore>(options: InboxWorkerOptions<I>): Attempts {
  if (typeof options !== 'object' || options === null)
    throw invalidOption('options', 'must be an object');
  const { inbox } = options;
  if (typeof inbox !== 'object' || inbox === null)
    throw invalidOption('options.inbox', 'must be an inbox store, e.g. createSqliteInbox()');
  const run = runnerOf(options.handlers);
  if (run === undefined)
    throw invalidOption('options.handlers', 'must be a registry from createHandlers()');
  const leaseMs = integerOption(options.leaseMs, 'options.leaseMs', {
    fallback: RENEWED_LEASE_MS,
  });
  const now = options.now ?? Date.now;
  const api = checkTelemetry(options.telemetry, 'options.telemetry');
  const telemetry = api && createWorkerTelemetry(api, inbox, now);
  return {
    inbox,
    run,
    leaseMs,
    schedule:
      typeof options.retry === 'function' ? options.retry : createRetrySchedule(options.retry),
    leases: createLeaseKeeper((id, token, ms) => inbox.renew(id, token, ms), leaseMs),
    now,
    report: createAttemptReporter(options, telemetry),
    reportError: guardHook(options.onError),
    telemetry,
  };
}

interface LoopSettings {
  readonly concurrency: number;
  readonly pollIntervalMs: number;
  readonly sweepIntervalMs: number;
  readonly admission: Admission;
}

const sleep = (ms: number, signal: { wake?: () => void }): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.wake = undefined;
      resolve();
    }
    signal.wake = done;
  });

/** The worker's loop: sweep, lease what there is room for, run it, sleep until woken or the next poll. */
function runLoop(attempts: Attempts, settings: LoopSettings): InboxWorker {
  const loop = new WorkerLoop(attempts, settings);
  return { wake: loop.wake, idle: () => loop.idle(), stop: () => loop.stop() };
}

class WorkerLoop {
  readonly #attempts: Attempts;
  readonly #settings: LoopSettings;
  readonly #running = new Set<Promise<void>>();
  readonly #signal: { wake?: () => void } = {};
  readonly #sweep: (at: number) => Promise<void>;
  readonly #unwatch: () => void;
  readonly #done: Promise<void>;
  #stopped = false;
  #woken = false;
  #idleWaiters: Array<() => void> = [];
  #lastPollFound = 0;

  constructor(attempts: Attempts, settings: LoopSettings) {
    this.#attempts = attempts;
    this.#settings = settings;
    this.#sweep = createSweeper(attempts, settings.sweepIntervalMs);
    this.#unwatch = watchInbox(attempts.inbox, this.wake);
    this.#done = this.#loop();
  }

  /** Looks for due events now; bound, so it can be handed around. */
  readonly wake = (): void => {
    this.#woken = true;
    this.#signal.wake?.();
  };

  idle(): Promise<void> {
    // A stopped worker runs nothing more: it is as idle as it will get.
    if (this.#stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#idleWaiters.push(resolve);
      this.wake();
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#settings.admission.stop();
    this.#unwatch();
    this.#signal.wake?.();
    await this.#done;
    await Promise.allSettled([...this.#running]);
    this.#resolveIdle();
  }

  async #loop(): Promise<void> {
    const { concurrency, pollIntervalMs } = this.#settings;
    while (!this.#stopped) {
      this.#woken = false;
      await this.#sweep(this.#attempts.now());
      await this.#poll();
      if (this.#stopped) break;
      if (this.#running.size === 0 && this.#lastPollFound === 0 && !this.#woken)
        this.#resolveIdle();
      // More may be due: look again at once while there is room and work.
      if (this.#woken || (this.#lastPollFound > 0 && this.#running.size < concurrency)) continue;
      await sleep(pollIntervalMs, this.#signal);
    }
  }

  async #poll(): Promise<void> {
    const { admission, concurrency } = this.#settings;
    const running = this.#running.size;
    const room = admission.room(concurrency - running, running);
    let leases: InboxLease[];
    try {
      // Rate and breaker first, then the lease: no lease waits for its slot.
      if (room <= 0 || !(await admission.admit())) {
        this.#lastPollFound = 0;
        return;
      }
      leases = await this.#attempts.inbox.lease(room, this.#attempts.leaseMs);
      admission.leased(leases.map((lease) => lease.entry.id));
    } catch (error) {
      this.#attempts.reportError(storeUnavailable(error), {});
      this.#lastPollFound = 0;
      return;
    }
    this.#lastPollFound = leases.length;
    for (const lease of leases) {
      const task: Promise<void> = attempt(lease, this.#attempts).finally(() => {
        this.#running.delete(task);
        // A finished event may unblock the next event of its resource.
        this.wake();
      });
      this.#running.add(task);
    }
  }

  #resolveIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/**
 * Housekeeping between polls, so processed events do not grow forever; a
 * failure is retried at the next interval.
 */
function createSweeper(attempts: Attempts, sweepIntervalMs: number): (at: number) => Promise<void> {
  const { inbox } = attempts;
  let nextSweepAt = attempts.now() + sweepIntervalMs;
  return async (at) => {
    if (sweepIntervalMs === 0 || typeof inbox.sweep !== 'function' || at < nextSweepAt) return;
    nextSweepAt = at + sweepIntervalMs;
    try {
      await inbox.sweep();
    } catch (error) {
      attempts.reportError(storeUnavailable(error), {});
    }
  };
}

/** One attempt of one leased event: its handlers, then `processed`, or the failure recorded. */
async function attempt({ entry, token }: InboxLease, attempts: Attempts): Promise<void> {
  const { inbox, now } = attempts;
  const started = now();
  const letGo = attempts.leases.hold(entry.id, token);
  let event: C2pEvent | undefined;
  try {
    event = decode(entry);
    const guarded = guardHandlers(attempts.run, event, { key: entry.key, attempt: entry.attempts });
    const work = attempts.telemetry ? attempts.telemetry.trace(entry, guarded) : guarded;
    let done: boolean;
    if (isTransactionalInbox(inbox)) done = await inbox.completeWithin(entry.id, token, work);
    else {
      await work(undefined);
      done = await inbox.complete(entry.id, token, { startedAt: started });
    }
    attempts.report({
      ...reportBase(entry),
      outcome: done ? 'processed' : 'lease_lost',
      nextAttemptAt: null,
      durationMs: now() - started,
    });
  } catch (thrown) {
    await recordFailure(entry, token, { thrown, event, started }, attempts);
  } finally {
    letGo();
  }
}

/** What went wrong in one attempt. */
interface AttemptFailure {
  readonly thrown: unknown;
  /** The decoded event; `undefined` when the stored payload could not be decoded. */
  readonly event: C2pEvent | undefined;
  readonly started: number;
}

/**
 * Records a failed attempt on the schedule: `retrying`, or `dead` when it is
 * spent (or the payload cannot be decoded, or a handler threw `EVENT_REFUSED`). It is recorded after a store
 * failure too: a transaction the handler left unusable fails its commit on
 * every attempt, and only the schedule ends that. When the store is really
 * down, recording fails as well, and the lease runs out instead.
 */
async function recordFailure(
  entry: InboxEntry,
  token: string,
  { thrown, event, started }: AttemptFailure,
  attempts: Attempts,
): Promise<void> {
  const { now } = attempts;
  const handlerFailed = thrown instanceof HandlerFailure || event === undefined;
  const cause = thrown instanceof HandlerFailure ? thrown.cause : thrown;
  const error = handlerFailed
    ? new C2pError('HANDLER_FAILED', { cause })
    : storeUnavailable(thrown);
  attempts.reportError(error, { key: entry.key, event, attempt: entry.attempts });
  // A handler's EVENT_REFUSED ends the schedule now: retrying cannot change its answer.
  const refused = handlerFailed && isC2pError(cause, 'EVENT_REFUSED');
  const delay = event === undefined || refused ? null : attempts.schedule(entry.attempts);
  const retryAt = delay === null ? null : now() + delay;
  let recorded: boolean;
  try {
    recorded = await attempts.inbox.fail(entry.id, token, {
      error: describeCause(cause),
      retryAt,
      startedAt: started,
    });
  } catch (failError) {
    if (handlerFailed) attempts.reportError(storeUnavailable(failError), { key: entry.key, event });
    attempts.report({
      ...reportBase(entry),
      outcome: 'store_unavailable',
      nextAttemptAt: null,
      durationMs: now() - started,
      error,
    });
    return;
  }
  attempts.report({
    ...reportBase(entry),
    outcome: !recorded ? 'lease_lost' : retryAt === null ? 'dead' : 'retrying',
    nextAttemptAt: recorded ? retryAt : null,
    durationMs: now() - started,
    error,
  });
}

function reportBase(
  entry: InboxEntry,
): Pick<AttemptReport, 'id' | 'key' | 'eventType' | 'resourceKey' | 'attempt'> {
  return {
    id: entry.id,
    key: entry.key,
    eventType: entry.eventType,
    resourceKey: entry.resourceKey,
    attempt: entry.attempts,
  };
}

function decode(entry: InboxEntry): C2pEvent {
  const parsed = parseEvents(entry.payload);
  const event = parsed.success && parsed.data.length === 1 ? parsed.data[0] : undefined;
  if (!event) throw new Error('the stored payload is not one valid event');
  return event;
}

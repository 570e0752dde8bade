import { C2pError, integerOption, storeUnavailable } from './errors.js';
import type { C2pEvent } from './events.js';
import { HandlerFailure } from './handler-failure.js';
import {
  type InboxEntry,
  type InboxLease,
  type InboxStore,
  isTransactionalInbox,
} from './inbox-store.js';
import { parseEvents } from './parse-events.js';
import type { RetrySchedule } from './retry-schedule.js';

/** What an inbox handler receives beside the event. */
export interface InboxRunContext<Tx = unknown> {
  /** The event's idempotency key: send it as the idempotency key of your own external calls. */
  key: string;
  /** The inbox's transaction for SQL inboxes, committed with the event's `processed` state. */
  tx: Tx;
  /** This attempt's number, from 1. */
  attempt: number;
}

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
export interface InboxWorkerOptions {
  inbox: InboxStore;
  /** Runs the handlers for one event; throws to fail the attempt. */
  run(event: C2pEvent, context: InboxRunContext): Promise<void> | undefined;
  /** When to try again after a failure. */
  schedule: RetrySchedule;
  /** How many events run at once in this process. Defaults to `4`. */
  concurrency?: number;
  /** How long a lease holds before another worker may take the event over; renewed while handlers run. Defaults to `15000`. */
  leaseMs?: number;
  /** How often to look for due events when nothing wakes the worker, in ms. Defaults to `1000`. */
  pollIntervalMs?: number;
  /**
   * How often to delete processed events past the inbox's retention (its
   * `sweep()`, one bounded batch at a time), in ms; `0` never does. Defaults to
   * `60000`.
   */
  sweepIntervalMs?: number;
  /** Called once per attempt. */
  onAttempt?(report: AttemptReport): void;
  /** Called with failed handlers (the cause) and inbox failures. */
  onError?(error: C2pError, context: { key?: string; event?: C2pEvent; attempt?: number }): void;
  /** The clock, in ms. Defaults to `Date.now`. */
  now?: () => number;
}

/** A running worker. */
export interface InboxWorker {
  /** Looks for due events now (the pipeline calls it after each accepted delivery). */
  wake(): void;
  /** Resolves when nothing is running and nothing is due (for tests and scripts). */
  idle(): Promise<void>;
  /** Stops leasing, waits for running attempts, and resolves. */
  stop(): Promise<void>;
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

/**
 * Runs the handlers of events stored in an inbox: at once when woken, again on
 * the retry schedule when they fail, one event of a resource at a time. Leases
 * are renewed while handlers run, so a live worker never loses its event and a
 * crashed one's event is taken over when its lease runs out.
 */
export function startInboxWorker(options: InboxWorkerOptions): InboxWorker {
  const { inbox, run, schedule } = options;
  const concurrency = integerOption(options.concurrency, 'options.concurrency', { fallback: 4 });
  const leaseMs = integerOption(options.leaseMs, 'options.leaseMs', { fallback: 15_000 });
  const pollIntervalMs = integerOption(options.pollIntervalMs, 'options.pollIntervalMs', {
    fallback: 1_000,
  });
  const sweepIntervalMs = integerOption(options.sweepIntervalMs, 'options.sweepIntervalMs', {
    fallback: 60_000,
    min: 0,
  });
  const now = options.now ?? Date.now;
  const transactional = isTransactionalInbox(inbox);
  const running = new Set<Promise<void>>();
  const signal: { wake?: () => void } = {};
  let stopped = false;
  let woken = false;
  let idleWaiters: Array<() => void> = [];
  let lastPollFound = 0;
  let nextSweepAt = now() + sweepIntervalMs;

  const report = (value: AttemptReport): void => {
    try {
      options.onAttempt?.(value);
    } catch {
      // A broken hook must not stop the worker.
    }
  };
  const reportError = (
    error: C2pError,
    context: { key?: string; event?: C2pEvent; attempt?: number },
  ): void => {
    try {
      options.onError?.(error, context);
    } catch {
      // A broken hook must not stop the worker.
    }
  };

  const attempt = async ({ entry, token }: InboxLease): Promise<void> => {
    const started = now();
    const base = {
      id: entry.id,
      key: entry.key,
      eventType: entry.eventType,
      resourceKey: entry.resourceKey,
      attempt: entry.attempts,
    };
    const renewal = setInterval(
      () => {
        inbox.renew(entry.id, token, leaseMs).catch(() => undefined);
      },
      Math.max(1, Math.floor(leaseMs / 3)),
    );
    let event: C2pEvent | undefined;
    try {
      event = decode(entry);
      const context = { key: entry.key, attempt: entry.attempts };
      const guarded = async (tx: unknown): Promise<void> => {
        try {
          await run(event as C2pEvent, { ...context, tx });
        } catch (cause) {
          throw new HandlerFailure(cause);
        }
      };
      let done: boolean;
      if (transactional) done = await inbox.completeWithin(entry.id, token, guarded);
      else {
        await guarded(undefined);
        done = await inbox.complete(entry.id, token);
      }
      report({
        ...base,
        outcome: done ? 'processed' : 'lease_lost',
        nextAttemptAt: null,
        durationMs: now() - started,
      });
    } catch (thrown) {
      const handlerFailed = thrown instanceof HandlerFailure || event === undefined;
      const cause = thrown instanceof HandlerFailure ? thrown.cause : thrown;
      const error = handlerFailed
        ? new C2pError('HANDLER_FAILED', { cause })
        : storeUnavailable(thrown);
      reportError(error, { key: entry.key, event, attempt: entry.attempts });
      // The attempt is recorded on the schedule after a store failure too: a
      // transaction the handler left unusable fails its commit on every attempt,
      // and only the schedule ends that. When the store is really down, recording
      // fails as well, and the lease runs out instead.
      const delay = event === undefined ? null : schedule(entry.attempts);
      const retryAt = delay === null ? null : now() + delay;
      let recorded: boolean;
      try {
        recorded = await inbox.fail(entry.id, token, { error: describe(cause), retryAt });
      } catch (failError) {
        if (handlerFailed) reportError(storeUnavailable(failError), { key: entry.key, event });
        report({
          ...base,
          outcome: 'store_unavailable',
          nextAttemptAt: null,
          durationMs: now() - started,
          error,
        });
        return;
      }
      report({
        ...base,
        outcome: !recorded ? 'lease_lost' : retryAt === null ? 'dead' : 'retrying',
        nextAttemptAt: recorded ? retryAt : null,
        durationMs: now() - started,
        error,
      });
    } finally {
      clearInterval(renewal);
    }
  };

  const poll = async (): Promise<void> => {
    const room = concurrency - running.size;
    if (room <= 0) return;
    let leases: InboxLease[];
    try {
      leases = await inbox.lease(room, leaseMs);
    } catch (error) {
      reportError(storeUnavailable(error), {});
      lastPollFound = 0;
      return;
    }
    lastPollFound = leases.length;
    for (const lease of leases) {
      const task: Promise<void> = attempt(lease).finally(() => {
        running.delete(task);
        // A finished event may unblock the next event of its resource.
        wake();
      });
      running.add(task);
    }
  };

  // Housekeeping between polls, so processed events do not grow forever; a
  // failure is retried at the next interval.
  const sweep = async (): Promise<void> => {
    if (sweepIntervalMs === 0 || typeof inbox.sweep !== 'function' || now() < nextSweepAt) return;
    nextSweepAt = now() + sweepIntervalMs;
    try {
      await inbox.sweep();
    } catch (error) {
      reportError(storeUnavailable(error), {});
    }
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      woken = false;
      await sweep();
      await poll();
      if (stopped) break;
      if (running.size === 0 && lastPollFound === 0 && !woken) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
      // More may be due: look again at once while there is room and work.
      if (woken || (lastPollFound > 0 && running.size < concurrency)) continue;
      await sleep(pollIntervalMs, signal);
    }
  };

  function wake(): void {
    woken = true;
    signal.wake?.();
  }

  const loopDone = loop();

  return {
    wake,
    idle() {
      // A stopped worker runs nothing more: it is as idle as it will get.
      if (stopped) return Promise.resolve();
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        wake();
      });
    },
    async stop() {
      stopped = true;
      signal.wake?.();
      await loopDone;
      await Promise.allSettled([...running]);
      for (const resolve of idleWaiters) resolve();
      idleWaiters = [];
    },
  };
}

function decode(entry: InboxEntry): C2pEvent {
  const parsed = parseEvents(entry.payload);
  const event = parsed.success && parsed.data.length === 1 ? parsed.data[0] : undefined;
  if (!event) throw new Error('the stored payload is not one valid event');
  return event;
}

function describe(cause: unknown): string {
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

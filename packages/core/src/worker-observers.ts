import { guardHook } from './call-hooks.js';
import { describeCause } from './describe-cause.js';
import { integerOption } from './errors.js';
import { oldestUnfinishedAge } from './inbox-health.js';
import type { InboxStore } from './inbox-store.js';
import type { AttemptReport } from './inbox-worker.js';
import type { WorkerTelemetry } from './worker-telemetry.js';

/** An event that went `dead`, as {@link DeadEventHook} receives it: never its payload. */
export interface DeadEvent {
  /** The inbox's id of the event, for `replay(id)`. */
  readonly id: string;
  readonly key: string;
  /** `kind:resource.id`. */
  readonly resource: string;
  readonly eventType: string;
  /** How many attempts it had. */
  readonly attempts: number;
  /** The last failure with its causes, as the inbox keeps it (at most 500 characters). */
  readonly lastError: string;
}

/** Called once when an event goes `dead` (again after each replay that dies). */
export type DeadEventHook = (event: DeadEvent) => void;

/** What the backlog hooks receive. */
export interface BacklogReport {
  /** How long the oldest `pending` or `retrying` event has waited since it was received, in ms. */
  readonly oldestUnfinishedAgeMs: number;
  /** The threshold it crossed (`backlogAfterMs`). */
  readonly thresholdMs: number;
}

/** The worker options this file reads. */
export interface ObserverOptions {
  onAttempt?(report: AttemptReport): void;
  onDead?: DeadEventHook;
  backlogAfterMs?: number;
  backlogCheckIntervalMs?: number;
  onBacklog?(report: BacklogReport): void;
  onRecovered?(report: BacklogReport): void;
}

/** The worker's one report function: the attempt hook, the dead-event hook and telemetry, each guarded. */
export function createAttemptReporter(
  options: ObserverOptions,
  telemetry: WorkerTelemetry | undefined,
): (report: AttemptReport) => void {
  const onAttempt = guardHook(options.onAttempt);
  const onDead = guardHook(options.onDead);
  const attempted = guardHook(telemetry?.attempted);
  return (report) => {
    attempted(report);
    onAttempt(report);
    if (report.outcome !== 'dead') return;
    onDead({
      id: report.id,
      key: report.key,
      resource: report.resourceKey,
      eventType: report.eventType,
      attempts: report.attempt,
      lastError: describeCause(report.error?.cause ?? report.error),
    });
  };
}

/** How often the backlog is checked at most, in ms, when the threshold is longer. */
const BACKLOG_CHECK_MS = 5_000;

/**
 * Checks the age of the inbox's oldest unfinished event every
 * `backlogCheckIntervalMs` (defaults to 5 s, or the threshold when shorter):
 * `onBacklog` once when it passes `backlogAfterMs`, `onRecovered` once when it
 * is back under it. Answers the function that stops it; a failed read is
 * reported and the next check tries again.
 */
export function startBacklogWatch(
  inbox: Pick<InboxStore, 'list'>,
  options: ObserverOptions,
  context: { now: () => number; reportError: (error: unknown) => void },
): () => void {
  if (options.backlogAfterMs === undefined) return () => {};
  const thresholdMs = integerOption(options.backlogAfterMs, 'options.backlogAfterMs', {
    fallback: 0,
  });
  const intervalMs = integerOption(
    options.backlogCheckIntervalMs,
    'options.backlogCheckIntervalMs',
    {
      fallback: Math.min(BACKLOG_CHECK_MS, thresholdMs),
    },
  );
  const onBacklog = guardHook(options.onBacklog);
  const onRecovered = guardHook(options.onRecovered);
  let behind = false;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = async (): Promise<void> => {
    try {
      const age = await oldestUnfinishedAge(inbox, context.now());
      const report = { oldestUnfinishedAgeMs: age, thresholdMs };
      if (!behind && age > thresholdMs) onBacklog(report);
      else if (behind && age <= thresholdMs) onRecovered(report);
      behind = age > thresholdMs;
    } catch (error) {
      context.reportError(error);
    }
    if (!stopped) timer = setTimeout(check, intervalMs);
  };
  timer = setTimeout(check, intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

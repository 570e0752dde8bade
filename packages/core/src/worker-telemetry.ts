import { oldestUnfinishedAge } from './inbox-health.js';
import type { InboxEntry, InboxStore } from './inbox-store.js';
import { inboxStates } from './inbox-store.js';
import type { AttemptReport } from './inbox-worker.js';
import {
  hashKey,
  type OpenTelemetryApi,
  spanKind,
  statusError,
  type TelemetryObservation,
  type TelemetrySpan,
  telemetryScope,
} from './telemetry.js';

/** The work of one attempt, as the worker hands it to the inbox. */
type Work = (tx: unknown) => Promise<void>;

/** What the worker calls: around an attempt's handlers, after its report, and when it stops. */
export interface WorkerTelemetry {
  /** Starts the attempt's span and answers `work` running inside it, so handlers' own spans nest under it. */
  trace(entry: InboxEntry, work: Work): Work;
  /** Ends the attempt's span and counts it. */
  attempted(report: AttemptReport): void;
  /** Removes the inbox gauges' callbacks. */
  stop(): void;
}

/**
 * A worker's spans (`c2p.handler.attempt`), counter `c2p.handler.attempts`
 * (`outcome`), histogram `c2p.handler.duration` (seconds), and observable
 * gauges `c2p.inbox.events` (`state`), `c2p.inbox.oldest_unfinished_age`
 * (seconds) and `c2p.inbox.paused`, read from the inbox when collected.
 */
export function createWorkerTelemetry(
  api: OpenTelemetryApi,
  inbox: InboxStore & { isPaused?(): Promise<boolean> },
  now: () => number,
): WorkerTelemetry {
  const tracer = api.trace.getTracer(telemetryScope);
  const meter = api.metrics.getMeter(telemetryScope);
  const attempts = meter.createCounter('c2p.handler.attempts', {
    description: 'Handler attempts of the inbox worker, by outcome',
  });
  const duration = meter.createHistogram('c2p.handler.duration', {
    description: 'How long one handler attempt took',
    unit: 's',
  });
  const spans = new Map<string, TelemetrySpan>();
  const stopGauges = observeInbox(api, inbox, now);
  return {
    trace(entry, work) {
      const span = tracer.startSpan('c2p.handler.attempt', {
        kind: spanKind.consumer,
        attributes: {
          'c2p.event_type': entry.eventType,
          'c2p.resource_kind': entry.resourceKey.slice(0, entry.resourceKey.indexOf(':')),
          'c2p.attempt': entry.attempts,
          'c2p.key_hash': hashKey(entry.key),
        },
      });
      spans.set(entry.id, span);
      const active = api.trace.setSpan(api.context.active() as never, span as never);
      return (tx) => api.context.with(active as never, () => work(tx));
    },
    attempted(report) {
      attempts.add(1, { outcome: report.outcome });
      duration.record(report.durationMs / 1000, { outcome: report.outcome });
      const span = spans.get(report.id);
      if (span === undefined) return;
      spans.delete(report.id);
      span.setAttribute('c2p.outcome', report.outcome);
      if (report.outcome !== 'processed') {
        span.setStatus({ code: statusError, message: report.error?.code ?? report.outcome });
      }
      span.end();
    },
    stop: stopGauges,
  };
}

/** Registers the inbox gauges; answers the function that removes them. */
function observeInbox(
  api: OpenTelemetryApi,
  inbox: InboxStore & { isPaused?(): Promise<boolean> },
  now: () => number,
): () => void {
  const meter = api.metrics.getMeter(telemetryScope);
  const gauges = [
    {
      gauge: meter.createObservableGauge('c2p.inbox.events', {
        description: 'Inbox events by state',
      }),
      callback: async (result: TelemetryObservation) => {
        const counts = await inbox.counts();
        for (const state of inboxStates) result.observe(counts[state] ?? 0, { state });
      },
    },
    {
      gauge: meter.createObservableGauge('c2p.inbox.oldest_unfinished_age', {
        description:
          'How long the oldest pending or retrying event has waited since it was received',
        unit: 's',
      }),
      callback: async (result: TelemetryObservation) => {
        result.observe((await oldestUnfinishedAge(inbox, now())) / 1000);
      },
    },
    {
      gauge: meter.createObservableGauge('c2p.inbox.paused', {
        description: '1 while the inbox is paused',
      }),
      callback: async (result: TelemetryObservation) => {
        result.observe((await inbox.isPaused?.()) === true ? 1 : 0);
      },
    },
  ];
  for (const { gauge, callback } of gauges) gauge.addCallback(callback);
  return () => {
    for (const { gauge, callback } of gauges) gauge.removeCallback(callback);
  };
}

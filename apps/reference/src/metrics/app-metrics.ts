import type { AttemptReport, DeliveryReport, InboxHealth } from '@c2p/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The app's Prometheus metrics, named as in the design's "Operating it". */
export interface AppMetrics {
  delivery(listener: string, report: DeliveryReport): void;
  attempt(report: AttemptReport): void;
  alert(name: string): void;
  /** For the reconciler: `c2p_reconcile_total{outcome}`. */
  readonly reconcile: Counter<'outcome'>;
  /** The Prometheus text, with the inbox gauges read now (`undefined` in sync mode: no inbox gauges). */
  scrape(health: InboxHealth | undefined): Promise<{ type: string; body: string }>;
}

/** A registry of the app's own: no process or Node defaults, only what the design lists. */
export function createAppMetrics(): AppMetrics {
  const registry = new Registry();
  const deliveries = new Counter({
    name: 'c2p_deliveries_total',
    help: 'Webhook deliveries answered, refused ones included, by listener, HTTP status and error code ("" for a 200)',
    labelNames: ['listener', 'status', 'code'] as const,
    registers: [registry],
  });
  const events = new Gauge({
    name: 'c2p_inbox_events',
    help: 'Inbox events by state',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const oldest = new Gauge({
    name: 'c2p_inbox_oldest_unfinished_age_seconds',
    help: 'How long the oldest pending or retrying event has waited since it was received',
    registers: [registry],
  });
  const paused = new Gauge({
    name: 'c2p_inbox_paused',
    help: '1 while the inbox is paused',
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'c2p_handler_attempts_total',
    help: "The inbox worker's handler attempts, by outcome",
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'c2p_handler_duration_seconds',
    help: 'How long one handler attempt took, whatever its outcome',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const alerts = new Counter({
    name: 'c2p_alerts_total',
    help: 'Alerts raised, by alert',
    labelNames: ['alert'] as const,
    registers: [registry],
  });
  const reconcile = new Counter({
    name: 'c2p_reconcile_total',
    help: "The reconciler's reads, by outcome",
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return {
    delivery(listener, report) {
      deliveries.inc({ listener, status: String(report.status), code: report.code ?? '' });
    },
    attempt(report) {
      attempts.inc({ outcome: report.outcome });
      duration.observe(report.durationMs / 1000);
    },
    alert(name) {
      alerts.inc({ alert: name });
    },
    reconcile,
    async scrape(health) {
      if (health) {
        for (const [state, count] of Object.entries(health.counts)) events.set({ state }, count);
        oldest.set(health.oldestUnfinishedAgeMs / 1000);
        paused.set(health.paused ? 1 : 0);
      }
      return { type: registry.contentType, body: await registry.metrics() };
    },
  };
}

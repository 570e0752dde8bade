import type { FactoryEvent } from '../create-event.js';
import type { AttemptReport, DeliveryIdentity, DeliveryRunResult } from '../deliver.js';

/**
 * One attempt as a progress line:
 * `#2 attempt 1/3  200 delivered  12 ms  processed 0, duplicates 1`.
 * The `#n` shows only when the run has more than one delivery.
 */
export function formatAttempt(
  report: AttemptReport,
  delivery: DeliveryIdentity,
  run: { attempts: number; total: number },
): string {
  const who = run.total > 1 ? `#${delivery.index + 1} ` : '';
  const result =
    report.outcome === 'delivered'
      ? `${report.status} delivered`
      : report.status !== null
        ? `${report.status} not delivered`
        : `${report.outcome}: ${report.error}`;
  let body = '';
  if (report.responseBody !== null) {
    const summary =
      report.outcome === 'delivered' ? receiverSummary(report.responseBody) : undefined;
    body = `  ${summary ?? oneLine(report.responseBody)}`;
  }
  return `${who}attempt ${report.attempt}/${run.attempts}  ${result}  ${Math.round(report.durationMs)} ms${body}`;
}

/** The closing line: `ok: 1/1 delivered, 0 failed (2 attempts in all)`. */
export function formatRunSummary(run: DeliveryRunResult): string {
  const attempts = run.deliveries.reduce((sum, d) => sum + d.attempts.length, 0);
  return `${run.ok ? 'ok' : 'FAILED'}: ${run.delivered}/${run.deliveries.length} delivered, ${run.failed} failed (${attempts} attempts in all)`;
}

/** What `--json` prints about each event `send` built. */
export function summariseEvent(event: FactoryEvent): Record<string, unknown> {
  return {
    eventType: event.eventType,
    resourceType: event.resourceType,
    id: event.resource.id,
    status: event.resource.status,
    amount: event.resource.amount,
  };
}

/**
 * `processed 1, duplicates 0` for c2p's own answer `{received, processed, duplicates}`,
 * so a duplicate shows without --json; `undefined` for any other body.
 */
function receiverSummary(body: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { received, processed, duplicates } = value as Record<string, unknown>;
  if (![received, processed, duplicates].every((n) => typeof n === 'number')) return undefined;
  return `processed ${processed}, duplicates ${duplicates}`;
}

/** A body on one line, cut at 160 characters. */
function oneLine(value: string): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}

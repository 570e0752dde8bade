import type { FactoryEvent } from '../create-event.js';
import type { DeliveryAttempt, DeliveryIdentity, DeliveryRunResult } from '../deliver.js';

/**
 * One attempt as a progress line:
 * `#2 attempt 1/3  200 delivered  12 ms  accepted 1, duplicates 0`.
 * The `#n` shows only when the run has more than one delivery. A body the
 * previous attempt of the same delivery already showed is not shown again, and
 * an HTML page is never shown (its text is rarely more than the status says).
 */
export function formatAttempt(
  report: DeliveryAttempt,
  delivery: DeliveryIdentity,
  run: { attempts: number; total: number; previous?: DeliveryAttempt | undefined },
): string {
  const who = run.total > 1 ? `#${delivery.index + 1} ` : '';
  const result =
    report.outcome === 'delivered'
      ? `${report.status} delivered`
      : report.status !== null
        ? `${report.status} not delivered`
        : `${report.outcome}: ${report.error}`;
  const detail = describeBody(report, run.previous);
  return `${who}attempt ${report.attempt}/${run.attempts}  ${result}  ${Math.round(report.durationMs)} ms${detail === '' ? '' : `  ${detail}`}`;
}

/** The closing line: `ok: 1/1 delivered, 0 failed (2 attempts in all)`. */
export function formatRunSummary(run: DeliveryRunResult): string {
  const attempts = run.deliveries.reduce((sum, d) => sum + d.attempts.length, 0);
  return `${run.ok ? 'ok' : 'FAILED'}: ${run.delivered}/${run.deliveries.length} delivered, ${run.failed} failed (${attempts} attempts in all)`;
}

/** What `--json` prints about each event `send` built. */
export function summariseEvent(event: FactoryEvent): Record<string, unknown> {
  const { id, status, amount, merchantTransactionId, paymentRequestId } = event.resource;
  return {
    eventType: event.eventType,
    resourceType: event.resourceType,
    id,
    status,
    amount,
    merchantTransactionId,
    ...(paymentRequestId === undefined ? {} : { paymentRequestId }),
  };
}

function describeBody(report: DeliveryAttempt, previous: DeliveryAttempt | undefined): string {
  const body = report.responseBody;
  if (body === null) return '';
  const answer = receiverAnswer(body);
  if (answer !== undefined) return answer;
  if (previous?.responseBody === body && previous.status === report.status) return '(same body)';
  if (/^\s*</.test(body))
    return `(an HTML page, ${body.length}${body.length >= 1024 ? '+' : ''} bytes)`;
  return oneLine(body);
}

/**
 * c2p's own answers, in one form whatever the mode: `accepted 1, duplicates 0`
 * (inbox), `processed 1, duplicates 0` (sync), `UNAUTHORIZED` (an error, with its
 * message); `undefined` for any other body.
 */
function receiverAnswer(body: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  const { received, processed, accepted, duplicates, error } = value;
  if (typeof received === 'number' && typeof duplicates === 'number') {
    if (typeof accepted === 'number') return `accepted ${accepted}, duplicates ${duplicates}`;
    if (typeof processed === 'number') return `processed ${processed}, duplicates ${duplicates}`;
  }
  if (isObject(error) && typeof error.code === 'string') {
    return typeof error.message === 'string' ? `${error.code}: ${error.message}` : error.code;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A body on one line, cut at 160 characters. */
function oneLine(value: string): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}

import type { DeliveryReport, ErrorContext, EventReport } from './delivery-report.js';
import { C2pError, storeUnavailable } from './errors.js';
import type { C2pEvent } from './events.js';
import type { InboxRecord, InboxStore } from './inbox-store.js';
import { acceptedResponse, refuse } from './responses.js';
import type { WebhookResponse } from './webhook-request.js';

/** What storing a delivery's events needs from the pipeline. */
export interface EventsInbox {
  readonly inbox: InboxStore;
  readonly keyOf: (event: C2pEvent) => string;
  readonly now: () => number;
  /** Tells this process's worker that events were stored. */
  wake(): void;
  /** Hands an error to the error hooks. */
  reportError(error: C2pError, context: ErrorContext): void;
}

/**
 * The events step in inbox mode: stores every event of the delivery in one
 * commit and answers 200 only after it, with how many were new and how many
 * the inbox already held. A store that cannot commit answers 503: never a 2xx
 * for an event that is not stored. The handlers run later, from the inbox.
 */
export async function storeEvents(
  events: readonly C2pEvent[],
  report: DeliveryReport,
  target: EventsInbox,
): Promise<WebhookResponse> {
  const receivedAt = target.now();
  const records: InboxRecord[] = [];
  const entries: EventReport[] = [];
  for (const event of events) {
    const entry: EventReport = {
      eventType: event.eventType,
      kind: event.kind,
      resourceId: event.resource.id,
      status: event.resource.status,
      key: '',
      outcome: 'not_attempted',
    };
    report.events.push(entry);
    entries.push(entry);
    try {
      entry.key = target.keyOf(event);
    } catch (cause) {
      // Only the user's key function throws here: store nothing, so the retry stores all.
      target.reportError(new C2pError('HANDLER_FAILED', { cause }), { event });
      entry.outcome = 'handler_failed';
      return refuse(report, 'HANDLER_FAILED');
    }
    records.push({
      key: entry.key,
      resourceKey: `${event.kind}:${event.resource.id}`,
      eventType: event.eventType,
      payload: JSON.stringify(event.raw),
      receivedAt,
      clientIp: report.clientIp ?? null,
    });
  }
  let inserted: boolean[];
  try {
    inserted = await target.inbox.enqueue(records);
    // One answer per record, or nothing can be said to be stored: never a 2xx then.
    if (!Array.isArray(inserted) || inserted.length !== records.length) {
      throw new Error(
        `the inbox answered ${Array.isArray(inserted) ? inserted.length : 'no'} flags for ${records.length} events`,
      );
    }
  } catch (cause) {
    target.reportError(storeUnavailable(cause), {});
    for (const entry of entries) entry.outcome = 'store_unavailable';
    return refuse(report, 'STORE_UNAVAILABLE');
  }
  let accepted = 0;
  entries.forEach((entry, i) => {
    entry.outcome = inserted[i] ? 'accepted' : 'duplicate';
    if (inserted[i]) accepted++;
  });
  if (accepted > 0) target.wake();
  return acceptedResponse(events.length, accepted, events.length - accepted);
}

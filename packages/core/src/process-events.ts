import type { DeliveryReport, EventReport, FailedOutcome } from './delivery-report.js';
import { C2pError, type C2pErrorCode, errorCodes } from './errors.js';
import type { C2pEvent } from './events.js';
import { type EventProcessor, processEvent } from './process-event.js';
import { refuse, summaryResponse } from './responses.js';
import type { WebhookResponse } from './webhook-request.js';

/** What processing a delivery's events needs: one event's processor and the key rule. */
export interface EventsProcessor extends EventProcessor {
  readonly keyOf: (event: C2pEvent) => string;
}

/**
 * The events step in sync mode: processes the events of a delivery one after
 * the other and answers the summary, or the worst outcome's error (the one with
 * the highest status). After a store failure the rest are not attempted.
 */
export async function processEvents(
  events: readonly C2pEvent[],
  report: DeliveryReport,
  processor: EventsProcessor,
): Promise<WebhookResponse> {
  let processed = 0;
  let duplicates = 0;
  let worst: C2pErrorCode | undefined;
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
    if (worst === 'STORE_UNAVAILABLE') continue;
    try {
      entry.key = processor.keyOf(event);
      entry.outcome = await processEvent(event, entry.key, processor);
    } catch (cause) {
      // Only the user's key function throws here.
      processor.reportError(new C2pError('HANDLER_FAILED', { cause }), { event });
      entry.outcome = 'handler_failed';
    }
    if (entry.outcome === 'processed') processed++;
    else if (entry.outcome === 'duplicate') duplicates++;
    else worst = worse(worst, codeOf(entry.outcome as FailedOutcome));
  }
  if (worst) return refuse(report, worst);
  return summaryResponse(events.length, processed, duplicates);
}

function codeOf(outcome: FailedOutcome): C2pErrorCode {
  return outcome.toUpperCase() as Uppercase<FailedOutcome>;
}

function worse(current: C2pErrorCode | undefined, next: C2pErrorCode): C2pErrorCode {
  return current && errorCodes[current].status >= errorCodes[next].status ? current : next;
}

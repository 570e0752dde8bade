import type {
  DeliveryReport,
  EventOutcome,
  EventReport,
  FailedOutcome,
} from './delivery-report.js';
import { C2pError, type C2pErrorCode, errorCodes } from './errors.js';
import type { C2pEvent } from './events.js';
import { isPromiseLike } from './maybe-promise.js';
import { type EventProcessor, processEvent } from './process-event.js';
import { refuse, summaryResponse } from './responses.js';
import type { WebhookResponse } from './webhook-request.js';

/** What processing a delivery's events needs: one event's processor and the key rule. */
export interface EventsProcessor extends EventProcessor {
  readonly keyOf: (event: C2pEvent) => string;
  /**
   * Does anyone read the report's per-event entries (an `onDelivery` hook)? If
   * not, none is made: an object less for every event.
   */
  detailed(): boolean;
}

/** The outcomes so far of a delivery's events. */
interface Tally {
  processed: number;
  duplicates: number;
  /** The error code of the worst failed outcome (the highest status). */
  worst: C2pErrorCode | undefined;
}

/**
 * The events step in sync mode: processes the events of a delivery one after
 * the other and answers the summary, or the worst outcome's error (the one with
 * the highest status). After a store failure the rest are not attempted.
 *
 * Synchronous while every outcome is (a store that answers at once, handlers
 * that return nothing): the first outcome that is a promise continues the rest
 * in {@link finishLater}, in the same order.
 */
export function processEvents(
  events: readonly C2pEvent[],
  report: DeliveryReport,
  processor: EventsProcessor,
): WebhookResponse | Promise<WebhookResponse> {
  const tally: Tally = { processed: 0, duplicates: 0, worst: undefined };
  const detailed = processor.detailed();
  for (let i = 0; i < events.length; i++) {
    const entry = detailed ? entryOf(events[i] as C2pEvent, report) : undefined;
    const outcome = start(events[i] as C2pEvent, entry, tally, processor);
    if (isPromiseLike(outcome))
      return finishLater(events, i, entry, outcome, report, tally, processor);
    record(entry, outcome, tally);
  }
  return answer(events.length, report, tally);
}

async function finishLater(
  events: readonly C2pEvent[],
  at: number,
  entry: EventReport | undefined,
  pending: PromiseLike<EventOutcome>,
  report: DeliveryReport,
  tally: Tally,
  processor: EventsProcessor,
): Promise<WebhookResponse> {
  record(entry, await pending, tally);
  for (let i = at + 1; i < events.length; i++) {
    // Detailed when the first had an entry.
    const next = entry ? entryOf(events[i] as C2pEvent, report) : undefined;
    record(next, await start(events[i] as C2pEvent, next, tally, processor), tally);
  }
  return answer(events.length, report, tally);
}

function entryOf(event: C2pEvent, report: DeliveryReport): EventReport {
  const entry: EventReport = {
    eventType: event.eventType,
    kind: event.kind,
    resourceId: event.resource.id,
    status: event.resource.status,
    key: '',
    outcome: 'not_attempted',
  };
  report.events.push(entry);
  return entry;
}

/** Processes one event, unless a store failure came before it; never throws. */
function start(
  event: C2pEvent,
  entry: EventReport | undefined,
  tally: Tally,
  processor: EventsProcessor,
): EventOutcome | PromiseLike<EventOutcome> {
  if (tally.worst === 'STORE_UNAVAILABLE') return 'not_attempted';
  let key: string;
  try {
    key = processor.keyOf(event);
  } catch (cause) {
    // Only the user's key function throws here.
    processor.reportError(new C2pError('HANDLER_FAILED', { cause }), { event });
    return 'handler_failed';
  }
  if (entry) entry.key = key;
  return processEvent(event, key, processor);
}

function record(entry: EventReport | undefined, outcome: EventOutcome, tally: Tally): void {
  if (entry) entry.outcome = outcome;
  if (outcome === 'processed') tally.processed++;
  else if (outcome === 'duplicate') tally.duplicates++;
  else if (outcome !== 'not_attempted')
    tally.worst = worse(tally.worst, codeOf(outcome as FailedOutcome));
}

function answer(received: number, report: DeliveryReport, tally: Tally): WebhookResponse {
  if (tally.worst) return refuse(report, tally.worst);
  return summaryResponse(received, tally.processed, tally.duplicates);
}

function codeOf(outcome: FailedOutcome): C2pErrorCode {
  return outcome.toUpperCase() as Uppercase<FailedOutcome>;
}

function worse(current: C2pErrorCode | undefined, next: C2pErrorCode): C2pErrorCode {
  return current && errorCodes[current].status >= errorCodes[next].status ? current : next;
}

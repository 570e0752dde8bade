import type { DeliveryReport } from './delivery-report.js';
import type { C2pErrorCode, DeliveryStep } from './errors.js';
import type { C2pEvent } from './events.js';
import { isLargeBody, largeTurns, takesTurns } from './large-turns.js';
import { parseEvents, type RawBody } from './parse-events.js';
import { checkBody, hasBody, type ReadBodyResult, readBody } from './read-body.js';
import type { ResolvedOptions } from './resolve-options.js';
import { type RefusalDetails, refuse } from './responses.js';
import type { WebhookRequest, WebhookResponse } from './webhook-request.js';

/** What deciding a delivery needs: the resolved options and the events step. */
export interface DeliveryPipeline {
  readonly options: ResolvedOptions;
  /** The events step: processes (sync mode) or stores (inbox mode) the parsed events. */
  acceptEvents(
    events: readonly C2pEvent[],
    report: DeliveryReport,
  ): WebhookResponse | Promise<WebhookResponse>;
}

/**
 * Decides one delivery, step by step as the README's table: each step passes or
 * refuses with its one code. May throw only if the request object itself is
 * broken (a throwing header lookup).
 *
 * Answers a promise only when a step is asynchronous (a lazily read body, a
 * large body's turn, a store's answer): a refusal, or a small body handed over
 * whole and judged without the store, costs no promise and no turn of the
 * microtask queue.
 */
export function decideDelivery(
  request: WebhookRequest,
  report: DeliveryReport,
  pipeline: DeliveryPipeline,
): WebhookResponse | Promise<WebhookResponse> {
  const { options } = pipeline;
  if (!isPost(request.method))
    return refusedEarly(request, report, 'METHOD_NOT_ALLOWED', allowPost);
  report.clientIp = options.clientIpOf(request);
  if (!options.allowlist.allows(report.clientIp))
    return refusedEarly(request, report, 'IP_NOT_ALLOWED');
  if (!options.verify(request.header('authorization'))) {
    return refusedEarly(request, report, 'UNAUTHORIZED', {
      headers: { 'www-authenticate': options.challenge },
    });
  }
  if (isLazy(request)) {
    return readBody(request, options.maxBodyBytes).then((read) =>
      afterReading(read, request, report, pipeline),
    );
  }
  // A body handed over whole is measured at once.
  return afterReading(checkBody(request, options.maxBodyBytes), request, report, pipeline);
}

/**
 * The steps after the body is read: its size, then (a large body waiting for
 * its turn, see `large-turns.ts`) its JSON and schema, and the events step.
 */
function afterReading(
  read: ReadBodyResult,
  request: WebhookRequest,
  report: DeliveryReport,
  pipeline: DeliveryPipeline,
): WebhookResponse | Promise<WebhookResponse> {
  if (!read.ok) return refusedEarly(request, report, read.code);
  const { body } = read;
  if (takesTurns && isLargeBody(body)) {
    return largeTurns.take().then(() => judge(body, report, pipeline));
  }
  return judge(body, report, pipeline);
}

/** JSON and schema, the events cap, then the events step. */
function judge(
  body: RawBody,
  report: DeliveryReport,
  pipeline: DeliveryPipeline,
): WebhookResponse | Promise<WebhookResponse> {
  const parsed = parseEvents(body);
  if (!parsed.success) return refuse(report, parsed.error.code, { issues: parsed.error.issues });
  if (parsed.data.length > pipeline.options.maxEvents) return refuse(report, 'TOO_MANY_EVENTS');
  report.step = 'events';
  return pipeline.acceptEvents(parsed.data, report);
}

/** A refusal before the body was read whole: see {@link closing}. */
function refusedEarly(
  request: WebhookRequest,
  report: DeliveryReport,
  code: C2pErrorCode,
  details?: RefusalDetails,
): WebhookResponse {
  const response = refuse(report, code, details);
  return leftUnread(request, report) ? closing(response) : response;
}

const allowPost = { headers: { allow: 'POST' } };

function isPost(method: string): boolean {
  return method === 'POST' || (typeof method === 'string' && method.toUpperCase() === 'POST');
}

// The steps that refuse a lazily read body before it is read whole.
const beforeTheBody: ReadonlySet<DeliveryStep> = new Set(['method', 'ip', 'auth', 'size']);

/** Was a body refused before it was read whole (never read, or cut at the limit)? */
function leftUnread(request: WebhookRequest, report: DeliveryReport): boolean {
  return (
    typeof request.body === 'function' &&
    report.code !== undefined &&
    beforeTheBody.has(report.step) &&
    hasBody(request)
  );
}

/**
 * An unread body is never drained: the answer says `Connection: close`, so the
 * server closes once it is sent, and the unread bytes cannot be taken for the
 * next request on a kept-alive connection.
 */
function closing(response: WebhookResponse): WebhookResponse {
  return { ...response, headers: { ...response.headers, connection: 'close' } };
}

/** Does the adapter hand over a reader rather than the body itself? */
function isLazy(request: WebhookRequest): request is WebhookRequest & {
  body: Extract<WebhookRequest['body'], (maxBytes: number) => unknown>;
} {
  return typeof request.body === 'function';
}

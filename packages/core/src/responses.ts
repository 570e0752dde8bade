import type { DeliveryReport } from './delivery-report.js';
import { type C2pErrorCode, errorCodes } from './errors.js';
import type { ParseIssue } from './parse-events.js';
import type { WebhookResponse } from './webhook-request.js';

// A new object for every response: frameworks may write into the one they are given.
function jsonHeaders(): Record<string, string> {
  return { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
}

/** What a refusal adds to the generic answer of its code. */
export interface RefusalDetails {
  headers?: Record<string, string>;
  /** For `INVALID_PAYLOAD`: where the body went wrong (never the input). */
  issues?: ParseIssue[];
}

/**
 * Records `code` and its step in the report, and answers the wire form of the
 * error: `{"error":{"code","message"}}`, never echoing input.
 */
export function refuse(
  report: DeliveryReport,
  code: C2pErrorCode,
  details: RefusalDetails = {},
): WebhookResponse {
  const { step, status, message } = errorCodes[code];
  if (step !== 'options') report.step = step;
  report.code = code;
  const { issues, headers } = details;
  if (issues && issues.length > 0) report.issues = issues;
  const error = issues && issues.length > 0 ? { code, message, issues } : { code, message };
  return {
    status,
    headers: headers ? { ...jsonHeaders(), ...headers } : jsonHeaders(),
    body: JSON.stringify({ error }),
  };
}

/** Inbox mode's 200 answer: how many events were received, newly stored, and stored already. */
export function acceptedResponse(
  received: number,
  accepted: number,
  duplicates: number,
): WebhookResponse {
  return {
    status: 200,
    headers: jsonHeaders(),
    body: `{"received":${received},"accepted":${accepted},"duplicates":${duplicates}}`,
  };
}

/** The 200 answer: how many events were received, processed and already done. */
export function summaryResponse(
  received: number,
  processed: number,
  duplicates: number,
): WebhookResponse {
  return {
    status: 200,
    headers: jsonHeaders(),
    body: `{"received":${received},"processed":${processed},"duplicates":${duplicates}}`,
  };
}

import type { C2pErrorCode, DeliveryStep } from './errors.js';
import type { C2pEvent, ResourceKind } from './events.js';
import type { ParseIssue } from './parse-events.js';

/**
 * What happened to one event of a delivery. In inbox mode a new event is
 * `accepted` (stored; its handlers run later) and a stored one is a `duplicate`. A failed outcome is its error code
 * in lower case (`handler_failed` is `HANDLER_FAILED`); `not_attempted` follows
 * a store failure earlier in the batch.
 */
export type EventOutcome = 'processed' | 'accepted' | 'duplicate' | FailedOutcome | 'not_attempted';

/** The outcomes that fail a delivery, each its error code in lower case. */
export type FailedOutcome = Lowercase<'IN_PROGRESS' | 'HANDLER_FAILED' | 'STORE_UNAVAILABLE'>;

/** One event's part of a {@link DeliveryReport}. */
export interface EventReport {
  eventType: string;
  kind: ResourceKind;
  resourceId: string;
  status: string | undefined;
  key: string;
  outcome: EventOutcome;
}

/** Everything about one delivery, for logs and dashboards. Never contains credentials or the body. */
export interface DeliveryReport {
  status: number;
  /** The error code, or `undefined` for a 200. */
  code: C2pErrorCode | undefined;
  /** The step that decided the delivery. */
  step: DeliveryStep;
  /** The client address the allowlist judged. */
  clientIp: string | undefined;
  events: EventReport[];
  issues?: ParseIssue[];
}

/** Context of an error passed to the error hook. */
export interface ErrorContext {
  event?: C2pEvent;
  key?: string;
  /** Inbox mode: the worker's attempt of the event, from 1. */
  attempt?: number;
}

/** A report for a delivery not yet decided. */
export function newDeliveryReport(): DeliveryReport {
  return { status: 0, code: undefined, step: 'method', clientIp: undefined, events: [] };
}

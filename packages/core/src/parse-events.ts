import { z } from 'zod';
import {
  type C2pEvent,
  eventSchema,
  isKeySafe,
  keyUnsafeMessage,
  maxKeyPartLength,
  maxResourceIdLength,
  toEvent,
  type WireEvent,
} from './events.js';
import { isRecord } from './is-record.js';

/** Raw body bytes or text, as the framework handed them over. */
export type RawBody = string | Uint8Array;

/** One reason a body was rejected: where, and what was expected. Never the input. */
export interface ParseIssue {
  /** Path into the body, e.g. `[0].resource.id`; empty for the root. */
  path: string;
  message: string;
}

/** The answer of {@link parseEvents}. */
export type ParseEventsResult =
  | { success: true; data: C2pEvent[] /** The body was an array. */; batch: boolean }
  | {
      success: false;
      error: { code: 'INVALID_JSON' | 'INVALID_PAYLOAD'; issues: ParseIssue[] };
    };

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a delivery body (one event, or an array of events) into typed events.
 * Never throws; the issues name paths and expectations, never input values.
 *
 * @example
 * const result = parseEvents(rawBody);
 * if (result.success) for (const event of result.data) console.log(event.eventType);
 */
export function parseEvents(body: RawBody): ParseEventsResult {
  let text: string;
  let json: unknown;
  try {
    text = typeof body === 'string' ? body : decoder.decode(body);
    json = JSON.parse(text);
  } catch {
    return { success: false, error: { code: 'INVALID_JSON', issues: [] } };
  }
  // The hand-written check accepts exactly what bodySchema accepts (a property
  // test holds them together) at a fraction of the cost; zod then explains failures.
  const batch = Array.isArray(json);
  const wire: unknown[] = batch ? (json as unknown[]) : [json];
  if (wire.length === 0 || !wire.every(isWireEvent)) {
    return { success: false, error: { code: 'INVALID_PAYLOAD', issues: describeIssues(json) } };
  }
  return { success: true, data: (wire as WireEvent[]).map(toEvent), batch };
}

/**
 * Is `value` one wire event as {@link eventSchema} defines it? The same rules,
 * without zod's copying: for the hot path.
 */
export function isWireEvent(value: unknown): value is WireEvent {
  if (!isRecord(value)) return false;
  // `message` and `resourceType` of another type read as absent (see eventSchema).
  const { eventType, resource } = value;
  if (!isKeyPart(eventType, maxKeyPartLength) || eventType === '') return false;
  if (!isRecord(resource)) return false;
  const { id, status, amount, merchantTransactionId } = resource;
  if (!isKeyPart(id, maxResourceIdLength) || id === '') return false;
  if (status !== undefined && !isKeyPart(status, maxKeyPartLength)) return false;
  if (amount !== undefined && (typeof amount !== 'number' || !Number.isFinite(amount)))
    return false;
  return (
    merchantTransactionId === undefined ||
    merchantTransactionId === null ||
    typeof merchantTransactionId === 'string'
  );
}

function isKeyPart(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max && isKeySafe(value);
}

// A union's issues say little: re-validate the branch the body evidently meant
// (an array, or one event), and phrase each issue from its code alone so no
// input value can leak.
function describeIssues(json: unknown): ParseIssue[] {
  const branch = Array.isArray(json) ? z.array(eventSchema).min(1) : eventSchema;
  const issues = branch.safeParse(json, { reportInput: true }).error?.issues ?? [];
  const seen = new Set<string>();
  const out: ParseIssue[] = [];
  for (const issue of issues.slice(0, 20)) {
    const item = { path: formatPath(issue.path), message: describe(issue) };
    const id = `${item.path} ${item.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      out.push(item);
    }
  }
  if (out.length === 0)
    out.push({ path: '', message: 'expected an event object or an array of events' });
  return out;
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `required ${issue.expected}`
        : `expected ${issue.expected}`;
    case 'too_small':
      return issue.origin === 'array' ? 'expected at least one event' : 'must not be empty';
    case 'too_big':
      return `must be at most ${String(issue.maximum)} characters`;
    case 'custom':
      // Our own refinements' fixed messages; a custom issue says nothing of the input.
      return issue.message === keyUnsafeMessage ? keyUnsafeMessage : 'invalid value';
    default:
      return 'invalid value';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

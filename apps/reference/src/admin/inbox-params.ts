import type { IncomingMessage } from 'node:http';
import { type InboxFilter, type InboxSearch, type InboxState, inboxStates } from '@c2p/core';
import { inboxDefaults } from '@c2p/core/kit';
import { badRequest } from './admin-error.js';

/** The most ids one bulk replay names. */
const maxIds = 1000;
/** The largest admin request body, in bytes: a filter and a note are small. */
const maxBodyBytes = 64 * 1024;
/** The longest note a resolve keeps. */
const maxNoteLength = 1000;

const { listLimit, listLimitMax } = inboxDefaults;

/** A store id: a short decimal number. */
export const isEventId = (id: unknown): id is string =>
  typeof id === 'string' && /^[1-9][0-9]{0,15}$/.test(id);

/** A time: ms since the epoch, or an ISO 8601 date (`2026-12-07` or a date-time). */
function timeOf(name: string, value: unknown): number {
  const ms =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^[0-9]{1,16}$/.test(value)
        ? Number(value)
        : typeof value === 'string' &&
            /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw badRequest(`${name} must be a time: an ISO 8601 date or ms since the epoch.`);
  }
  return ms;
}

function stateOf(name: string, value: unknown): InboxState {
  if (typeof value !== 'string' || !(inboxStates as readonly string[]).includes(value)) {
    throw badRequest(`${name} must be one of ${inboxStates.join(', ')}.`);
  }
  return value as InboxState;
}

function textOf(name: string, value: unknown, max = 500): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw badRequest(`${name} must be a non-empty string of at most ${max} characters.`);
  }
  return value;
}

/** A filter field: the parameter's name and how it sets the filter. */
const filterFields: Record<string, (filter: Record<string, unknown>, value: unknown) => void> = {
  state: (f, v) => {
    f.state = stateOf('state', v);
  },
  resource: (f, v) => {
    f.resourceKey = textOf('resource', v);
  },
  eventType: (f, v) => {
    f.eventType = textOf('eventType', v);
  },
  key: (f, v) => {
    f.key = textOf('key', v, 1000);
  },
  receivedSince: (f, v) => {
    f.receivedSince = timeOf('receivedSince', v);
  },
  receivedBefore: (f, v) => {
    f.receivedBefore = timeOf('receivedBefore', v);
  },
};

/**
 * `GET /api/inbox`'s query: `state`, `resource` (`kind:id`), `eventType`,
 * `key`, `receivedSince`, `receivedBefore`, `limit` (1 to 500, default 50) and
 * `after` (a page's `next`). An unknown parameter, a repeated one or a bad
 * value is a 400 naming it.
 */
export function searchParams(params: URLSearchParams): InboxSearch {
  const search: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (seen.has(name)) throw badRequest(`${name} is given more than once.`);
    seen.add(name);
    const field = Object.hasOwn(filterFields, name) ? filterFields[name] : undefined;
    if (field) field(search, value);
    else if (name === 'limit') {
      const limit = Number(value);
      if (!/^[0-9]{1,4}$/.test(value) || limit < 1 || limit > listLimitMax) {
        throw badRequest(`limit must be a whole number from 1 to ${listLimitMax}.`);
      }
      search.limit = limit;
    } else if (name === 'after') search.after = textOf('after', value);
    else throw badRequest(`${name} is not a parameter of /api/inbox.`);
  }
  return { limit: listLimit, ...search };
}

/** Reads a JSON object body (empty means `{}`); anything else is a 400. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) throw badRequest(`The body is over ${maxBodyBytes} bytes.`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('The body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest('The body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/**
 * `POST /api/inbox/replay`'s body: the filter fields of the listing but `key`,
 * plus `ids` and `dryRun`. `state` may only be `dead` (the default).
 */
export function bulkReplayBody(body: Record<string, unknown>): {
  filter: InboxFilter;
  dryRun: boolean;
} {
  const filter: Record<string, unknown> = {};
  let dryRun = false;
  for (const [name, value] of Object.entries(body)) {
    if (name === 'dryRun') {
      if (typeof value !== 'boolean') throw badRequest('dryRun must be true or false.');
      dryRun = value;
    } else if (name === 'ids') {
      if (!Array.isArray(value) || value.length > maxIds || !value.every(isEventId)) {
        throw badRequest(`ids must be a list of at most ${maxIds} inbox event ids.`);
      }
      filter.ids = value;
    } else if (name !== 'key' && Object.hasOwn(filterFields, name)) {
      filterFields[name]?.(filter, value);
    } else throw badRequest(`${name} is not a field of a bulk replay.`);
  }
  if (filter.state !== undefined && filter.state !== 'dead') {
    throw badRequest('state must be dead: only dead events are replayed.');
  }
  return { filter: filter as InboxFilter, dryRun };
}

/** `POST /api/inbox/:id/resolve`'s body: `{ "note": "..." }`, the note required. */
export function resolveNote(body: Record<string, unknown>): string {
  for (const name of Object.keys(body)) {
    if (name !== 'note') throw badRequest(`${name} is not a field of a resolve.`);
  }
  return textOf('note', body.note, maxNoteLength);
}

import { type InboxState, type InboxStore, inboxStates } from '@c2p/core';
import { inboxDefaults } from '@c2p/core/kit';
import { badRequest, createAdminError, methodNotAllowed, notFound } from './admin-error.js';
import { type AdminReply, jsonReply } from './admin-reply.js';
import { publicInboxEntry } from './public-inbox-entry.js';

/** Inbox mode: the inbox, and how to wake the worker after a replay or retry-now. */
export interface AdminInbox {
  store: InboxStore;
  wake(): void;
}

/** How many inbox events one listing answers at most, and by default. */
const { listLimit: inboxLimitDefault, listLimitMax: inboxLimitMax } = inboxDefaults;

/** The admin's inbox write routes: the state an event must be in, and the inbox call. */
const inboxActions = {
  replay: { from: 'dead', run: (inbox: InboxStore, id: string) => inbox.replay(id) },
  'retry-now': { from: 'retrying', run: (inbox: InboxStore, id: string) => inbox.retryNow(id) },
} as const satisfies Record<
  string,
  { from: InboxState; run: (inbox: InboxStore, id: string) => Promise<boolean> }
>;
type InboxAction = keyof typeof inboxActions;

const isAction = (name: string | undefined): name is InboxAction =>
  name !== undefined && Object.hasOwn(inboxActions, name);

/** `?state=` (optional, one of the inbox states) and `?limit=` (1 to 500, default 50). */
function inboxQuery(params: URLSearchParams): { state: InboxState | undefined; limit: number } {
  const state = params.get('state') ?? undefined;
  if (state !== undefined && !(inboxStates as readonly string[]).includes(state)) {
    throw badRequest(`state must be one of ${inboxStates.join(', ')}.`);
  }
  const rawLimit = params.get('limit');
  const limit = rawLimit === null ? inboxLimitDefault : Number(rawLimit);
  if (rawLimit !== null && (!/^[0-9]{1,4}$/.test(rawLimit) || limit < 1 || limit > inboxLimitMax)) {
    throw badRequest(`limit must be a whole number from 1 to ${inboxLimitMax}.`);
  }
  return { state: state as InboxState | undefined, limit };
}

async function listing(inbox: InboxStore, params: URLSearchParams): Promise<AdminReply> {
  const query = inboxQuery(params);
  const counts = await inbox.counts();
  if (query.state === undefined) return jsonReply({ counts });
  const events = await inbox.list({ state: query.state, limit: query.limit });
  return jsonReply({ counts, state: query.state, events: events.map(publicInboxEntry) });
}

/** Every store's ids are short decimal numbers; anything else names no event. */
function eventId(segment: string): string {
  try {
    const id = decodeURIComponent(segment);
    if (/^[0-9]{1,20}$/.test(id)) return id;
  } catch {
    // Not percent-encoded properly: names no event either.
  }
  throw notFound('No such inbox event.');
}

async function act(target: AdminInbox, id: string, action: InboxAction): Promise<AdminReply> {
  const inbox = target.store;
  const entry = await inbox.get(id);
  if (!entry) throw notFound('No such inbox event.');
  const { from, run } = inboxActions[action];
  if (entry.state !== from || !(await run(inbox, id))) {
    const now = entry.state === from ? ((await inbox.get(id))?.state ?? entry.state) : entry.state;
    throw createAdminError({
      status: 409,
      code: 'WRONG_STATE',
      message: `Only a ${from} event can be sent to ${action}; this one is ${now}.`,
    });
  }
  // Read before the worker is woken, so the answer shows the state the action left.
  const after = (await inbox.get(id)) ?? entry;
  target.wake();
  return jsonReply(publicInboxEntry(after));
}

/**
 * `GET /api/inbox` (counts; `?state=&limit=` lists), `GET /api/inbox/:id`,
 * `POST /api/inbox/:id/replay` (a dead event) and `POST /api/inbox/:id/retry-now`
 * (a retrying one). In sync mode (`inbox` undefined) every one answers 404 `INBOX_OFF`.
 */
export function createInboxRoutes(
  inbox: AdminInbox | undefined,
): (method: string, url: URL) => Promise<AdminReply> {
  return async (method, url) => {
    if (!inbox) {
      throw createAdminError({
        status: 404,
        code: 'INBOX_OFF',
        message: 'The inbox is off: the app runs with C2P_MODE=sync.',
      });
    }
    const rest = url.pathname.slice('/api/inbox'.length).split('/').filter(Boolean);
    const action = rest[1];
    const isWrite = rest.length === 2 && isAction(action);
    if (rest.length > 2 || (rest.length === 2 && !isWrite)) throw notFound();
    const allowed = isWrite ? 'POST' : 'GET, HEAD';
    if (!allowed.split(', ').includes(method)) {
      throw methodNotAllowed(allowed, `Only ${allowed} is accepted here.`);
    }
    if (rest.length === 0) return listing(inbox.store, url.searchParams);
    const id = eventId(rest[0] as string);
    if (isAction(action)) return act(inbox, id, action);
    const entry = await inbox.store.get(id);
    if (!entry) throw notFound('No such inbox event.');
    return jsonReply(publicInboxEntry(entry));
  };
}

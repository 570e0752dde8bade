import type { IncomingMessage } from 'node:http';
import { type InboxState, type InboxStore, isC2pError } from '@c2p/core';
import { badRequest, createAdminError, methodNotAllowed, notFound } from './admin-error.js';
import { type AdminReply, jsonReply } from './admin-reply.js';
import { bulkReplayBody, readJsonObject, resolveNote, searchParams } from './inbox-params.js';
import { parsedPayload, publicHistoryItem, publicInboxEntry } from './public-inbox-entry.js';

/** Inbox mode: the inbox, and how to wake the worker after a replay or retry-now. */
export interface AdminInbox {
  store: InboxStore;
  wake(): void;
}

/** The admin's inbox write routes: the state an event must be in, and the inbox call. */
const inboxActions = {
  replay: { from: 'dead', run: (inbox: InboxStore, id: string) => inbox.replay(id) },
  'retry-now': { from: 'retrying', run: (inbox: InboxStore, id: string) => inbox.retryNow(id) },
  resolve: {
    from: 'dead',
    run: (inbox: InboxStore, id: string, note: string) => operations(inbox).resolve(id, note),
  },
} as const satisfies Record<
  string,
  { from: InboxState; run: (inbox: InboxStore, id: string, note: string) => Promise<boolean> }
>;
type InboxAction = keyof typeof inboxActions;

const isAction = (name: string | undefined): name is InboxAction =>
  name !== undefined && Object.hasOwn(inboxActions, name);

/** The routes on the inbox as a whole: `POST /api/inbox/<name>`. */
const inboxWideRoutes = ['replay', 'pause', 'resume'] as const;
type InboxWideRoute = (typeof inboxWideRoutes)[number];
const isInboxWide = (name: string | undefined): name is InboxWideRoute =>
  (inboxWideRoutes as readonly (string | undefined)[]).includes(name);

/** The inbox with its operations; every inbox of the app has them. */
type OperatedInbox = InboxStore &
  Required<
    Pick<InboxStore, 'search' | 'history' | 'resolve' | 'replayMatching' | 'setPaused' | 'isPaused'>
  >;

function operations(inbox: InboxStore): OperatedInbox {
  const names = [
    'search',
    'history',
    'resolve',
    'replayMatching',
    'setPaused',
    'isPaused',
  ] as const;
  if (names.some((name) => typeof inbox[name] !== 'function')) {
    throw createAdminError({
      status: 501,
      code: 'NOT_SUPPORTED',
      message: 'This inbox has no search, history, resolve, bulk replay or pause.',
    });
  }
  return inbox as OperatedInbox;
}

/** A store's `INVALID_OPTIONS` about a query field, as the 400 naming the parameter. */
function asBadRequest(error: unknown): unknown {
  if (!isC2pError(error, 'INVALID_OPTIONS')) return error;
  const field = /(?:query|filter)\.(\w+)/.exec(error.message)?.[1] ?? 'the query';
  const name = field === 'resourceKey' ? 'resource' : field;
  return badRequest(
    name === 'after'
      ? 'after is not a cursor this inbox answered: use a page\u2019s next.'
      : `${name} is not accepted.`,
  );
}

async function listing(store: InboxStore, params: URLSearchParams): Promise<AdminReply> {
  const inbox = operations(store);
  const query = searchParams(params);
  const page = await inbox.search(query).catch((error: unknown) => {
    throw asBadRequest(error);
  });
  const [counts, paused] = await Promise.all([inbox.counts(), inbox.isPaused()]);
  return jsonReply({
    counts,
    paused,
    events: page.entries.map(publicInboxEntry),
    next: page.next,
  });
}

/** `GET /api/inbox/:id`: the entry, its event as received, and its history. */
async function detail(store: InboxStore, id: string): Promise<AdminReply> {
  const inbox = operations(store);
  const entry = await inbox.get(id);
  if (!entry) throw notFound('No such inbox event.');
  const history = await inbox.history(id);
  return jsonReply({
    ...publicInboxEntry(entry),
    event: parsedPayload(entry.payload),
    history: history.map(publicHistoryItem),
  });
}

/** `POST /api/inbox/replay`, `/pause` and `/resume`. */
async function inboxWide(
  target: AdminInbox,
  route: InboxWideRoute,
  req: IncomingMessage,
): Promise<AdminReply> {
  const inbox = operations(target.store);
  const body = await readJsonObject(req);
  if (route === 'replay') {
    const { filter, dryRun } = bulkReplayBody(body);
    const n = await inbox.replayMatching(filter, { dryRun }).catch((error: unknown) => {
      throw asBadRequest(error);
    });
    if (dryRun) return jsonReply({ matched: n });
    if (n > 0) target.wake();
    return jsonReply({ replayed: n });
  }
  const extra = Object.keys(body)[0];
  if (extra !== undefined) throw badRequest(`${extra} is not a field of a ${route}.`);
  await inbox.setPaused(route === 'pause');
  if (route === 'resume') target.wake();
  return jsonReply({ paused: await inbox.isPaused() });
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

async function act(
  target: AdminInbox,
  id: string,
  action: InboxAction,
  req: IncomingMessage,
): Promise<AdminReply> {
  const inbox = target.store;
  const note = action === 'resolve' ? resolveNote(await readJsonObject(req)) : '';
  const entry = await inbox.get(id);
  if (!entry) throw notFound('No such inbox event.');
  const { from, run } = inboxActions[action];
  if (entry.state !== from || !(await run(inbox, id, note))) {
    const now = entry.state === from ? ((await inbox.get(id))?.state ?? entry.state) : entry.state;
    throw createAdminError({
      status: 409,
      code: 'WRONG_STATE',
      message: `Only a ${from} event can be sent to ${action}; this one is ${now}.`,
    });
  }
  // Read before the worker is woken, so the answer shows the state the action left.
  const after = (await inbox.get(id)) ?? entry;
  if (action !== 'resolve') target.wake();
  return jsonReply(publicInboxEntry(after));
}

/**
 * `GET /api/inbox` (search: `{ counts, paused, events, next }`), `GET /api/inbox/:id`
 * (the entry, its event and history), `POST /api/inbox/:id/replay` (a dead
 * event), `/retry-now` (a retrying one), `/resolve` `{ note }` (a dead one),
 * `POST /api/inbox/replay` (bulk, by filter, with `dryRun`), `/pause` and
 * `/resume`. In sync mode (`inbox` undefined) every one answers 404 `INBOX_OFF`.
 */
export function createInboxRoutes(
  inbox: AdminInbox | undefined,
): (method: string, url: URL, req: IncomingMessage) => Promise<AdminReply> {
  return async (method, url, req) => {
    if (!inbox) {
      throw createAdminError({
        status: 404,
        code: 'INBOX_OFF',
        message: 'The inbox is off: the app runs with C2P_MODE=sync.',
      });
    }
    const rest = url.pathname.slice('/api/inbox'.length).split('/').filter(Boolean);
    const [first, action] = rest;
    const wide = rest.length === 1 && isInboxWide(first);
    const isWrite = wide || (rest.length === 2 && isAction(action));
    if (rest.length > 2 || (rest.length === 2 && !isWrite)) throw notFound();
    const allowed = isWrite ? 'POST' : 'GET, HEAD';
    if (!allowed.split(', ').includes(method)) {
      throw methodNotAllowed(allowed, `Only ${allowed} is accepted here.`);
    }
    if (isInboxWide(first) && wide) return inboxWide(inbox, first, req);
    if (rest.length > 0 && url.search !== '') {
      throw badRequest(`${[...url.searchParams.keys()][0]} is not a parameter here.`);
    }
    if (rest.length === 0) return listing(inbox.store, url.searchParams);
    const id = eventId(first as string);
    if (isAction(action)) return act(inbox, id, action, req);
    return detail(inbox.store, id);
  };
}

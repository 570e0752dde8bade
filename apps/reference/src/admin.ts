import type { IncomingMessage, ServerResponse } from 'node:http';
import { type InboxEntry, type InboxState, type InboxStore, inboxStates } from '@c2p/core';
import {
  type AdminAccessOptions,
  createAdminAccess,
  isAdminToken,
  tokenCookie,
} from './admin-access.js';
import type { DeliveryEntry, DeliveryLog } from './delivery-log.js';
import type { HealthCheck } from './listeners.js';
import type { Order } from './order.js';
import type { OrderBook } from './order-book.js';

export interface AdminOptions {
  deliveries: DeliveryLog;
  orders: OrderBook;
  /** Inbox mode: the inbox, and how to wake the worker after a replay or retry-now. `undefined` in sync mode. */
  inbox: { store: InboxStore; wake(): void } | undefined;
  health: HealthCheck;
  /** Its own address and the optional token: see {@link createAdminAccess}. */
  access: AdminAccessOptions;
  /** Called with errors the admin answered 500 for. */
  onError: (error: unknown) => void;
}

const pageSize = 100;

/** How many inbox events one listing answers at most, and by default. */
const inboxLimitMax = 500;
const inboxLimitDefault = 50;

/** An inbox event as the admin shows it: its state and history, never its body. */
export interface PublicInboxEntry {
  id: string;
  key: string;
  eventType: string;
  /** `kind:id` of its resource: events of one resource run one at a time, in arrival order. */
  resource: string;
  state: InboxState;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  receivedAt: string;
  processedAt: string | null;
}

const isoOrNull = (ms: number | null): string | null =>
  ms === null ? null : new Date(ms).toISOString();

function publicInboxEntry(entry: InboxEntry): PublicInboxEntry {
  return {
    id: entry.id,
    key: entry.key,
    eventType: entry.eventType,
    resource: entry.resourceKey,
    state: entry.state,
    attempts: entry.attempts,
    nextAttemptAt: isoOrNull(entry.nextAttemptAt),
    lastError: entry.lastError,
    receivedAt: new Date(entry.receivedAt).toISOString(),
    processedAt: isoOrNull(entry.processedAt),
  };
}

/** The admin's inbox write routes: the state an event must be in, and the inbox call. */
const inboxActions = {
  replay: { from: 'dead', run: (inbox: InboxStore, id: string) => inbox.replay(id) },
  'retry-now': { from: 'retrying', run: (inbox: InboxStore, id: string) => inbox.retryNow(id) },
} as const satisfies Record<
  string,
  { from: InboxState; run: (inbox: InboxStore, id: string) => Promise<boolean> }
>;
type InboxAction = keyof typeof inboxActions;

/** Nothing on the admin page comes from anywhere but this server: scripts, styles and data alike. */
const securityHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * The admin's request listener: `GET /` (the page), `GET /api/events` (recent
 * deliveries, newest first), `GET /api/orders` (recent orders),
 * `GET /api/orders/:id`, `GET /healthz`, the page's script and style, and in
 * inbox mode `GET /api/inbox` (counts; `?state=&limit=` lists),
 * `GET /api/inbox/:id`, `POST /api/inbox/:id/replay` (a dead event) and
 * `POST /api/inbox/:id/retry-now` (a retrying one). In sync mode the inbox
 * routes answer 404 `INBOX_OFF`.
 */
export function createAdminListener(
  options: AdminOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const send = (res: ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, { ...securityHeaders, 'content-type': type }).end(body);
  };
  const json = (res: ServerResponse, status: number, value: unknown): void =>
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

  const refuse = createAdminAccess(options.access);

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    const refusal = refuse(req.method ?? '', path, req.headers);
    if (refusal) {
      const token = url.searchParams.get('token');
      if (
        refusal.status === 401 &&
        path === '/' &&
        token &&
        isAdminToken(options.access.token, token)
      ) {
        // The token leaves the address bar; the browser keeps it for this admin only.
        const secure = options.access.tls ? '; Secure' : '';
        res.setHeader(
          'set-cookie',
          `${tokenCookie}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/${secure}`,
        );
        res.setHeader('location', '/');
        send(res, 303, 'text/plain; charset=utf-8', '');
        return;
      }
      for (const [name, value] of Object.entries(refusal.headers ?? {})) res.setHeader(name, value);
      json(res, refusal.status, { error: { code: refusal.code, message: refusal.message } });
      return;
    }
    if (path === '/api/inbox' || path.startsWith('/api/inbox/')) {
      await inboxRoute(req, res, url);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET');
      json(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'Only GET is accepted.' } });
      return;
    }
    if (path === '/') {
      const orders = await options.orders.recent(pageSize);
      const inbox = options.inbox && (await inboxView(options.inbox.store));
      send(
        res,
        200,
        'text/html; charset=utf-8',
        renderPage(await options.deliveries.recent(pageSize), orders, inbox),
      );
    } else if (path === '/admin.js') {
      send(res, 200, 'text/javascript; charset=utf-8', adminScript);
    } else if (path === '/admin.css') {
      send(res, 200, 'text/css; charset=utf-8', adminStyle);
    } else if (path === '/api/events') {
      json(res, 200, await options.deliveries.recent());
    } else if (path === '/api/orders') {
      json(res, 200, await options.orders.recent(pageSize));
    } else if (path.startsWith('/api/orders/')) {
      let id: string;
      try {
        id = decodeURIComponent(path.slice('/api/orders/'.length));
      } catch {
        json(res, 400, { error: { code: 'BAD_REQUEST', message: 'The order id is not valid.' } });
        return;
      }
      const order = await options.orders.get(id);
      if (order) json(res, 200, publicOrder(order));
      else json(res, 404, { error: { code: 'NOT_FOUND', message: 'No such order.' } });
    } else if (path === '/healthz') {
      const answer = await options.health();
      send(res, answer.status, 'application/json', answer.body);
    } else {
      json(res, 404, { error: { code: 'NOT_FOUND', message: 'Not found.' } });
    }
  };

  const inboxRoute = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = req.method ?? '';
    if (!options.inbox) {
      json(res, 404, {
        error: { code: 'INBOX_OFF', message: 'The inbox is off: the app runs with C2P_MODE=sync.' },
      });
      return;
    }
    const inbox = options.inbox.store;
    const rest = url.pathname.slice('/api/inbox'.length).split('/').filter(Boolean);
    const action = rest[1] as InboxAction | undefined;
    const isWrite =
      rest.length === 2 && action !== undefined && Object.hasOwn(inboxActions, action);
    if (rest.length > 2 || (rest.length === 2 && !isWrite)) {
      json(res, 404, { error: { code: 'NOT_FOUND', message: 'Not found.' } });
      return;
    }
    const allowed = isWrite ? 'POST' : 'GET, HEAD';
    if (!allowed.split(', ').includes(method)) {
      res.setHeader('allow', allowed);
      json(res, 405, {
        error: { code: 'METHOD_NOT_ALLOWED', message: `Only ${allowed} is accepted here.` },
      });
      return;
    }
    if (rest.length === 0) {
      const query = inboxQuery(url.searchParams);
      if ('error' in query) {
        json(res, 400, { error: { code: 'BAD_REQUEST', message: query.error } });
        return;
      }
      const counts = await inbox.counts();
      if (query.state === undefined) {
        json(res, 200, { counts });
        return;
      }
      const events = await inbox.list({ state: query.state, limit: query.limit });
      json(res, 200, { counts, state: query.state, events: events.map(publicInboxEntry) });
      return;
    }
    let id: string;
    try {
      id = decodeURIComponent(rest[0] as string);
    } catch {
      id = '';
    }
    // Every store's ids are short decimal numbers; anything else names no event.
    const entry = /^[0-9]{1,20}$/.test(id) ? await inbox.get(id) : undefined;
    if (!entry) {
      json(res, 404, { error: { code: 'NOT_FOUND', message: 'No such inbox event.' } });
      return;
    }
    if (!isWrite) {
      json(res, 200, publicInboxEntry(entry));
      return;
    }
    const { from, run } = inboxActions[action as InboxAction];
    if (entry.state !== from || !(await run(inbox, id))) {
      const now =
        entry.state === from ? ((await inbox.get(id))?.state ?? entry.state) : entry.state;
      json(res, 409, {
        error: {
          code: 'WRONG_STATE',
          message: `Only a ${from} event can be sent to ${action}; this one is ${now}.`,
        },
      });
      return;
    }
    // Read before the worker is woken, so the answer shows the state the action left.
    const after = (await inbox.get(id)) ?? entry;
    options.inbox.wake();
    json(res, 200, publicInboxEntry(after));
  };

  return (req, res) => {
    route(req, res).catch((error: unknown) => {
      options.onError(error);
      if (!res.headersSent) {
        json(res, 500, { error: { code: 'ADMIN_FAILED', message: 'The admin could not answer.' } });
      } else res.destroy();
    });
  };
}

/** `{ id, state, fulfilments, events }`, as the design fixes it. */
function publicOrder(
  order: Order,
): Pick<Order, 'id' | 'state' | 'fulfilments' | 'events' | 'updatedAt'> {
  return {
    id: order.id,
    state: order.state,
    fulfilments: order.fulfilments,
    events: order.events,
    updatedAt: order.updatedAt,
  };
}

/** `?state=` (optional, one of the inbox states) and `?limit=` (1 to 500, default 50). */
function inboxQuery(
  params: URLSearchParams,
): { state: InboxState | undefined; limit: number } | { error: string } {
  const state = params.get('state') ?? undefined;
  if (state !== undefined && !(inboxStates as readonly string[]).includes(state)) {
    return { error: `state must be one of ${inboxStates.join(', ')}.` };
  }
  const rawLimit = params.get('limit');
  const limit = rawLimit === null ? inboxLimitDefault : Number(rawLimit);
  if (rawLimit !== null && (!/^[0-9]{1,4}$/.test(rawLimit) || limit < 1 || limit > inboxLimitMax)) {
    return { error: `limit must be a whole number from 1 to ${inboxLimitMax}.` };
  }
  return { state: state as InboxState | undefined, limit };
}

/** What the page shows of the inbox: counts, and the events that need a person. */
interface InboxView {
  counts: Record<InboxState, number>;
  dead: InboxEntry[];
  retrying: InboxEntry[];
}

async function inboxView(inbox: InboxStore): Promise<InboxView> {
  const [counts, dead, retrying] = await Promise.all([
    inbox.counts(),
    inbox.list({ state: 'dead', limit: pageSize }),
    inbox.list({ state: 'retrying', limit: pageSize }),
  ]);
  return { counts, dead, retrying };
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * What must not reach the page raw, though it is no markup: controls (NUL, C0,
 * C1), bidi overrides and isolates (U+202E turns text around), line and
 * paragraph separators, zero-width and invisible formatting characters, lone
 * surrogates, and the backslash itself (so an escape shown is never ambiguous).
 * One pattern for the server's rendering and the page's refresh.
 */
const invisiblePattern =
  '[\\\\\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff\\ufff9-\\ufffb]|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';

/** Shows each such character as its escape: `\u202E`, `\u0000`, `\\`. */
export function visible(text: string): string {
  return text.replace(new RegExp(invisiblePattern, 'g'), (c) =>
    c === '\\' ? '\\\\' : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
  );
}

const cell = (value: unknown, className?: string): string =>
  `<td${className ? ` class="${escapeHtml(className)}"` : ''}>${escapeHtml(visible(String(value ?? '')))}</td>`;

function deliveryRow(d: DeliveryEntry): string {
  const events = d.events
    .map((e) => `${e.eventType} ${e.resourceId} ${e.status ?? ''} → ${e.outcome}`)
    .join('; ');
  return `<tr data-outcome="${escapeHtml(d.outcome)}">${cell(d.at.slice(11, 23))}${cell(d.listener)}${cell(d.status)}${cell(d.outcome, `outcome ${d.outcome}`)}${cell(d.code ?? '')}${cell(refusedAt(d))}${cell(d.clientIp ?? '')}${cell(events)}</tr>`;
}

/** The step that refused a delivery; a 200 was decided by no step worth showing. */
function refusedAt(d: DeliveryEntry): string {
  return d.outcome === 'rejected' ? d.step : '';
}

function orderRow(o: Order): string {
  return `<tr data-state="${escapeHtml(o.state)}">${cell(o.id, 'mono')}${cell(o.state, `state ${o.state}`)}${cell(o.fulfilments)}${cell(o.events.length)}${cell(o.updatedAt.slice(0, 19).replace('T', ' '))}</tr>`;
}

const shortTime = (iso: string | null): string =>
  iso === null ? '' : iso.slice(0, 19).replace('T', ' ');

/** One dead or retrying event, with the button that acts on it (wired by the page's script). */
function inboxRow(entry: InboxEntry): string {
  const e = publicInboxEntry(entry);
  const action = e.state === 'dead' ? 'replay' : 'retry-now';
  const label = e.state === 'dead' ? 'Replay' : 'Retry now';
  return `<tr data-id="${escapeHtml(e.id)}">${cell(e.id, 'mono')}${cell(e.eventType)}${cell(e.resource, 'mono')}${cell(e.attempts)}${cell(e.lastError ?? '')}${cell(shortTime(e.state === 'dead' ? e.receivedAt : e.nextAttemptAt))}<td><button type="button" data-action="${action}" data-id="${escapeHtml(e.id)}">${label}</button></td></tr>`;
}

function inboxSection(view: InboxView | undefined): string {
  if (!view) {
    return `<section id="inbox-off"><h2>Inbox</h2><p>Off: this app runs with <code>C2P_MODE=sync</code> (a 2xx means the handlers ran).</p></section>`;
  }
  const counts = inboxStates
    .map(
      (state) =>
        `<li data-state="${state}"><span class="n">${escapeHtml(view.counts[state])}</span> ${state}</li>`,
    )
    .join('');
  const table = (state: 'dead' | 'retrying', when: string, rows: InboxEntry[]) =>
    `<table id="inbox-${state}"><thead><tr><th>Id</th><th>Event</th><th>Resource</th><th>Attempts</th><th>Last error</th><th>${when} (UTC)</th><th></th></tr></thead>
<tbody>${rows.map(inboxRow).join('')}</tbody></table>`;
  return `<section id="inbox">
<h2>Inbox <small>(a 2xx means stored; the handlers run from here)</small></h2>
<ul id="inbox-counts">${counts}</ul>
<p id="inbox-message" role="status"></p>
<h3>Dead <small>(retries spent: replay once the cause is fixed)</small></h3>
${table('dead', 'Received', view.dead)}
<h3>Retrying <small>(oldest first)</small></h3>
${table('retrying', 'Next attempt', view.retrying)}
</section>`;
}

function renderPage(
  deliveries: DeliveryEntry[],
  orders: Order[],
  inbox: InboxView | undefined,
): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>c2p reference: deliveries and orders</title>
<link rel="stylesheet" href="/admin.css">
<script src="/admin.js" defer></script>
</head>
<body>
<header><h1>c2p reference</h1><p id="status">Refreshes every 2 s.</p></header>
<section>
<h2>Orders <small>(most recently changed first)</small></h2>
<table id="orders"><thead><tr><th>Payment request</th><th>State</th><th>Fulfilments</th><th>Events</th><th>Updated (UTC)</th></tr></thead>
<tbody>${orders.map(orderRow).join('')}</tbody></table>
</section>
${inboxSection(inbox)}
<section>
<h2>Recent deliveries <small>(newest first; the last 500 are kept)</small></h2>
<table id="deliveries"><thead><tr><th>Time (UTC)</th><th>Listener</th><th>HTTP</th><th>Outcome</th><th>Code</th><th>Refused at</th><th>Client IP</th><th>Events</th></tr></thead>
<tbody>${deliveries.map(deliveryRow).join('')}</tbody></table>
</section>
</body>
</html>`;
}

// The refresh builds rows with textContent only: nothing received is ever parsed as HTML.
const adminScript = `'use strict';
(function () {
  var invisible = new RegExp(${JSON.stringify(invisiblePattern)}, 'g');
  function visible(text) {
    return text.replace(invisible, function (c) {
      return c === '\\\\' ? '\\\\\\\\' : '\\\\u' + ('000' + c.charCodeAt(0).toString(16).toUpperCase()).slice(-4);
    });
  }
  function row(cells, attrs) {
    var tr = document.createElement('tr');
    Object.keys(attrs).forEach(function (k) { tr.setAttribute(k, attrs[k]); });
    cells.forEach(function (c) {
      var td = document.createElement('td');
      td.textContent = c[0] == null ? '' : visible(String(c[0]));
      if (c[1]) td.className = c[1];
      tr.appendChild(td);
    });
    return tr;
  }
  function fill(id, rows) {
    var body = document.querySelector('#' + id + ' tbody');
    body.replaceChildren.apply(body, rows);
  }
  function events(d) {
    return d.events.map(function (e) {
      return e.eventType + ' ' + e.resourceId + ' ' + (e.status || '') + ' \\u2192 ' + e.outcome;
    }).join('; ');
  }
  var inbox = document.getElementById('inbox');
  function inboxRow(e) {
    var dead = e.state === 'dead';
    var tr = row([[e.id, 'mono'], [e.eventType], [e.resource, 'mono'], [e.attempts], [e.lastError || ''],
      [((dead ? e.receivedAt : e.nextAttemptAt) || '').slice(0, 19).replace('T', ' ')]], { 'data-id': e.id });
    var td = document.createElement('td');
    var button = document.createElement('button');
    button.type = 'button';
    button.setAttribute('data-action', dead ? 'replay' : 'retry-now');
    button.setAttribute('data-id', e.id);
    button.textContent = dead ? 'Replay' : 'Retry now';
    td.appendChild(button);
    tr.appendChild(td);
    return tr;
  }
  async function refreshInbox() {
    if (!inbox) return;
    var answers = await Promise.all([fetch('/api/inbox?state=dead&limit=${pageSize}'),
      fetch('/api/inbox?state=retrying&limit=${pageSize}')]);
    if (!answers[0].ok || !answers[1].ok) throw new Error('HTTP ' + answers[0].status + '/' + answers[1].status);
    var dead = await answers[0].json();
    var retrying = await answers[1].json();
    Object.keys(retrying.counts).forEach(function (state) {
      var n = document.querySelector('#inbox-counts li[data-state="' + state + '"] .n');
      if (n) n.textContent = String(retrying.counts[state]);
    });
    fill('inbox-dead', dead.events.map(inboxRow));
    fill('inbox-retrying', retrying.events.map(inboxRow));
  }
  if (inbox) {
    inbox.addEventListener('click', async function (event) {
      var button = event.target.closest('button[data-action]');
      if (!button) return;
      var message = document.getElementById('inbox-message');
      var id = button.getAttribute('data-id');
      var action = button.getAttribute('data-action');
      button.disabled = true;
      try {
        var answer = await fetch('/api/inbox/' + encodeURIComponent(id) + '/' + action, { method: 'POST' });
        var body = await answer.json();
        message.textContent = answer.ok
          ? 'Event ' + visible(String(id)) + ': ' + (action === 'replay' ? 'replayed' : 'retried now') + '.'
          : 'Event ' + visible(String(id)) + ': ' + visible(String(body.error && body.error.message));
        message.className = answer.ok ? '' : 'error';
        await refresh();
      } catch (error) {
        message.textContent = 'Cannot ' + action + ': ' + error.message;
        message.className = 'error';
        button.disabled = false;
      }
    });
  }
  async function refresh() {
    var status = document.getElementById('status');
    try {
      await refreshInbox();
      var answers = await Promise.all([fetch('/api/orders'), fetch('/api/events')]);
      if (!answers[0].ok || !answers[1].ok) throw new Error('HTTP ' + answers[0].status + '/' + answers[1].status);
      var orders = await answers[0].json();
      var deliveries = (await answers[1].json()).slice(0, ${pageSize});
      fill('orders', orders.map(function (o) {
        return row([[o.id, 'mono'], [o.state, 'state ' + o.state], [o.fulfilments], [o.events.length],
          [o.updatedAt.slice(0, 19).replace('T', ' ')]], { 'data-state': o.state });
      }));
      fill('deliveries', deliveries.map(function (d) {
        return row([[d.at.slice(11, 23)], [d.listener], [d.status], [d.outcome, 'outcome ' + d.outcome],
          [d.code || ''], [d.outcome === 'rejected' ? d.step : ''], [d.clientIp || ''], [events(d)]],
          { 'data-outcome': d.outcome });
      }));
      status.textContent = 'Updated ' + new Date().toISOString().slice(11, 19) + ' UTC; refreshes every 2 s.';
      status.className = '';
    } catch (error) {
      status.textContent = 'Cannot refresh: ' + error.message;
      status.className = 'error';
    }
  }
  setInterval(refresh, 2000);
  refresh();
})();
`;

const adminStyle = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d1d1f;background:#fafafa}
h1{font-size:1.3rem;margin:0}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}small{color:#666;font-weight:normal}
header{display:flex;gap:1rem;align-items:baseline}#status{color:#666;margin:0}#status.error{color:#b00020}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e5e5e5;vertical-align:top}
th{background:#f0f0f0;font-weight:600}.mono{font-family:ui-monospace,monospace}
.outcome,.state{font-weight:600}.processed,.paid{color:#0a7a2f}.accepted{color:#1a5fb4}.duplicate{color:#555}.rejected,.failed{color:#b00020}.refunded{color:#8a5a00}
h3{font-size:.95rem;margin:1rem 0 .4rem}#inbox-counts{list-style:none;display:flex;gap:1.5rem;padding:0;margin:.3rem 0}#inbox-counts .n{font-weight:600}
#inbox-message.error{color:#b00020}button{font:inherit;padding:.1rem .6rem}
`;

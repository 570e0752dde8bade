import type { IncomingMessage, ServerResponse } from 'node:http';
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
  health: HealthCheck;
  /** Its own address and the optional token: see {@link createAdminAccess}. */
  access: AdminAccessOptions;
  /** Called with errors the admin answered 500 for. */
  onError: (error: unknown) => void;
}

const pageSize = 100;

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
 * `GET /api/orders/:id`, `GET /healthz`, and the page's script and style.
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
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET');
      json(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'Only GET is accepted.' } });
      return;
    }
    if (path === '/') {
      const orders = await options.orders.recent(pageSize);
      send(
        res,
        200,
        'text/html; charset=utf-8',
        renderPage(await options.deliveries.recent(pageSize), orders),
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

function renderPage(deliveries: DeliveryEntry[], orders: Order[]): string {
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
  async function refresh() {
    var status = document.getElementById('status');
    try {
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
.outcome,.state{font-weight:600}.processed,.paid{color:#0a7a2f}.duplicate{color:#555}.rejected,.failed{color:#b00020}.refunded{color:#8a5a00}
`;

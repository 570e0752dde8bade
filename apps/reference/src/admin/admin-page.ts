import { readFileSync } from 'node:fs';
import { type InboxEntry, type InboxState, type InboxStore, inboxStates } from '@c2p/core';
import type { AuditEntry } from '../audit/audit-log.js';
import type { DeliveryEntry } from '../delivery-log.js';
import type { Order } from '../order.js';
import type { AdminReply } from './admin-reply.js';
import type { InboxAlarm } from './operate-routes.js';
import { alarmText, auditRow } from './operate-view.js';
import { publicInboxEntry } from './public-inbox-entry.js';
import { deliveryRow, inboxRow, orderRow, type TableRow } from './table-rows.js';
import { visible } from './visible.js';

/** How many rows each table of the page shows (the page's script asks for as many). */
export const pageSize = 100;

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A {@link TableRow} as HTML: the same columns the page's refresh builds. */
function renderRow(row: TableRow): string {
  const attributes = Object.entries(row.attributes)
    .map(([name, value]) => ` ${name}="${escapeHtml(value)}"`)
    .join('');
  const cells = row.cells
    .map(({ text, className }) => {
      const cls = className === undefined ? '' : ` class="${escapeHtml(className)}"`;
      return `<td${cls}>${escapeHtml(visible(text))}</td>`;
    })
    .join('');
  const action = row.action
    ? `<td><button type="button" data-action="${row.action.name}" data-id="${escapeHtml(row.action.id)}">${row.action.label}</button></td>`
    : '';
  return `<tr${attributes}>${cells}${action}</tr>`;
}

/** What the page shows of the inbox: counts, and the events that need a person. */
export interface InboxView {
  counts: Record<InboxState, number>;
  dead: InboxEntry[];
  retrying: InboxEntry[];
}

/** Reads what {@link renderPage} shows of the inbox. */
export async function readInboxView(inbox: InboxStore): Promise<InboxView> {
  const [counts, dead, retrying] = await Promise.all([
    inbox.counts(),
    inbox.list({ state: 'dead', limit: pageSize }),
    inbox.list({ state: 'retrying', limit: pageSize }),
  ]);
  return { counts, dead, retrying };
}

const rows = (entries: InboxEntry[]): string =>
  entries.map((entry) => renderRow(inboxRow(publicInboxEntry(entry)))).join('');

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
  const table = (state: 'dead' | 'retrying', when: string, entries: InboxEntry[]): string =>
    `<table id="inbox-${state}"><thead><tr><th>Id</th><th>Event</th><th>Resource</th><th>Attempts</th><th>Last error</th><th>${when} (UTC)</th><th></th></tr></thead>
<tbody>${rows(entries)}</tbody></table>`;
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

/** What the page shows at load; its script then refreshes it every 2 s. */
export interface PageContent {
  deliveries: DeliveryEntry[];
  orders: Order[];
  inbox: InboxView | undefined;
  /** Inbox mode: what `/healthz/inbox` would answer, for the banner. */
  alarm: InboxAlarm | undefined;
  audit: AuditEntry[];
}

/** The admin page: markup only; its script and styles are `/admin.js` and `/admin.css`. */
export function renderPage({ deliveries, orders, inbox, alarm, audit }: PageContent): string {
  const banner = alarmText(alarm);
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
${inbox ? `<p id="alert-banner" role="alert"${banner === '' ? ' hidden' : ''}>${escapeHtml(banner)}</p>` : ''}
<section>
<h2>Orders <small>(most recently changed first)</small></h2>
<table id="orders"><thead><tr><th>Payment request</th><th>State</th><th>Fulfilments</th><th>Events</th><th>Updated (UTC)</th></tr></thead>
<tbody>${orders.map((o) => renderRow(orderRow(o))).join('')}</tbody></table>
</section>
${inboxSection(inbox)}
<section>
<h2>Recent deliveries <small>(newest first; the last 500 are kept)</small></h2>
<table id="deliveries"><thead><tr><th>Time (UTC)</th><th>Listener</th><th>HTTP</th><th>Outcome</th><th>Code</th><th>Refused at</th><th>Client IP</th><th>Events</th></tr></thead>
<tbody>${deliveries.map((d) => renderRow(deliveryRow(d))).join('')}</tbody></table>
</section>
<section>
<h2>Audit <small>(admin actions and refused admin requests, newest first)</small></h2>
<table id="audit"><thead><tr><th>Time (UTC)</th><th>Action</th><th>Target</th><th>Outcome</th><th>HTTP</th><th>Code</th><th>From</th></tr></thead>
<tbody>${audit.map((entry) => renderRow(auditRow(entry))).join('')}</tbody></table>
</section>
</body>
</html>`;
}

/**
 * The page's script and styles, built from `page/` into `dist/` beside this
 * program (`tsup.config.ts`), and served at their own paths, so the page's
 * CSP is `script-src 'self'; style-src 'self'`. Read once, at the first request.
 */
const assets = {
  '/admin.js': { file: 'admin.js', type: 'text/javascript; charset=utf-8' },
  '/admin.css': { file: 'admin.css', type: 'text/css; charset=utf-8' },
} as const;
const loaded = new Map<string, AdminReply>();

/** `GET /admin.js` or `/admin.css`, or `undefined` for any other path. */
export function pageAsset(path: string): AdminReply | undefined {
  if (!Object.hasOwn(assets, path)) return undefined;
  let reply = loaded.get(path);
  if (!reply) {
    const { file, type } = assets[path as keyof typeof assets];
    reply = { status: 200, type, body: readFileSync(new URL(file, import.meta.url), 'utf8') };
    loaded.set(path, reply);
  }
  return reply;
}

import { readFileSync } from 'node:fs';
import { type InboxEntry, type InboxState, type InboxStore, inboxStates } from '@c2p/core';
import type { AuditEntry } from '../audit/audit-log.js';
import type { DeliveryEntry } from '../delivery-log.js';
import { type Order, orderStates } from '../order.js';
import type { AdminReply } from './admin-reply.js';
import type { InboxAlarm } from './operate-routes.js';
import { alarmText, auditRow } from './operate-view.js';
import { pausedText, publicInboxEntry } from './public-inbox-entry.js';
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

/** What the page shows of the inbox: counts, whether it is paused, and the events that need a person. */
export interface InboxView {
  counts: Record<InboxState, number>;
  paused: boolean;
  dead: InboxEntry[];
  retrying: InboxEntry[];
}

/** Reads what {@link renderPage} shows of the inbox. */
export async function readInboxView(inbox: InboxStore): Promise<InboxView> {
  const [counts, paused, dead, retrying] = await Promise.all([
    inbox.counts(),
    inbox.isPaused?.() ?? false,
    inbox.list({ state: 'dead', limit: pageSize }),
    inbox.list({ state: 'retrying', limit: pageSize }),
  ]);
  return { counts, paused, dead, retrying };
}

/** The inbox's search form, its bulk replay and its results (filled by the page's script). */
function inboxSearchSection(): string {
  const states = inboxStates.map((s) => `<option value="${s}">${s}</option>`).join('');
  const input = (name: string, label: string, hint = ''): string =>
    `<label>${label} <input name="${name}" autocomplete="off"${hint ? ` placeholder="${escapeHtml(hint)}"` : ''}></label>`;
  return `<h3>Search <small>(filters combine; newest first)</small></h3>
<form id="inbox-filters">
<label>State <select name="state"><option value="">any</option>${states}</select></label>
${input('resource', 'Resource', 'payment-request:<id>')}
${input('eventType', 'Event type', 'PAYMENT-COMPLETED')}
${input('key', 'Key')}
${input('receivedSince', 'Received since', '2026-12-01T00:00:00Z')}
${input('receivedBefore', 'before')}
<button type="submit">Search the inbox</button>
<button type="button" data-inbox="dry-run">Count dead matching</button>
<button type="button" data-inbox="bulk-replay">Replay dead matching</button>
</form>
<p><label>Note for Resolve <input id="inbox-note" autocomplete="off" placeholder="refunded by hand, ticket 42"></label></p>
<table id="inbox-search"><thead><tr><th>Id</th><th>State</th><th>Event</th><th>Resource</th><th>Attempts</th><th>Last error</th><th>Received (UTC)</th><th></th></tr></thead>
<tbody></tbody></table>
<p><button type="button" data-inbox="more" hidden>Next page</button></p>`;
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
<p id="inbox-pause"><span id="inbox-paused" data-paused="${view.paused}">${pausedText(view.paused)}</span>
<button type="button" data-inbox="pause">Pause</button> <button type="button" data-inbox="resume">Resume</button></p>
<p id="inbox-message" role="status"></p>
<h3>Dead <small>(retries spent: replay once the cause is fixed)</small></h3>
${table('dead', 'Received', view.dead)}
<h3>Retrying <small>(oldest first)</small></h3>
${table('retrying', 'Next attempt', view.retrying)}
${inboxSearchSection()}
</section>`;
}

/**
 * The orders: search (payment request id or merchant reference, and state),
 * the table, and the details of one order, which the page's script fills.
 */
function ordersSection(orders: Order[]): string {
  const states = orderStates.map((s) => `<option value="${s}">${s}</option>`).join('');
  return `<section id="orders-section">
<h2>Orders <small>(most recently changed first)</small></h2>
<div id="orders-search" role="search">
<label>Payment request or merchant reference <input id="orders-q" type="search" maxlength="200" autocomplete="off"></label>
<label>State <select id="orders-state"><option value="">any</option>${states}</select></label>
<button type="button" id="orders-find">Search orders</button>
<button type="button" id="orders-clear">Clear</button>
<span id="orders-message" role="status"></span>
</div>
<table id="orders"><thead><tr><th>Payment request</th><th>Merchant reference</th><th>Amount</th><th>State</th><th>Fulfilment</th><th>Fulfilments</th><th>Events</th><th>Updated (UTC)</th><th></th></tr></thead>
<tbody>${orders.map((o) => renderRow(orderRow(o))).join('')}</tbody></table>
<section id="order-detail" hidden>
<h3>Order <span id="order-detail-id" class="mono"></span> <button type="button" id="order-detail-close">Close</button></h3>
<dl id="order-detail-fields"></dl>
<h4>History <small>(events handled, oldest first)</small></h4>
<table id="order-history"><thead><tr><th>Time (UTC)</th><th>Event</th><th>Resource</th><th>Status</th><th>Amount</th><th>Effect</th></tr></thead><tbody></tbody></table>
<h4>Inbox events <small>(as accepted; their state now)</small></h4>
<table id="order-inbox"><thead><tr><th>Id</th><th>Event</th><th>Status</th><th>Accepted (UTC)</th><th>Inbox state</th><th>Attempts</th><th>Last error</th></tr></thead><tbody></tbody></table>
</section>
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
${ordersSection(orders)}
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

import type { DeliveryEntry } from '../delivery-log.js';
import type { Order } from '../order.js';
import type { PublicInboxEntry } from './public-inbox-entry.js';

/**
 * One table row of the admin page, as data: the server renders it as HTML
 * and the page's refresh builds it as DOM nodes (textContent only), so each
 * table's columns are written once, here, for both.
 */
export interface TableRow {
  attributes: Record<string, string>;
  /** Each cell's text and optional class. */
  cells: Array<{ text: string; className?: string }>;
  /** An inbox row's button, wired by the page's script. */
  action?: { name: 'replay' | 'retry-now' | 'resolve'; id: string; label: string };
}

const cell = (value: unknown, className?: string): TableRow['cells'][number] =>
  className === undefined
    ? { text: String(value ?? '') }
    : { text: String(value ?? ''), className };

const shortTime = (iso: string | null): string =>
  iso === null ? '' : iso.slice(0, 19).replace('T', ' ');

/** A delivery: time, listener, HTTP status, outcome, code, the step that refused it, client, events. */
export function deliveryRow(d: DeliveryEntry): TableRow {
  const events = d.events
    .map((e) => `${e.eventType} ${e.resourceId} ${e.status ?? ''} \u2192 ${e.outcome}`)
    .join('; ');
  return {
    attributes: { 'data-outcome': d.outcome },
    cells: [
      cell(d.at.slice(11, 23)),
      cell(d.listener),
      cell(d.status),
      cell(d.outcome, `outcome ${d.outcome}`),
      cell(d.code ?? ''),
      // The step that refused a delivery; a 200 was decided by no step worth showing.
      cell(d.outcome === 'rejected' ? d.step : ''),
      cell(d.clientIp ?? ''),
      cell(events),
    ],
  };
}

/** An order: id, state, fulfilments, event count, last change. */
export function orderRow(o: Order): TableRow {
  return {
    attributes: { 'data-state': o.state },
    cells: [
      cell(o.id, 'mono'),
      cell(o.state, `state ${o.state}`),
      cell(o.fulfilments),
      cell(o.events.length),
      cell(shortTime(o.updatedAt)),
    ],
  };
}

/** An inbox search result: any state; a dead one has the button that resolves it. */
export function inboxSearchRow(e: PublicInboxEntry): TableRow {
  return {
    attributes: { 'data-id': e.id, 'data-state': e.state },
    cells: [
      cell(e.id, 'mono'),
      cell(e.state, `state ${e.state}`),
      cell(e.eventType),
      cell(e.resource, 'mono'),
      cell(e.attempts),
      cell(e.lastError ?? ''),
      cell(shortTime(e.receivedAt)),
    ],
    ...(e.state === 'dead' ? { action: { name: 'resolve', id: e.id, label: 'Resolve' } } : {}),
  };
}

/** A dead or retrying inbox event, with the button that acts on it. */
export function inboxRow(e: PublicInboxEntry): TableRow {
  const dead = e.state === 'dead';
  return {
    attributes: { 'data-id': e.id },
    cells: [
      cell(e.id, 'mono'),
      cell(e.eventType),
      cell(e.resource, 'mono'),
      cell(e.attempts),
      cell(e.lastError ?? ''),
      cell(shortTime(dead ? e.receivedAt : e.nextAttemptAt)),
    ],
    action: dead
      ? { name: 'replay', id: e.id, label: 'Replay' }
      : { name: 'retry-now', id: e.id, label: 'Retry now' },
  };
}

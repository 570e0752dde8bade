import type { OrderEventEntry, ReceivedEntry } from '../order.js';
import type { PublicInboxEntry } from './public-inbox-entry.js';
import { shownAmount, type TableRow } from './table-rows.js';

const time = (iso: string | null | undefined): string =>
  typeof iso === 'string' ? iso.slice(0, 19).replace('T', ' ') : '';

/** One handled event of an order's history: time, event, resource (a linked refund's own id), status, amount, effect. */
export function orderHistoryRow(e: OrderEventEntry): TableRow {
  return {
    attributes: { 'data-effect': e.effect },
    cells: [
      { text: time(e.at) },
      { text: e.eventType },
      { text: `${e.kind}${e.resourceId ? ` ${e.resourceId}` : ''}`, className: 'mono' },
      { text: e.status ?? '' },
      { text: shownAmount(e.amount), className: 'amount' },
      { text: e.effect },
    ],
  };
}

/**
 * One accepted event of an order with its inbox entry as it is now (absent
 * once swept, or in sync mode): id, event, status, accepted, inbox state,
 * attempts, last error.
 */
export function orderInboxRow(
  received: ReceivedEntry | undefined,
  id: string,
  entry: PublicInboxEntry | undefined,
): TableRow {
  const state = entry?.state ?? 'gone';
  return {
    attributes: { 'data-id': id, 'data-state': state },
    cells: [
      { text: id, className: 'mono' },
      { text: entry?.eventType ?? received?.eventType ?? '' },
      { text: received?.status ?? '' },
      { text: time(received?.at ?? entry?.receivedAt) },
      { text: state, className: `inbox-state ${state}` },
      { text: entry ? String(entry.attempts) : '' },
      { text: entry?.lastError ?? '' },
    ],
  };
}

// The orders part of the admin page: search, the table's refresh, and one order's details.
// Everything received is set with textContent only (through the rows' builder).
import type { Order } from '../../order.js';
import { orderHistoryRow, orderInboxRow } from '../order-detail-rows.js';
import type { PublicInboxEntry } from '../public-inbox-entry.js';
import { orderRow, shownAmount, type TableRow } from '../table-rows.js';
import { visible } from '../visible.js';

/** What the view needs from the page: how a table's rows are replaced. */
export interface OrdersViewOptions {
  fill(id: string, rows: TableRow[]): void;
  /** How many orders the table shows. */
  pageSize: number;
}

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

async function getJson<T>(url: string): Promise<T> {
  const answer = await fetch(url);
  if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
  return (await answer.json()) as T;
}

/** The inbox entries of an order, each read now; one the inbox no longer has (swept, sync mode) is `undefined`. */
async function inboxEntries(ids: string[]): Promise<Array<PublicInboxEntry | undefined>> {
  return Promise.all(
    ids.map(async (id) => {
      const answer = await fetch(`/api/inbox/${encodeURIComponent(id)}`);
      return answer.ok ? ((await answer.json()) as PublicInboxEntry) : undefined;
    }),
  );
}

function showFields(order: Order): void {
  const fields: Array<[string, string]> = [
    ['State', order.state],
    ['Fulfilment', order.fulfilment],
    ['Fulfilments', String(order.fulfilments)],
    ['Amount', shownAmount(order.amount)],
    ['Merchant reference', order.merchantTransactionId ?? ''],
    ['Registered (UTC)', (order.registeredAt ?? '').slice(0, 19).replace('T', ' ')],
    ['Updated (UTC)', order.updatedAt.slice(0, 19).replace('T', ' ')],
  ];
  byId('order-detail-fields').replaceChildren(
    ...fields.flatMap(([name, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = visible(value);
      if (name === 'Fulfilment') dd.className = `fulfilment ${value}`;
      return [dt, dd];
    }),
  );
}

/** `GET /api/orders` with the search the operator typed; `searching` when there is one. */
function listing(pageSize: number): { url: string; searching: boolean } {
  const params = new URLSearchParams({ limit: String(pageSize) });
  const q = byId<HTMLInputElement>('orders-q').value.trim();
  const state = byId<HTMLSelectElement>('orders-state').value;
  if (q) params.set('q', q);
  if (state) params.set('state', state);
  return { url: `/api/orders?${params}`, searching: Boolean(q || state) };
}

/** Fills the details view with one order, its history and its inbox events as they are now. */
async function showOrder(id: string, fill: OrdersViewOptions['fill']): Promise<void> {
  const order = await getJson<Order>(`/api/orders/${encodeURIComponent(id)}`);
  byId('order-detail-id').textContent = visible(order.id);
  showFields(order);
  fill('order-history', order.events.map(orderHistoryRow));
  const entries = await inboxEntries(order.inbox);
  fill(
    'order-inbox',
    order.inbox.map((inboxId, i) =>
      orderInboxRow(
        order.received.find((r) => r.inboxId === inboxId),
        inboxId,
        entries[i],
      ),
    ),
  );
  byId('order-detail').hidden = false;
}

/** The order id a Details button names (percent-encoded in its `data-id`), if the click was on one. */
function detailsTarget(event: Event): string | undefined {
  const button = (event.target as Element | null)?.closest<HTMLButtonElement>(
    'button[data-action="order-details"]',
  );
  try {
    return button ? decodeURIComponent(button.getAttribute('data-id') ?? '') : undefined;
  } catch {
    return undefined;
  }
}

/** The orders table, its search, and the details of the order opened. */
export function createOrdersView({ fill, pageSize }: OrdersViewOptions): {
  refresh(): Promise<void>;
} {
  const message = byId('orders-message');
  let opened: string | undefined;
  const refresh = async (): Promise<void> => {
    const { url, searching } = listing(pageSize);
    const page = await getJson<{ orders: Order[] }>(url);
    fill('orders', page.orders.map(orderRow));
    message.textContent = searching ? `${page.orders.length} found.` : '';
    if (opened !== undefined) await showOrder(opened, fill);
  };
  const run = (): void => {
    refresh().catch((error: unknown) => {
      message.textContent = `Cannot search: ${(error as Error).message}`;
    });
  };
  byId('orders-find').addEventListener('click', run);
  byId('orders-state').addEventListener('change', run);
  byId('orders-q').addEventListener('keydown', (event) => {
    if (event.key === 'Enter') run();
  });
  byId('orders-clear').addEventListener('click', () => {
    byId<HTMLInputElement>('orders-q').value = '';
    byId<HTMLSelectElement>('orders-state').value = '';
    run();
  });
  byId('orders').addEventListener('click', (event) => {
    const target = detailsTarget(event);
    if (target === undefined) return;
    opened = target;
    run();
  });
  byId('order-detail-close').addEventListener('click', () => {
    opened = undefined;
    byId('order-detail').hidden = true;
  });
  return { refresh };
}

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

/** The orders table, its search, and the details of the order opened. */
export function createOrdersView({ fill, pageSize }: OrdersViewOptions): {
  refresh(): Promise<void>;
} {
  const message = byId('orders-message');
  const detail = byId('order-detail');
  let opened: string | undefined;

  const listUrl = (): string => {
    const params = new URLSearchParams({ limit: String(pageSize) });
    const q = byId<HTMLInputElement>('orders-q').value.trim();
    const state = byId<HTMLSelectElement>('orders-state').value;
    if (q) params.set('q', q);
    if (state) params.set('state', state);
    return `/api/orders?${params}`;
  };

  const refreshDetail = async (): Promise<void> => {
    if (opened === undefined) return;
    const answer = await fetch(`/api/orders/${encodeURIComponent(opened)}`);
    if (!answer.ok) throw new Error(`order: HTTP ${answer.status}`);
    const order = (await answer.json()) as Order;
    byId('order-detail-id').textContent = visible(order.id);
    showFields(order);
    fill('order-history', order.events.map(orderHistoryRow));
    const entries = await inboxEntries(order.inbox);
    fill(
      'order-inbox',
      order.inbox.map((id, i) =>
        orderInboxRow(
          order.received.find((r) => r.inboxId === id),
          id,
          entries[i],
        ),
      ),
    );
    detail.hidden = false;
  };

  const refresh = async (): Promise<void> => {
    const page = await getJson<{ orders: Order[] }>(listUrl());
    fill('orders', page.orders.map(orderRow));
    const searching = listUrl().includes('q=') || listUrl().includes('state=');
    message.textContent = searching ? `${page.orders.length} found.` : '';
    await refreshDetail();
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
    const button = (event.target as Element | null)?.closest<HTMLButtonElement>(
      'button[data-action="order-details"]',
    );
    if (!button) return;
    try {
      opened = decodeURIComponent(button.getAttribute('data-id') ?? '');
    } catch {
      return;
    }
    run();
  });
  byId('order-detail-close').addEventListener('click', () => {
    opened = undefined;
    detail.hidden = true;
  });
  return { refresh };
}

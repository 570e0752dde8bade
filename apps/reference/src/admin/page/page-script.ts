// The admin page's script, bundled by tsup into dist/admin.js (an IIFE for the browser).
// The refresh builds rows with textContent only: nothing received is ever parsed as HTML.
import type { DeliveryEntry } from '../../delivery-log.js';
import type { PublicInboxEntry } from '../public-inbox-entry.js';
import { deliveryRow, inboxRow, type TableRow } from '../table-rows.js';
import { visible } from '../visible.js';
import { actionBody, showPaused, wireInboxPanel } from './inbox-panel.js';
import { createOrdersView } from './orders-view.js';
import './page-style.css';
import './operate-script.js';

/** Must match the server's `pageSize`: the tables show as many rows at load as after a refresh. */
const pageSize = 100;

interface InboxListing {
  counts: Record<string, number>;
  paused: boolean;
  events: PublicInboxEntry[];
}

function buildRow(row: TableRow): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const [name, value] of Object.entries(row.attributes)) tr.setAttribute(name, value);
  for (const { text, className } of row.cells) {
    const td = document.createElement('td');
    td.textContent = visible(text);
    if (className) td.className = className;
    tr.appendChild(td);
  }
  if (row.action) {
    const td = document.createElement('td');
    const button = document.createElement('button');
    button.type = 'button';
    button.setAttribute('data-action', row.action.name);
    button.setAttribute('data-id', row.action.id);
    button.textContent = row.action.label;
    td.appendChild(button);
    tr.appendChild(td);
  }
  return tr;
}

function fill(id: string, rows: TableRow[]): void {
  document.querySelector(`#${id} tbody`)?.replaceChildren(...rows.map(buildRow));
}

async function getAll<T extends unknown[]>(...urls: string[]): Promise<T> {
  const answers = await Promise.all(urls.map((url) => fetch(url)));
  if (answers.some((answer) => !answer.ok)) {
    throw new Error(`HTTP ${answers.map((answer) => answer.status).join('/')}`);
  }
  return (await Promise.all(answers.map((answer) => answer.json()))) as T;
}

const inbox = document.getElementById('inbox');
const orders = createOrdersView({ fill, pageSize });

async function refreshInbox(): Promise<void> {
  if (!inbox) return;
  const [dead, retrying] = await getAll<[InboxListing, InboxListing]>(
    `/api/inbox?state=dead&limit=${pageSize}`,
    `/api/inbox?state=retrying&limit=${pageSize}`,
  );
  for (const [state, n] of Object.entries(retrying.counts)) {
    const shown = document.querySelector(`#inbox-counts li[data-state="${state}"] .n`);
    if (shown) shown.textContent = String(n);
  }
  fill('inbox-dead', dead.events.map(inboxRow));
  fill('inbox-retrying', retrying.events.map(inboxRow));
  showPaused(retrying.paused);
}

async function refresh(): Promise<void> {
  const status = document.getElementById('status') as HTMLElement;
  try {
    await refreshInbox();
    await orders.refresh();
    const [deliveries] = await getAll<[DeliveryEntry[]]>('/api/events');
    fill('deliveries', deliveries.slice(0, pageSize).map(deliveryRow));
    status.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC; refreshes every 2 s.`;
    status.className = '';
  } catch (error) {
    status.textContent = `Cannot refresh: ${(error as Error).message}`;
    status.className = 'error';
  }
}

async function act(button: HTMLButtonElement): Promise<void> {
  const message = document.getElementById('inbox-message') as HTMLElement;
  const id = button.getAttribute('data-id') ?? '';
  const action = button.getAttribute('data-action') ?? '';
  const { body: sent, missing } = actionBody(action);
  if (missing) {
    message.textContent = missing;
    message.className = 'error';
    return;
  }
  button.disabled = true;
  try {
    const answer = await fetch(`/api/inbox/${encodeURIComponent(id)}/${action}`, {
      method: 'POST',
      ...(sent === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: sent }),
    });
    const body = (await answer.json()) as { error?: { message?: string } };
    const done = { replay: 'replayed', 'retry-now': 'retried now', resolve: 'resolved' };
    message.textContent = answer.ok
      ? `Event ${visible(id)}: ${done[action as keyof typeof done] ?? action}.`
      : `Event ${visible(id)}: ${visible(String(body.error?.message))}`;
    message.className = answer.ok ? '' : 'error';
    await refresh();
    await searchAgain();
  } catch (error) {
    message.textContent = `Cannot ${action}: ${(error as Error).message}`;
    message.className = 'error';
    button.disabled = false;
  }
}

inbox?.addEventListener('click', (event) => {
  const button = (event.target as Element | null)?.closest<HTMLButtonElement>(
    'button[data-action]',
  );
  if (button) void act(button);
});

const searchAgain = wireInboxPanel({ buildRow, refresh });

setInterval(() => void refresh(), 2000);
void refresh();

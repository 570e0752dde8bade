// The inbox panel of the admin page: search with filters and a cursor, bulk
// replay with a dry-run count, resolve, pause and resume. Every text it writes
// goes through textContent: nothing received is ever parsed as HTML.
import { type PublicInboxEntry, pausedText } from '../public-inbox-entry.js';
import { inboxSearchRow, type TableRow } from '../table-rows.js';
import { visible } from '../visible.js';

interface SearchAnswer {
  paused: boolean;
  events: PublicInboxEntry[];
  next: string | null;
}

/** What the panel needs from the page: its row builder and its refresh. */
export interface InboxPanelPage {
  buildRow(row: TableRow): HTMLTableRowElement;
  refresh(): Promise<void>;
}

const message = (text: string, error = false): void => {
  const shown = document.getElementById('inbox-message') as HTMLElement;
  shown.textContent = text;
  shown.className = error ? 'error' : '';
};

/** Shows whether processing is paused. */
export function showPaused(paused: boolean): void {
  const shown = document.getElementById('inbox-paused');
  if (!shown) return;
  shown.textContent = pausedText(paused);
  shown.setAttribute('data-paused', String(paused));
}

/** The form's filled-in filters, by their API names. */
function filters(): Record<string, string> {
  const form = document.getElementById('inbox-filters') as HTMLFormElement;
  const values: Record<string, string> = {};
  for (const [name, value] of new FormData(form)) {
    if (typeof value === 'string' && value.trim() !== '') values[name] = value.trim();
  }
  return values;
}

async function send(
  url: string,
  init?: RequestInit,
): Promise<{ ok: boolean; body: Record<string, unknown> }> {
  const answer = await fetch(url, init);
  const body = (await answer.json()) as Record<string, unknown>;
  return { ok: answer.ok, body };
}

const errorOf = (body: Record<string, unknown>): string =>
  visible(String((body.error as { message?: unknown } | undefined)?.message ?? 'failed'));

const post = (url: string, body: unknown) =>
  send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** Wires the panel; answers the function that runs the current search again. */
export function wireInboxPanel(page: InboxPanelPage): () => Promise<void> {
  let next: string | null = null;
  let current: Record<string, string> = {};
  const more = document.querySelector<HTMLButtonElement>('button[data-inbox="more"]');
  const tbody = document.querySelector('#inbox-search tbody');

  /** `quiet`: a search run again after an action, which leaves the action's message shown. */
  const search = async (append: boolean, quiet = false): Promise<void> => {
    const params = new URLSearchParams({ ...current, limit: '50' });
    if (append && next !== null) params.set('after', next);
    const { ok, body } = await send(`/api/inbox?${params}`);
    if (!ok) return message(`Search: ${errorOf(body)}`, true);
    const answer = body as unknown as SearchAnswer;
    const rows = answer.events.map((e) => page.buildRow(inboxSearchRow(e)));
    if (append) tbody?.append(...rows);
    else tbody?.replaceChildren(...rows);
    next = answer.next;
    if (more) more.hidden = next === null;
    showPaused(answer.paused);
    if (quiet) return;
    message(`${tbody?.children.length ?? 0} event(s) shown${next === null ? '' : '; more below'}.`);
  };

  const bulk = async (dryRun: boolean): Promise<void> => {
    const { key, ...filter } = filters();
    if (key !== undefined) return message('Clear Key to replay by filter.', true);
    const { ok, body } = await post('/api/inbox/replay', { ...filter, dryRun });
    if (!ok) return message(`Replay: ${errorOf(body)}`, true);
    message(
      dryRun
        ? `${Number(body.matched)} dead event(s) match: Replay dead matching replays them.`
        : `Replayed ${Number(body.replayed)} dead event(s).`,
    );
    await page.refresh();
  };

  const pause = async (paused: boolean): Promise<void> => {
    const { ok, body } = await post(`/api/inbox/${paused ? 'pause' : 'resume'}`, {});
    if (!ok) return message(`${paused ? 'Pause' : 'Resume'}: ${errorOf(body)}`, true);
    showPaused(body.paused === true);
    message(body.paused === true ? 'Paused.' : 'Resumed.');
  };

  const handlers: Record<string, () => Promise<void>> = {
    'dry-run': () => bulk(true),
    'bulk-replay': () => bulk(false),
    pause: () => pause(true),
    resume: () => pause(false),
    more: () => search(true),
  };
  document.getElementById('inbox-filters')?.addEventListener('submit', (event) => {
    event.preventDefault();
    current = filters();
    void search(false).catch((error: Error) => message(`Search: ${error.message}`, true));
  });
  document.getElementById('inbox')?.addEventListener('click', (event) => {
    const button = (event.target as Element | null)?.closest<HTMLButtonElement>(
      'button[data-inbox]',
    );
    const run = handlers[button?.getAttribute('data-inbox') ?? ''];
    if (run) void run().catch((error: Error) => message(error.message, true));
  });
  return async () => {
    if (tbody && tbody.children.length > 0) await search(false, true);
  };
}

/** The body of a row button's POST: a resolve carries the note. */
export function actionBody(action: string): { body?: string; missing?: string } {
  if (action !== 'resolve') return {};
  const note = (document.getElementById('inbox-note') as HTMLInputElement | null)?.value.trim();
  if (!note) return { missing: 'Write a note for Resolve first.' };
  return { body: JSON.stringify({ note }) };
}

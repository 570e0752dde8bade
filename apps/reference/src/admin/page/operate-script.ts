// The page's banner and audit view: refreshed every 2 s, with textContent only.
import type { AuditEntry } from '../../audit/audit-log.js';
import type { InboxAlarm } from '../operate-routes.js';
import { alarmText, auditRow } from '../operate-view.js';
import { visible } from '../visible.js';

const banner = document.getElementById('alert-banner');

async function refreshBanner(): Promise<void> {
  // Sync mode renders no banner: there is no inbox to watch.
  if (!banner) return;
  const answer = await fetch('/api/alarm');
  if (!answer.ok) return;
  const text = alarmText((await answer.json()) as InboxAlarm);
  banner.textContent = text;
  banner.hidden = text === '';
}

async function refreshAudit(): Promise<void> {
  const body = document.querySelector('#audit tbody');
  if (!body) return;
  const answer = await fetch('/api/audit?limit=100');
  if (!answer.ok) return;
  const { entries } = (await answer.json()) as { entries: AuditEntry[] };
  body.replaceChildren(
    ...entries.map((entry) => {
      const row = auditRow(entry);
      const tr = document.createElement('tr');
      for (const [name, value] of Object.entries(row.attributes)) tr.setAttribute(name, value);
      for (const { text, className } of row.cells) {
        const td = document.createElement('td');
        td.textContent = visible(text);
        if (className) td.className = className;
        tr.appendChild(td);
      }
      return tr;
    }),
  );
}

function refresh(): void {
  refreshBanner().catch(() => undefined);
  refreshAudit().catch(() => undefined);
}

setInterval(refresh, 2000);
refresh();

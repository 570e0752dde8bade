import type { AuditEntry } from '../audit/audit-log.js';
import type { InboxAlarm } from './operate-routes.js';
import type { TableRow } from './table-rows.js';

/** The banner's sentence while `/healthz/inbox` would answer 503, or `''` when all is well. */
export function alarmText(alarm: InboxAlarm | undefined): string {
  if (!alarm || alarm.ok) return '';
  const parts: string[] = [];
  if (alarm.dead > 0) {
    parts.push(
      alarm.dead === 1 ? '1 dead event needs a person' : `${alarm.dead} dead events need a person`,
    );
  }
  parts.push(`the oldest unfinished event has waited ${alarm.oldestUnfinishedAgeSeconds} s`);
  return `Attention: ${parts.join('; ')}. /healthz/inbox answers 503.`;
}

/** An audit entry: time, action, target, outcome, status, code, remote address. */
export function auditRow(entry: AuditEntry): TableRow {
  return {
    attributes: { 'data-seq': String(entry.seq), 'data-outcome': entry.outcome },
    cells: [
      { text: entry.at.slice(0, 19).replace('T', ' ') },
      { text: entry.action },
      { text: entry.target },
      { text: entry.outcome, className: entry.outcome === 'ok' ? 'ok' : 'error' },
      { text: String(entry.status) },
      { text: entry.code ?? '' },
      { text: entry.remoteAddress ?? '' },
    ],
  };
}

import type { IncomingMessage } from 'node:http';
import type { InboxHealth } from '@c2p/core';
import type { AuditStorage, NewAuditEntry } from '../audit/audit-log.js';
import { displayIp } from '../delivery-log.js';
import type { AppMetrics } from '../metrics/app-metrics.js';
import { badRequest, createAdminError } from './admin-error.js';
import { type AdminReply, jsonReply } from './admin-reply.js';

/** What the operating routes read. */
export interface OperateOptions {
  metrics: AppMetrics;
  /** Inbox mode: reads the inbox's health; `undefined` in sync mode. */
  inboxHealth: (() => Promise<InboxHealth>) | undefined;
  /** `C2P_ALERT_BACKLOG_S`, in seconds. */
  backlogS: number;
  audit: AuditStorage;
}

/** What `GET /healthz/inbox` answers, and the page's banner shows. */
export interface InboxAlarm {
  ok: boolean;
  dead: number;
  oldestUnfinishedAgeSeconds: number;
}

/** Not ok while an event is dead or the backlog is older than `C2P_ALERT_BACKLOG_S`. */
export function inboxAlarm(health: InboxHealth, backlogS: number): InboxAlarm {
  const oldestUnfinishedAgeSeconds = Math.floor(health.oldestUnfinishedAgeMs / 1000);
  const dead = health.counts.dead ?? 0;
  return {
    ok: dead === 0 && oldestUnfinishedAgeSeconds <= backlogS,
    dead,
    oldestUnfinishedAgeSeconds,
  };
}

async function readAlarm(options: OperateOptions): Promise<InboxAlarm> {
  if (!options.inboxHealth) {
    throw createAdminError({
      status: 404,
      code: 'INBOX_OFF',
      message: 'The inbox is off: the app runs with C2P_MODE=sync.',
    });
  }
  return inboxAlarm(await options.inboxHealth(), options.backlogS);
}

const auditLimitDefault = 50;
const auditLimitMax = 500;

/** `?limit=` (1 to 500, default 50) and `?after=` (a cursor from `next`); any other parameter is a 400. */
function auditQuery(params: URLSearchParams): { limit: number; after: number | undefined } {
  for (const name of params.keys()) {
    if (name !== 'limit' && name !== 'after')
      throw badRequest(`${name} is not a parameter of /api/audit.`);
  }
  const rawLimit = params.get('limit');
  const limit = rawLimit === null ? auditLimitDefault : Number(rawLimit);
  if (rawLimit !== null && (!/^[0-9]{1,3}$/.test(rawLimit) || limit < 1 || limit > auditLimitMax)) {
    throw badRequest(`limit must be a whole number from 1 to ${auditLimitMax}.`);
  }
  const rawAfter = params.get('after');
  if (rawAfter !== null && !/^[1-9][0-9]{0,15}$/.test(rawAfter)) {
    throw badRequest('after must be the next cursor of an earlier answer.');
  }
  return { limit, after: rawAfter === null ? undefined : Number(rawAfter) };
}

/** `GET /metrics`, `GET /healthz/inbox`, `GET /api/alarm` (the page's banner) and `GET /api/audit`: path to route. */
export function createOperateRoutes(
  options: OperateOptions,
): Record<string, (url: URL) => Promise<AdminReply>> {
  return {
    '/metrics': async () => {
      const { type, body } = await options.metrics.scrape(await options.inboxHealth?.());
      return { status: 200, type, body };
    },
    '/healthz/inbox': async () => {
      const alarm = await readAlarm(options);
      return alarm.ok ? jsonReply({ ok: true }) : jsonReply(alarm, 503);
    },
    // The same, always 200, for the page's banner (a 503 would be a console error in the browser).
    '/api/alarm': async () => jsonReply(await readAlarm(options)),
    '/api/audit': async (url) => {
      const { limit, after } = auditQuery(url.searchParams);
      const entries = await options.audit.page(limit, after);
      const last = entries.at(-1);
      const next = entries.length === limit && last !== undefined ? String(last.seq) : null;
      return jsonReply({ entries, next });
    },
  };
}

/** The access rules' refusals: every one is audited, whatever the route. */
const refusedStatuses = new Set([401, 403, 421]);

/**
 * The audit entry of a request, or `undefined` when it is not audited: every
 * write (`POST` and the like) and every request the access rules refused.
 * `POST /api/inbox/:id/<action>` is action `<action>` on `inbox:<id>`;
 * `POST /api/inbox/<action>` is `<action>` on `inbox`; anything else is `METHOD /path`.
 */
export function auditEntry(req: IncomingMessage, reply: AdminReply): NewAuditEntry | undefined {
  const method = req.method ?? '';
  const refused = refusedStatuses.has(reply.status) && reply.headers?.location === undefined;
  const write = method !== 'GET' && method !== 'HEAD';
  if (!refused && !write) return undefined;
  let path = '/';
  try {
    path = new URL(req.url ?? '/', 'http://admin').pathname;
  } catch {
    // An unparsable target is audited as `/`.
  }
  const parts = path.split('/').filter(Boolean);
  let action = `${method} ${path}`.slice(0, 200);
  let target = path.slice(0, 200);
  if (write && parts[0] === 'api' && parts[1] === 'inbox' && parts.length === 4) {
    action = parts[3] as string;
    target = `inbox:${parts[2]}`;
  } else if (write && parts[0] === 'api' && parts[1] === 'inbox' && parts.length === 3) {
    action = parts[2] as string;
    target = 'inbox';
  }
  let code: string | null = null;
  if (reply.status >= 300) {
    try {
      code = (JSON.parse(reply.body) as { error?: { code?: string } }).error?.code ?? null;
    } catch {
      code = null;
    }
  }
  return {
    at: new Date().toISOString(),
    action,
    target,
    outcome: reply.status < 300 ? 'ok' : refused ? 'refused' : 'failed',
    status: reply.status,
    code,
    remoteAddress: displayIp(req.socket.remoteAddress),
  };
}

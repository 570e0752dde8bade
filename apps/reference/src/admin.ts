import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  AdminError,
  createAdminError,
  errorReply,
  methodNotAllowed,
  notFound,
} from './admin/admin-error.js';
import { pageAsset, pageSize, readInboxView, renderPage } from './admin/admin-page.js';
import type { AdminReply } from './admin/admin-reply.js';
import { createEventsRoutes } from './admin/events-routes.js';
import { type AdminInbox, createInboxRoutes } from './admin/inbox-routes.js';
import {
  auditEntry,
  createOperateRoutes,
  inboxAlarm,
  type OperateOptions,
} from './admin/operate-routes.js';
import { createOrdersRoutes } from './admin/orders-routes.js';
import {
  type AdminAccessOptions,
  createAdminAccess,
  isAdminToken,
  tokenCookie,
} from './admin-access.js';
import type { DeliveryLog } from './delivery-log.js';
import type { HealthCheck } from './listeners.js';
import type { OrderBook } from './order-book.js';

export interface AdminOptions {
  deliveries: DeliveryLog;
  orders: OrderBook;
  /** Inbox mode: the inbox, and how to wake the worker after a replay or retry-now. `undefined` in sync mode. */
  inbox: AdminInbox | undefined;
  health: HealthCheck;
  /** Its own address and the optional token: see {@link createAdminAccess}. */
  access: AdminAccessOptions;
  /** Called with errors the admin answered 500 for. */
  onError: (error: unknown) => void;
  /** `/metrics`, `/healthz/inbox`, `/api/audit`, and where the audit is kept. */
  operate: OperateOptions;
}

/** Nothing on the admin page comes from anywhere but this server: scripts, styles and data alike. */
const securityHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function write(res: ServerResponse, reply: AdminReply): void {
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  res.writeHead(reply.status, { ...securityHeaders, 'content-type': reply.type }).end(reply.body);
}

/** `GET /` and the read-only routes beside the inbox's: path to answer. */
function createReadRoutes(
  options: AdminOptions,
  orders: ReturnType<typeof createOrdersRoutes>,
): (path: string) => Promise<AdminReply> {
  const exact: Record<string, () => Promise<AdminReply>> = {
    ...createEventsRoutes(options.deliveries),
    '/': async () => {
      const content = {
        deliveries: await options.deliveries.recent(pageSize),
        orders: (await options.orders.list({ limit: pageSize })).orders,
        inbox: options.inbox && (await readInboxView(options.inbox.store)),
        alarm: await readAlarm(options.operate),
        audit: await options.operate.audit.page(pageSize, undefined),
      };
      return { status: 200, type: 'text/html; charset=utf-8', body: renderPage(content) };
    },
    '/healthz': async () => {
      const answer = await options.health();
      return { status: answer.status, type: 'application/json', body: answer.body };
    },
  };
  return async (path) => {
    const route = Object.hasOwn(exact, path) ? exact[path] : undefined;
    const reply = (await route?.()) ?? pageAsset(path) ?? (await orders.one(path));
    if (!reply) throw notFound();
    return reply;
  };
}

async function readAlarm(operate: OperateOptions) {
  const health = await operate.inboxHealth?.();
  return health && inboxAlarm(health, operate.backlogS);
}

/**
 * The token in `/?token=` leaves the address bar: the browser keeps it in a
 * cookie for this admin only, and goes to `/`.
 */
function tokenRedirect(access: AdminAccessOptions, url: URL): AdminReply | undefined {
  const token = url.searchParams.get('token');
  if (url.pathname !== '/' || !token || !isAdminToken(access.token, token)) return undefined;
  const secure = access.tls ? '; Secure' : '';
  return {
    status: 303,
    type: 'text/plain; charset=utf-8',
    body: '',
    headers: {
      'set-cookie': `${tokenCookie}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/${secure}`,
      location: '/',
    },
  };
}

/**
 * The admin's request listener: the access rules (see {@link createAdminAccess}),
 * then `GET /` (the page), `/admin.js` and `/admin.css` (its script and style),
 * `GET /api/events`, `GET /api/orders` (`?q=&state=&limit=&after=`), `POST /api/orders`,
 * `GET /api/orders/:id`, `GET /healthz`,
 * and the inbox routes (`admin/inbox-routes.ts`). Every error is written by
 * `admin/admin-error.ts` as `{"error":{"code","message"}}`.
 */
export function createAdminListener(
  options: AdminOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const refuse = createAdminAccess(options.access);
  const inboxRoute = createInboxRoutes(options.inbox);
  const ordersRoutes = createOrdersRoutes(options.orders);
  const readRoute = createReadRoutes(options, ordersRoutes);
  const operateRoutes = createOperateRoutes(options.operate);

  const route = async (req: IncomingMessage): Promise<AdminReply> => {
    const method = req.method ?? '';
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    const refusal = refuse(req);
    if (refusal) {
      const redirect = refusal.status === 401 ? tokenRedirect(options.access, url) : undefined;
      return redirect ?? errorReply(createAdminError(refusal));
    }
    if (path === '/api/inbox' || path.startsWith('/api/inbox/'))
      return inboxRoute(method, url, req);
    if (path === '/api/orders') {
      if (method === 'POST') return ordersRoutes.create(req);
      if (method !== 'GET' && method !== 'HEAD') {
        throw methodNotAllowed('GET, HEAD, POST', 'Only GET and POST are accepted here.');
      }
      return ordersRoutes.list(url);
    }
    if (method !== 'GET' && method !== 'HEAD') {
      throw methodNotAllowed('GET', 'Only GET is accepted.');
    }
    const operate = Object.hasOwn(operateRoutes, path) ? operateRoutes[path] : undefined;
    return operate ? operate(url) : readRoute(path);
  };

  return (req, res) => {
    route(req)
      .catch((error: unknown) => {
        if (error instanceof AdminError) return errorReply(error);
        options.onError(error);
        return errorReply(
          createAdminError({
            status: 500,
            code: 'ADMIN_FAILED',
            message: 'The admin could not answer.',
          }),
        );
      })
      .then(async (reply) => {
        // Every write and every refusal is stored before it is answered.
        const entry = auditEntry(req, reply);
        if (entry) await options.operate.audit.append(entry).catch(options.onError);
        write(res, reply);
      })
      .catch(() => res.destroy());
  };
}

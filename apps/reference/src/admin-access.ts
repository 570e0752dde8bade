import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { networkInterfaces } from 'node:os';
import { isLoopbackHost } from './config.js';

/** Who may use the admin: the address it answers at, and an optional bearer token. */
export interface AdminAccessOptions {
  /** `ADMIN_HOST`: the address the admin is bound to. */
  host: string;
  /** The port it really listens on. */
  port: number;
  tls: boolean;
  /** `ADMIN_TOKEN`, when set. */
  token: string | undefined;
}

/** A refusal, written out as `{"error":{"code","message"}}`. */
export interface AdminRefusal {
  status: number;
  code: string;
  message: string;
  headers?: Readonly<Record<string, string>>;
}

/** What the access rules read of a request. */
export type AdminRequest = Pick<IncomingMessage, 'method' | 'url' | 'headers' | 'rawHeaders'>;

/** The cookie `GET /?token=…` sets, so a browser can use the page without typing headers. */
export const tokenCookie = 'c2p_admin_token';

const wildcard = new Set(['0.0.0.0', '::', '[::]']);

const bracket = (address: string): string => (address.includes(':') ? `[${address}]` : address);

/**
 * The host names the admin answers to: its bound address, plus `localhost`,
 * `127.0.0.1` and `[::1]` when bound to loopback, plus this machine's own
 * addresses when bound to every interface. A name an attacker controls (DNS
 * rebinding points one at 127.0.0.1) is never among them.
 */
function allowedHostnames(bound: string): Set<string> {
  const names = new Set([bracket(bound.toLowerCase().replace(/^\[(.*)\]$/, '$1'))]);
  if (isLoopbackHost(bound) || wildcard.has(bound)) {
    for (const name of ['localhost', '127.0.0.1', '[::1]']) names.add(name);
  }
  if (wildcard.has(bound)) {
    // Read at each request: addresses come and go (DHCP, containers).
    for (const list of Object.values(networkInterfaces())) {
      for (const info of list ?? []) names.add(bracket(info.address.toLowerCase()));
    }
  }
  return names;
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * The one `Host` of a request, or `undefined` when it has none, or several
 * (Node keeps the first of repeated ones; a proxy in front may have used another).
 */
function soleHost(req: AdminRequest): string | undefined {
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]?.toLowerCase() === 'host') count += 1;
  }
  return count === 1 ? req.headers.host : undefined;
}

/**
 * The authority an absolute-form request target (`GET http://host/path`) names,
 * `null` for the usual origin-form (`GET /path`), or `undefined` for anything else.
 */
function targetAuthority(target: string): string | null | undefined {
  if (target.startsWith('/')) return null;
  const match = /^https?:\/\/([^/?#]*)/i.exec(target);
  return match ? (match[1] as string) : undefined;
}

/** Whether a `Host` header names the admin: its own address (see {@link allowedHostnames}) and port. */
function createHostCheck(options: AdminAccessOptions): (host: string | undefined) => boolean {
  const defaultPort = options.tls ? 443 : 80;
  return (host) => {
    if (host === undefined) return false;
    // A port is written without leading zeros: `127.0.0.1:05300` is not this admin's name.
    const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(0|[1-9]\d{0,4}))?$/i.exec(host);
    if (!match) return false;
    const port = match[2] === undefined ? defaultPort : Number(match[2]);
    return (
      port === options.port &&
      allowedHostnames(options.host).has((match[1] as string).toLowerCase())
    );
  };
}

/** The token from `Authorization: Bearer` or the cookie, compared in constant time. */
function createTokenCheck(token: string | undefined): (headers: IncomingHttpHeaders) => boolean {
  const expected = token === undefined ? undefined : digest(token);
  return (headers) => {
    if (expected === undefined) return true;
    const bearer = /^Bearer +(\S+) *$/i.exec(headers.authorization ?? '')?.[1];
    const cookie = (headers.cookie ?? '')
      .split(';')
      .map((part) => part.trim())
      .find((part) => part.startsWith(`${tokenCookie}=`))
      ?.slice(tokenCookie.length + 1);
    let fromCookie: string | undefined;
    try {
      fromCookie = cookie === undefined ? undefined : decodeURIComponent(cookie);
    } catch {
      fromCookie = undefined;
    }
    let ok = false;
    // Both candidates are compared in full, in constant time.
    for (const candidate of [bearer, fromCookie]) {
      if (candidate !== undefined && timingSafeEqual(digest(candidate), expected)) ok = true;
    }
    return ok;
  };
}

const refusals = {
  host: {
    status: 421,
    code: 'MISDIRECTED_REQUEST',
    message: 'This admin answers only at its own address.',
  },
  token: {
    status: 401,
    code: 'UNAUTHORIZED',
    message: 'A valid admin token is required.',
    headers: { 'www-authenticate': 'Bearer realm="c2p-admin"' },
  },
  origin: {
    status: 403,
    code: 'CROSS_ORIGIN',
    message: 'Admin changes are accepted from the admin page only.',
  },
} as const satisfies Record<string, AdminRefusal>;

/**
 * The admin's access rules, checked before any route:
 * 1. `Host` must be the admin's own address with its port, else 421: a
 *    DNS-rebinding page, or a request meant for another site, reads nothing;
 *    so must an absolute-form request target, and `Host` must come once;
 * 2. with `ADMIN_TOKEN` set, every route but `/healthz` needs
 *    `Authorization: Bearer <token>` or the cookie set by `/?token=<token>`, else 401;
 * 3. anything but `GET`/`HEAD` must be same-origin: an `Origin` other than the
 *    admin's own, or a `Sec-Fetch-Site` other than `same-origin`/`none`, is 403.
 *    A client that sends neither (curl, scripts) is not a browser and may write.
 */
export function createAdminAccess(
  options: AdminAccessOptions,
): (req: AdminRequest) => AdminRefusal | undefined {
  const scheme = options.tls ? 'https' : 'http';
  const hostIsOurs = createHostCheck(options);
  const tokenMatches = createTokenCheck(options.token);
  return (req) => {
    const { headers } = req;
    const method = req.method ?? '';
    const path = new URL(req.url ?? '/', 'http://admin').pathname;
    const host = soleHost(req);
    const authority = targetAuthority(req.url ?? '/');
    // An absolute-form target must name the admin too, and the same as `Host` does.
    const targetIsOurs = authority === null || (authority !== undefined && authority === host);
    if (!hostIsOurs(host) || !targetIsOurs) return refusals.host;
    if (path !== '/healthz' && !tokenMatches(headers)) return refusals.token;
    if (method !== 'GET' && method !== 'HEAD') {
      const origin = headers.origin;
      const site = headers['sec-fetch-site'];
      const sameOrigin =
        (origin === undefined || origin === `${scheme}://${host}`) &&
        (site === undefined || site === 'same-origin' || site === 'none');
      if (!sameOrigin) return refusals.origin;
    }
    return undefined;
  };
}

/** Whether `candidate` is the admin token, compared in constant time. */
export function isAdminToken(token: string | undefined, candidate: string): boolean {
  return token !== undefined && timingSafeEqual(digest(candidate), digest(token));
}

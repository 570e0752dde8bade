import { retryScheduleDefaults } from '@c2p/core';
import type { z } from 'zod';
import { modes, roles } from './config-values.js';
import {
  adapters,
  apiUrl,
  bool,
  breaker,
  checked,
  defaultStore,
  handlerRate,
  httpUrl,
  integer,
  ipRules,
  oneOf,
  optional,
  port,
  store,
} from './setting-parsers.js';

/** One setting: its parser, its default as the README shows it, and its README line. */
export interface Setting<T = unknown> {
  parse: z.ZodType<T, string | undefined>;
  default: string;
  doc: string;
}

const setting = <T>(
  parse: z.ZodType<T, string | undefined>,
  fallback: string,
  doc: string,
): Setting<T> => ({
  parse,
  default: fallback,
  doc,
});

/**
 * The longest delay of core's default retry schedule (6 h), read from core
 * rather than copied: past 40 doublings every delay is the cap. The base may
 * not exceed it.
 */
export const maxRetryDelayMs = retryScheduleDefaults.maxDelayMs;

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Every setting the app reads, in the README's order: the one declaration of
 * its name, default, parser and documentation. `test/settings-readme.test.ts`
 * checks the README's table against it.
 */
export const settings = {
  NODE_ENV: setting(
    oneOf(['production', 'development', 'test'] as const, 'development'),
    '`development`',
    "`production` requires credentials and TLS (below) and allows only Clik2pay's production addresses by default; `development` and `test` do not. Any other value (`Production`, `prod`) stops start-up",
  ),
  C2P_ROLE: setting(
    oneOf(roles, 'all'),
    '`all`',
    '`all`; `listener` (accepts into the inbox, runs no handlers); `worker` (runs handlers from the inbox, opens no webhook port, needs no webhook credentials)',
  ),
  C2P_WEBHOOK_USERNAME: setting(
    checked((v) => !v.includes(':'), 'must not contain ":" (RFC 7617); put colons in the password'),
    'required in production; in development generated and printed at start',
    'the Basic credentials agreed with Clik2pay; set both or neither (a `worker` needs none)',
  ),
  C2P_WEBHOOK_PASSWORD: setting(
    optional,
    'required in production; in development generated and printed at start',
    'the other half; in production at least 16 characters',
  ),
  C2P_ALLOWED_IPS: setting(
    ipRules(true),
    'production: `production`; development: `sandbox,loopback`',
    'comma list of addresses, CIDRs (IPv4 and IPv6) and the names `production`, `sandbox`, `loopback`',
  ),
  C2P_TRUSTED_PROXIES: setting(
    ipRules(false),
    'none',
    'comma list of addresses and CIDRs of your own reverse proxies; only their `X-Forwarded-For` is believed',
  ),
  C2P_TLS_TERMINATED_UPSTREAM: setting(
    bool,
    '`false`',
    '`true` when a proxy in front ends TLS; lets production serve plain HTTP to that proxy, and requires `C2P_TRUSTED_PROXIES`',
  ),
  C2P_STORE: setting(
    store,
    `\`${defaultStore}\``,
    '`memory`, `sqlite:<path>` (directory created), `postgres://…` (or `postgresql://`), `redis://…` (or `rediss://`)',
  ),
  C2P_MODE: setting(
    oneOf(modes, 'inbox'),
    '`inbox`',
    '`inbox` or `sync`: see [Two modes](#two-modes)',
  ),
  C2P_MAX_EVENTS: setting(
    integer(1, 100_000),
    "`100` (core's default)",
    'the most events one delivery may hold, 1 to 100000; more get 413 `TOO_MANY_EVENTS` (Clik2pay sends one per delivery)',
  ),
  C2P_WORKER_CONCURRENCY: setting(
    integer(1, 1000).transform((n) => n ?? 4),
    '`4`',
    'inbox mode: handler attempts in flight per worker process, 1 to 1000',
  ),
  // The worker's rate limit and circuit breaker (README, "Rate limit and circuit breaker").
  C2P_HANDLER_RATE: setting(
    handlerRate,
    'none',
    'inbox mode: at most this many handler attempts start in any one second (sliding), e.g. `5/s` or `30/min`, across every worker process of the inbox: shared through PostgreSQL, Redis or the SQLite file (with `memory`, per process). Starts are spaced `(1000 + 250) / N` ms apart, the 250 ms absorbing the varying delay from a start to the order system',
  ),
  C2P_BREAKER: setting(
    breaker,
    '`5`',
    'inbox mode: after this many handler failures in a row a worker process leases nothing for 30 s, doubling to 5 min while its one probe fails, so events keep their remaining attempts while the order system is down; per process; `off` disables',
  ),
  C2P_RETRY_MAX_ATTEMPTS: setting(
    integer(1, 1000),
    "`25` (core's default)",
    'inbox mode: attempts in all, the first included, 1 to 1000; then the event is `dead`',
  ),
  C2P_RETRY_BASE_MS: setting(
    integer(0, maxRetryDelayMs),
    "`2000` (core's default)",
    `inbox mode: the delay before the first retry, in ms (0 to ${maxRetryDelayMs}); it doubles after each failure, up to core's cap of 6 h, each delay ±20% (jitter). The defaults retry for about three days`,
  ),
  C2P_INBOX_RETAIN_DAYS: setting(
    integer(1, 3650).transform((n) => n ?? 30),
    '`30`',
    'inbox mode: processed and resolved events are kept this many days (for deduplication and for reading), 1 to 3650, then swept; dead and unfinished events are never deleted',
  ),
  C2P_REDIS_DURABILITY: setting(
    oneOf(['verify', 'trust'] as const, 'verify'),
    '`verify`',
    'inbox mode with `redis://…`: `verify` refuses to start unless the server runs `appendonly yes`, `appendfsync always` and `maxmemory-policy noeviction` (and answers 503 to deliveries while that stops being true); `trust` skips the check (see [Redis](#redis-and-the-inbox))',
  ),
  C2P_ADAPTERS: setting(
    adapters,
    '`express,fastify,hono`',
    'which listeners to start; a framework not listed is not even loaded',
  ),
  EXPRESS_PORT: setting(
    port(3001),
    '`3001`',
    'the Express webhook listener: `POST /webhooks/clik2pay` and `GET /healthz`. `0` picks a free port (the `ready` log line names it)',
  ),
  FASTIFY_PORT: setting(port(3002), '`3002`', 'the Fastify webhook listener, the same routes'),
  HONO_PORT: setting(port(3003), '`3003`', 'the Hono webhook listener, the same routes'),
  WEBHOOK_HOST: setting(optional, 'every interface', 'the address the webhook listeners bind to'),
  ADMIN_PORT: setting(
    port(3000),
    '`3000`',
    'the admin: its page, `/api/*` (events, orders, inbox operations, audit), `GET /metrics`, `GET /healthz` and `GET /healthz/inbox` (see [The admin](#the-admin))',
  ),
  ADMIN_HOST: setting(optional, '`127.0.0.1`', 'the address the admin binds to'),
  ADMIN_TOKEN: setting(
    checked((v) => /^\S{16,}$/.test(v), 'must be at least 16 characters, without spaces'),
    'none',
    'at least 16 characters, no spaces; when set, every admin route but `/healthz` needs `Authorization: Bearer <token>` (or the cookie `/?token=<token>` sets). Required whenever `ADMIN_HOST` is not a loopback address, whatever `NODE_ENV` says',
  ),
  C2P_FULFIL_URL: setting(
    httpUrl,
    'none',
    "the merchant's order system, `http://` or `https://`: POSTed once per order on its first fulfilment (see [The fulfilment call](#the-fulfilment-call))",
  ),
  // The Payment Requests API: reconciling missed webhooks, and C2P_VERIFY_PAID.
  C2P_API_URL: setting(
    apiUrl,
    '`production`',
    "the Payment Requests API: `production`, `sandbox`, or a base URL (e.g. `c2p mock`'s `http://127.0.0.1:4000/open/v1`, with `C2P_API_TOKEN_URL`)",
  ),
  C2P_API_TOKEN_URL: setting(
    httpUrl,
    "that environment's token URL",
    'the OAuth token endpoint; required when `C2P_API_URL` is a URL',
  ),
  C2P_API_USERNAME: setting(
    checked((v) => !v.includes(':'), 'must not contain ":" (RFC 7617)'),
    'none',
    'the API credentials Clik2pay issues (not the webhook ones); set all three or none. When set, the reconciler runs (see [Reconciling](#reconciling-missed-webhooks))',
  ),
  C2P_API_PASSWORD: setting(optional, 'none', 'the API password'),
  C2P_API_KEY: setting(optional, 'none', 'the API key, sent as `x-api-key`'),
  C2P_RECONCILE_AFTER_S: setting(
    integer(0, 30 * 86_400).transform((n) => n ?? 300),
    '`300`',
    'an expected payment (`POST /api/orders`) still unsettled this many seconds after it was registered (or last changed) is read from the API',
  ),
  C2P_RECONCILE_EVERY_S: setting(
    integer(1, 86_400).transform((n) => n ?? 60),
    '`60`',
    'seconds between the end of one reconciling pass and the start of the next',
  ),
  C2P_VERIFY_PAID: setting(
    oneOf(['off', 'on'] as const, 'off'),
    '`off`',
    '`on`: before fulfilling on `PAID`, read the payment request from the API; fulfil only when it also says `PAID` with the same amount, otherwise the event is `dead` with the reason and a `verify-failed` alert. Needs the API credentials',
  ),
  // Operating it: alerts (issue 18).
  C2P_ALERT_URL: setting(
    httpUrl,
    'none',
    'alerts are POSTed here as JSON with a human `text` (a Slack or Teams incoming-webhook URL works as it is): `dead`, `backlog`, `recovered`; retried with backoff, each sent at most once (see [Alerts](#alerts))',
  ),
  C2P_ALERT_BACKLOG_S: setting(
    integer(1, 2_592_000).transform((n) => n ?? 900),
    '`900`',
    'inbox mode: the oldest unfinished event older than this, in seconds, raises a `backlog` alert (then `recovered`) and makes `GET /healthz/inbox` answer 503',
  ),
  TLS_CERT_FILE: setting(
    optional,
    'none',
    'a PEM certificate; with `TLS_KEY_FILE`, every listener and the admin serve HTTPS',
  ),
  TLS_KEY_FILE: setting(optional, 'none', 'its PEM private key'),
  LOG_LEVEL: setting(
    checked((v) => logLevels.includes(v), `is not one of ${logLevels.join(', ')}`),
    '`info`',
    `${logLevels.map((level) => `\`${level}\``).join(', ')}`,
  ),
} satisfies Record<string, Setting>;

export type SettingName = keyof typeof settings;

/** The README's settings table, rendered from {@link settings}. */
export function settingsTable(): string {
  const rows = Object.entries(settings).map(
    ([name, { default: fallback, doc }]) => `| \`${name}\` | ${fallback} | ${doc} |`,
  );
  return ['| setting | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

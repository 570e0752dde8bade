import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import {
  type AdapterName,
  ConfigError,
  isLoopbackHost,
  type Mode,
  portSettings,
  type Role,
  type StoreConfig,
} from './config/config-values.js';
import { settings } from './config/settings.js';

export {
  type AdapterName,
  adapterNames,
  ConfigError,
  isLoopbackHost,
  type Mode,
  modes,
  portSettings,
  type Role,
  redactUrl,
  roles,
  type StoreConfig,
} from './config/config-values.js';

/** The whole configuration, validated. */
export interface Config {
  production: boolean;
  /** `all` (the default), `listener` (accepts into the inbox only) or `worker` (runs handlers only). */
  role: Role;
  /** `inbox` (the default): 2xx once stored, handlers run by a worker; `sync`: 2xx once the handlers ran. */
  mode: Mode;
  /** Inbox mode's retry schedule; unset fields keep core's defaults (25 attempts from 2 s, about three days). */
  retry: { maxAttempts?: number; baseDelayMs?: number };
  /**
   * Inbox mode's worker: handler attempts in flight per process (`C2P_WORKER_CONCURRENCY`, default 4),
   * attempts started per second across processes (`C2P_HANDLER_RATE`), and the breaker (`C2P_BREAKER`).
   */
  worker: { concurrency: number; ratePerSecond: number | undefined; breaker: number | false };
  /** Inbox mode: how long processed and resolved events are kept, in ms (`C2P_INBOX_RETAIN_DAYS`, default 30 days). */
  inboxRetainMs: number;
  /** The most events one delivery may hold (`C2P_MAX_EVENTS`); unset keeps core's default, 100. */
  maxEvents?: number;
  /**
   * Inbox mode on Redis: `verify` refuses to start (and to accept deliveries)
   * unless the server persists every write before answering; `trust` skips the check.
   */
  redisDurability: 'verify' | 'trust';
  credentials: { username: string; password: string };
  /** `true` when the credentials were generated (development, or a worker that needs none). */
  generatedCredentials: boolean;
  /** Where generated development credentials are kept, when they are. */
  credentialsFile: string | undefined;
  allowedIps: string[];
  trustedProxies: string[];
  store: StoreConfig;
  adapters: AdapterName[];
  ports: Record<AdapterName, number>;
  /** Where the webhook listeners bind; `undefined` means every interface. */
  host: string | undefined;
  admin: {
    host: string;
    port: number;
    /** When set, every admin route but `/healthz` needs it as a bearer token (or the cookie `/?token=` sets). */
    token: string | undefined;
  };
  /** The merchant's order system, POSTed to on an order's first fulfilment. */
  fulfilUrl: string | undefined;
  /** `C2P_ALERT_URL` and `C2P_ALERT_BACKLOG_S`. */
  alerts: { url: string | undefined; backlogS: number };
  tls: { cert: Buffer; key: Buffer } | undefined;
  /** The certificate's file, for the banner's `--ca`. */
  tlsCertFile: string | undefined;
  tlsTerminatedUpstream: boolean;
  logLevel: string;
  /** The Payment Requests API, when its credentials are set: the reconciler runs, and `C2P_VERIFY_PAID` may. */
  api: ApiConfig | undefined;
  /** The reconciler's threshold and period, in ms. */
  reconcile: { afterMs: number; everyMs: number };
  /** `C2P_VERIFY_PAID=on`: a PAID fulfils only once the API confirms it. */
  verifyPaid: boolean;
}

/** Where and as whom the app calls the Payment Requests API. */
export interface ApiConfig {
  /** `production` or `sandbox` when `C2P_API_URL` names one; `undefined` with a base URL. */
  environment: 'production' | 'sandbox' | undefined;
  /** The base URL, when `C2P_API_URL` is one. */
  baseUrl: string | undefined;
  /** `C2P_API_TOKEN_URL`, when set. */
  tokenUrl: string | undefined;
  username: string;
  password: string;
  apiKey: string;
}

const apiCredentialSettings = ['C2P_API_USERNAME', 'C2P_API_PASSWORD', 'C2P_API_KEY'] as const;

/** The API settings: all three credentials or none, a token URL beside a base URL. */
function apiOf(e: Env, problems: Problems): ApiConfig | undefined {
  const values = apiCredentialSettings.map((name) => e[name]);
  const missing = apiCredentialSettings.filter((_, i) => values[i] === undefined);
  if (missing.length === apiCredentialSettings.length) {
    if (e.C2P_VERIFY_PAID === 'on') {
      problems.push(
        `C2P_VERIFY_PAID: on needs the API credentials (${apiCredentialSettings.join(', ')})`,
      );
    }
    return undefined;
  }
  if (missing.length > 0) {
    const set = apiCredentialSettings.find((_, i) => values[i] !== undefined);
    problems.push(
      `${missing[0]}: is required when ${set} is set (the API needs ${apiCredentialSettings.join(', ')})`,
    );
    return undefined;
  }
  const named = e.C2P_API_URL === 'production' || e.C2P_API_URL === 'sandbox';
  if (!named && e.C2P_API_TOKEN_URL === undefined) {
    problems.push('C2P_API_TOKEN_URL: is required when C2P_API_URL is a URL');
  }
  const [username, password, apiKey] = values as [string, string, string];
  return {
    environment: named ? (e.C2P_API_URL as 'production' | 'sandbox') : undefined,
    baseUrl: named ? undefined : e.C2P_API_URL,
    tokenUrl: e.C2P_API_TOKEN_URL,
    username,
    password,
    apiKey,
  };
}

const envSchema = z.object(
  Object.fromEntries(Object.entries(settings).map(([name, s]) => [name, s.parse])) as {
    [K in keyof typeof settings]: (typeof settings)[K]['parse'];
  },
);

/** The settings, each parsed on its own. */
type Env = z.output<typeof envSchema>;

/** Problems found so far; each one line naming its setting. */
type Problems = string[];

/** Generated development credentials, and the file they are kept in if any. */
export type DevelopmentCredentials = (folder: string) => {
  username: string;
  password: string;
  file?: string;
};

/** What {@link parseConfig} takes beside the environment. */
export interface ParseConfigOptions {
  /**
   * Gives the development credentials when none are set. Defaults to new random
   * ones each call; `main.ts` keeps them in the data folder (see {@link dataFolder}).
   */
  developmentCredentials?: DevelopmentCredentials;
}

const randomCredentials: DevelopmentCredentials = () => ({
  username: 'clik2pay',
  password: randomBytes(18).toString('base64url'),
});

function credentialsOf(
  e: Env,
  production: boolean,
  problems: Problems,
  generate: DevelopmentCredentials,
): Pick<Config, 'credentials' | 'generatedCredentials' | 'credentialsFile'> {
  const username = e.C2P_WEBHOOK_USERNAME;
  const password = e.C2P_WEBHOOK_PASSWORD;
  if (username !== undefined && password !== undefined) {
    if (production && password.length < 16) {
      problems.push('C2P_WEBHOOK_PASSWORD: must be at least 16 characters in production');
    }
    const credentials = { username, password };
    return { credentials, generatedCredentials: false, credentialsFile: undefined };
  }
  if (username !== undefined || password !== undefined) {
    const missing = username === undefined ? 'C2P_WEBHOOK_USERNAME' : 'C2P_WEBHOOK_PASSWORD';
    problems.push(`${missing}: is required when the other credential is set`);
  } else if (production && e.C2P_ROLE !== 'worker') {
    problems.push(
      'C2P_WEBHOOK_USERNAME: is required in production (with C2P_WEBHOOK_PASSWORD): the Basic credentials agreed with Clik2pay',
    );
  }
  // A production worker needs none; nothing is written to the data folder in production,
  // nor when start-up fails anyway.
  // A worker takes no deliveries: nothing to keep for it either.
  const use =
    production || problems.length > 0 || e.C2P_ROLE === 'worker' ? randomCredentials : generate;
  const { file, ...credentials } = use(dataFolder(e.C2P_STORE));
  return { credentials, generatedCredentials: true, credentialsFile: file };
}

/** The folder the app keeps its files in: the SQLite file's, else `./data`. */
export function dataFolder(store: StoreConfig): string {
  return store.kind === 'sqlite' ? dirname(resolve(store.path)) : resolve('data');
}

function readSetting(setting: string, path: string, problems: Problems): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push(`${setting}: cannot read "${path}" (${code})`);
    return undefined;
  }
}

function tlsOf(e: Env, problems: Problems): Config['tls'] {
  const { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile } = e;
  if (certFile === undefined || keyFile === undefined) {
    if (certFile !== keyFile) {
      const [missing, other] =
        certFile === undefined
          ? ['TLS_CERT_FILE', 'TLS_KEY_FILE']
          : ['TLS_KEY_FILE', 'TLS_CERT_FILE'];
      problems.push(`${missing}: is required when ${other} is set`);
    }
    return undefined;
  }
  const cert = readSetting('TLS_CERT_FILE', certFile, problems);
  const key = readSetting('TLS_KEY_FILE', keyFile, problems);
  if (cert && !cert.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(`TLS_CERT_FILE: "${certFile}" is not a PEM certificate`);
  }
  if (key && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key.toString('latin1'))) {
    problems.push(`TLS_KEY_FILE: "${keyFile}" is not a PEM private key`);
  }
  return cert && key ? { cert, key } : undefined;
}

function checkTransport(e: Env, production: boolean, tls: boolean, problems: Problems): void {
  const proxies = e.C2P_TRUSTED_PROXIES ?? [];
  if (e.C2P_TLS_TERMINATED_UPSTREAM && proxies.length === 0) {
    problems.push(
      'C2P_TRUSTED_PROXIES: is required when C2P_TLS_TERMINATED_UPSTREAM=true (the CIDRs of the proxy that ends TLS)',
    );
  }
  const tlsAsked = e.TLS_CERT_FILE !== undefined || e.TLS_KEY_FILE !== undefined;
  if (production && !tls && !tlsAsked && !e.C2P_TLS_TERMINATED_UPSTREAM) {
    problems.push(
      'TLS_CERT_FILE: is required in production (with TLS_KEY_FILE), unless TLS ends at a proxy: set C2P_TLS_TERMINATED_UPSTREAM=true and C2P_TRUSTED_PROXIES',
    );
  }
}

/** No two listeners, nor a listener and the admin, on one port (`0` picks a free one each). */
function checkPorts(e: Env, problems: Problems): Config['ports'] {
  const ports = { express: e.EXPRESS_PORT, fastify: e.FASTIFY_PORT, hono: e.HONO_PORT };
  const used = new Map<number, string>([[e.ADMIN_PORT, 'ADMIN_PORT']]);
  // A worker opens no webhook port.
  for (const name of e.C2P_ROLE === 'worker' ? [] : e.C2P_ADAPTERS) {
    const value = ports[name];
    const setting = portSettings[name];
    const clash = used.get(value);
    if (value !== 0 && clash !== undefined) {
      problems.push(`${setting}: ${value} is already taken by ${clash}`);
    }
    used.set(value, setting);
  }
  return ports;
}

/** An admin reachable from other machines without a token is refused in every environment. */
function adminOf(e: Env, problems: Problems): Config['admin'] {
  const host = e.ADMIN_HOST ?? '127.0.0.1';
  if (e.ADMIN_TOKEN === undefined && !isLoopbackHost(host)) {
    problems.push(
      `ADMIN_TOKEN: is required when ADMIN_HOST ("${host}") is not a loopback address: anyone who reaches it could replay events`,
    );
  }
  return { host, port: e.ADMIN_PORT, token: e.ADMIN_TOKEN };
}

/** Each setting parsed alone: every bad value, one line each. */
function parseSettings(env: Record<string, string | undefined>): Env {
  const parsed = envSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues
      .map((issue) => `${String(issue.path[0] ?? 'configuration')}: ${issue.message}`)
      .join('\n'),
  );
}

/**
 * Reads the configuration from the environment. Throws a {@link ConfigError}
 * whose message is one line per problem, each naming its setting, e.g.
 * `C2P_ALLOWED_IPS: "10.0.0.0/33" is not an address, CIDR or preset name`.
 */
export function parseConfig(
  env: Record<string, string | undefined>,
  options: ParseConfigOptions = {},
): Config {
  const e = parseSettings(env);
  const production = e.NODE_ENV === 'production';
  const problems: Problems = [];
  const generate = options.developmentCredentials ?? randomCredentials;
  const tls = tlsOf(e, problems);
  checkTransport(e, production, tls !== undefined, problems);
  const allowedIps = e.C2P_ALLOWED_IPS ?? (production ? ['production'] : ['sandbox', 'loopback']);
  if (allowedIps.length === 0) {
    problems.push('C2P_ALLOWED_IPS: names no address; nobody could deliver');
  }
  if (e.C2P_ROLE !== 'all' && e.C2P_MODE === 'sync') {
    problems.push(
      `C2P_ROLE: ${e.C2P_ROLE} needs C2P_MODE=inbox (in sync mode the listener runs the handlers itself, so there is nothing to split)`,
    );
  }
  const ports = checkPorts(e, problems);
  const admin = adminOf(e, problems);
  const identity = credentialsOf(e, production, problems, generate);
  const api = apiOf(e, problems);
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  const retry: Config['retry'] = {};
  if (e.C2P_RETRY_MAX_ATTEMPTS !== undefined) retry.maxAttempts = e.C2P_RETRY_MAX_ATTEMPTS;
  if (e.C2P_RETRY_BASE_MS !== undefined) retry.baseDelayMs = e.C2P_RETRY_BASE_MS;
  return {
    production,
    role: e.C2P_ROLE,
    mode: e.C2P_MODE,
    retry,
    worker: {
      concurrency: e.C2P_WORKER_CONCURRENCY,
      ratePerSecond: e.C2P_HANDLER_RATE,
      breaker: e.C2P_BREAKER,
    },
    inboxRetainMs: e.C2P_INBOX_RETAIN_DAYS * 24 * 60 * 60 * 1000,
    ...(e.C2P_MAX_EVENTS === undefined ? {} : { maxEvents: e.C2P_MAX_EVENTS }),
    redisDurability: e.C2P_REDIS_DURABILITY,
    ...identity,
    allowedIps,
    trustedProxies: e.C2P_TRUSTED_PROXIES ?? [],
    store: e.C2P_STORE,
    adapters: e.C2P_ADAPTERS,
    ports,
    host: e.WEBHOOK_HOST,
    admin,
    fulfilUrl: e.C2P_FULFIL_URL,
    alerts: { url: e.C2P_ALERT_URL, backlogS: e.C2P_ALERT_BACKLOG_S },
    tls,
    tlsCertFile: e.TLS_CERT_FILE,
    tlsTerminatedUpstream: e.C2P_TLS_TERMINATED_UPSTREAM,
    logLevel: e.LOG_LEVEL ?? 'info',
    api,
    reconcile: { afterMs: e.C2P_RECONCILE_AFTER_S * 1000, everyMs: e.C2P_RECONCILE_EVERY_S * 1000 },
    verifyPaid: e.C2P_VERIFY_PAID === 'on',
  };
}

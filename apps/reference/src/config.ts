import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { clik2payIps, createIpAllowlist } from '@c2p/core';
import { z } from 'zod';

/** The listeners the reference app can start, in start order. */
export const adapterNames = ['express', 'fastify', 'hono'] as const;
export type AdapterName = (typeof adapterNames)[number];

/** Where deliveries are deduplicated (and, for SQL stores, where the order book lives). */
export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string }
  | { kind: 'redis'; url: string };

/** How deliveries are accepted: see the README's "Two modes". */
export const modes = ['inbox', 'sync'] as const;
export type Mode = (typeof modes)[number];

/** The whole configuration, validated. */
export interface Config {
  production: boolean;
  /** `inbox` (the default): 2xx once stored, handlers run by a worker; `sync`: 2xx once the handlers ran. */
  mode: Mode;
  /** Inbox mode's retry schedule; unset fields keep core's defaults (25 attempts from 2 s, about three days). */
  retry: { maxAttempts?: number; baseDelayMs?: number };
  /**
   * Inbox mode on Redis: `verify` refuses to start (and to accept deliveries)
   * unless the server persists every write before answering; `trust` skips the check.
   */
  redisDurability: 'verify' | 'trust';
  credentials: { username: string; password: string };
  /** `true` when the credentials were generated at start (development only). */
  generatedCredentials: boolean;
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
  tls: { cert: Buffer; key: Buffer } | undefined;
  tlsTerminatedUpstream: boolean;
  logLevel: string;
}

/** A configuration problem, phrased as the one line printed before exiting 1. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

// Core holds the addresses behind each name; the app only needs to know which names exist.
const presets: readonly string[] = Object.keys(clik2payIps);

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** A setting as zod sees it: unset and empty are the same. */
const optional = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const port = (fallback: number) =>
  optional.transform((value, ctx) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a port number (0-65535)` });
      return z.NEVER;
    }
    return n;
  });

/** The longest delay core's retry schedule allows by default (6 h): the base may not exceed it. */
const maxRetryDelayMs = 6 * 60 * 60 * 1000;

const integer = (min: number, max: number) =>
  optional.transform((value, ctx) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" is not a whole number from ${min} to ${max}`,
      });
      return z.NEVER;
    }
    return n;
  });

const oneOf = <T extends string>(values: readonly T[], fallback: T) =>
  optional.transform((value, ctx): T => {
    if (value === undefined) return fallback;
    if ((values as readonly string[]).includes(value)) return value as T;
    ctx.addIssue({ code: 'custom', message: `"${value}" is not ${values.join(' or ')}` });
    return z.NEVER;
  });

const bool = optional.transform((value, ctx) => {
  if (value === undefined) return false;
  const lower = value.toLowerCase();
  if (['true', '1', 'yes'].includes(lower)) return true;
  if (['false', '0', 'no'].includes(lower)) return false;
  ctx.addIssue({ code: 'custom', message: `"${value}" is not true or false` });
  return z.NEVER;
});

const ipRules = (allowPresets: boolean) =>
  optional.transform((value, ctx) => {
    const rules = list(value);
    for (const rule of rules) {
      const isPreset = presets.includes(rule.toLowerCase());
      let valid = allowPresets || !isPreset;
      if (valid) {
        try {
          createIpAllowlist([rule]);
        } catch {
          valid = false;
        }
      }
      if (!valid) {
        ctx.addIssue({
          code: 'custom',
          message: allowPresets
            ? `"${rule}" is not an address, CIDR or preset name`
            : `"${rule}" is not an address or CIDR`,
        });
        return z.NEVER;
      }
    }
    return value === undefined ? undefined : rules;
  });

const store = optional.transform((value, ctx): StoreConfig => {
  const raw = value ?? 'sqlite:./data/reference.db';
  if (raw === 'memory') return { kind: 'memory' };
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length);
    if (path !== '') return { kind: 'sqlite', path };
  } else {
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      url = undefined;
    }
    if (url && (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname) {
      return { kind: 'postgres', url: raw };
    }
    if (url && (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname) {
      return { kind: 'redis', url: raw };
    }
  }
  ctx.addIssue({
    code: 'custom',
    message: `"${redactUrl(raw)}" is not memory, sqlite:<path>, postgres://... or redis://...`,
  });
  return z.NEVER;
});

const adapters = optional.transform((value, ctx): AdapterName[] => {
  const names = list(value ?? adapterNames.join(','));
  const unknown = names.find((name) => !(adapterNames as readonly string[]).includes(name));
  if (unknown !== undefined || names.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message:
        unknown === undefined
          ? 'names no listener; use a comma list of express, fastify, hono'
          : `"${unknown}" is not one of express, fastify, hono`,
    });
    return z.NEVER;
  }
  return adapterNames.filter((name) => names.includes(name));
});

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const envSchema = z.object({
  NODE_ENV: optional,
  C2P_WEBHOOK_USERNAME: optional.refine((v) => v === undefined || !v.includes(':'), {
    message: 'must not contain ":" (RFC 7617); put colons in the password',
  }),
  C2P_WEBHOOK_PASSWORD: optional,
  C2P_ALLOWED_IPS: ipRules(true),
  C2P_TRUSTED_PROXIES: ipRules(false),
  C2P_STORE: store,
  C2P_MODE: oneOf(modes, 'inbox'),
  C2P_RETRY_MAX_ATTEMPTS: integer(1, 1000),
  C2P_RETRY_BASE_MS: integer(0, maxRetryDelayMs),
  C2P_REDIS_DURABILITY: oneOf(['verify', 'trust'] as const, 'verify'),
  C2P_ADAPTERS: adapters,
  C2P_TLS_TERMINATED_UPSTREAM: bool,
  EXPRESS_PORT: port(3001),
  FASTIFY_PORT: port(3002),
  HONO_PORT: port(3003),
  ADMIN_PORT: port(3000),
  ADMIN_HOST: optional,
  ADMIN_TOKEN: optional.refine((v) => v === undefined || /^\S{16,}$/.test(v), {
    message: 'must be at least 16 characters, without spaces',
  }),
  C2P_FULFIL_URL: optional.refine(
    (v) => {
      if (v === undefined) return true;
      try {
        const url = new URL(v);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
      } catch {
        return false;
      }
    },
    { message: 'is not an http:// or https:// URL' },
  ),
  WEBHOOK_HOST: optional,
  TLS_CERT_FILE: optional,
  TLS_KEY_FILE: optional,
  LOG_LEVEL: optional.refine((v) => v === undefined || logLevels.includes(v), {
    message: `is not one of ${logLevels.join(', ')}`,
  }),
});

/**
 * Reads the configuration from the environment. Throws a {@link ConfigError}
 * whose message is one line naming the setting, e.g.
 * `C2P_ALLOWED_IPS: "10.0.0.0/33" is not an address, CIDR or preset name`.
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${String(issue?.path[0] ?? 'configuration')}: ${issue?.message}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';

  let credentials: Config['credentials'];
  let generatedCredentials = false;
  if (e.C2P_WEBHOOK_USERNAME !== undefined && e.C2P_WEBHOOK_PASSWORD !== undefined) {
    credentials = { username: e.C2P_WEBHOOK_USERNAME, password: e.C2P_WEBHOOK_PASSWORD };
  } else if (e.C2P_WEBHOOK_USERNAME !== undefined || e.C2P_WEBHOOK_PASSWORD !== undefined) {
    const missing =
      e.C2P_WEBHOOK_USERNAME === undefined ? 'C2P_WEBHOOK_USERNAME' : 'C2P_WEBHOOK_PASSWORD';
    throw new ConfigError(`${missing}: is required when the other credential is set`);
  } else if (production) {
    throw new ConfigError(
      'C2P_WEBHOOK_USERNAME: is required in production (with C2P_WEBHOOK_PASSWORD): the Basic credentials agreed with Clik2pay',
    );
  } else {
    credentials = { username: 'clik2pay', password: randomBytes(18).toString('base64url') };
    generatedCredentials = true;
  }
  if (production && credentials.password.length < 16) {
    throw new ConfigError('C2P_WEBHOOK_PASSWORD: must be at least 16 characters in production');
  }

  if ((e.TLS_CERT_FILE === undefined) !== (e.TLS_KEY_FILE === undefined)) {
    const missing = e.TLS_CERT_FILE === undefined ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE';
    const other = missing === 'TLS_CERT_FILE' ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE';
    throw new ConfigError(`${missing}: is required when ${other} is set`);
  }
  const tls =
    e.TLS_CERT_FILE !== undefined && e.TLS_KEY_FILE !== undefined
      ? {
          cert: readSetting('TLS_CERT_FILE', e.TLS_CERT_FILE),
          key: readSetting('TLS_KEY_FILE', e.TLS_KEY_FILE),
        }
      : undefined;
  if (tls) {
    if (!tls.cert.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError(`TLS_CERT_FILE: "${e.TLS_CERT_FILE}" is not a PEM certificate`);
    }
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(tls.key.toString('latin1'))) {
      throw new ConfigError(`TLS_KEY_FILE: "${e.TLS_KEY_FILE}" is not a PEM private key`);
    }
  }

  const trustedProxies = e.C2P_TRUSTED_PROXIES ?? [];
  if (e.C2P_TLS_TERMINATED_UPSTREAM && trustedProxies.length === 0) {
    throw new ConfigError(
      'C2P_TRUSTED_PROXIES: is required when C2P_TLS_TERMINATED_UPSTREAM=true (the CIDRs of the proxy that ends TLS)',
    );
  }
  if (production && !tls && !e.C2P_TLS_TERMINATED_UPSTREAM) {
    throw new ConfigError(
      'TLS_CERT_FILE: is required in production (with TLS_KEY_FILE), unless TLS ends at a proxy: set C2P_TLS_TERMINATED_UPSTREAM=true and C2P_TRUSTED_PROXIES',
    );
  }

  const allowedIps = e.C2P_ALLOWED_IPS ?? (production ? ['production'] : ['sandbox', 'loopback']);
  if (allowedIps.length === 0) {
    throw new ConfigError('C2P_ALLOWED_IPS: names no address; nobody could deliver');
  }

  const ports = { express: e.EXPRESS_PORT, fastify: e.FASTIFY_PORT, hono: e.HONO_PORT };
  const used = new Map<number, string>([[e.ADMIN_PORT, 'ADMIN_PORT']]);
  for (const name of e.C2P_ADAPTERS) {
    const value = ports[name];
    const setting = `${name.toUpperCase()}_PORT`;
    const clash = used.get(value);
    if (value !== 0 && clash !== undefined) {
      throw new ConfigError(`${setting}: ${value} is already taken by ${clash}`);
    }
    used.set(value, setting);
  }

  const adminHost = e.ADMIN_HOST ?? '127.0.0.1';
  if (production && e.ADMIN_TOKEN === undefined && !isLoopbackHost(adminHost)) {
    throw new ConfigError(
      `ADMIN_TOKEN: is required in production when ADMIN_HOST ("${adminHost}") is not a loopback address`,
    );
  }

  const retry: Config['retry'] = {};
  if (e.C2P_RETRY_MAX_ATTEMPTS !== undefined) retry.maxAttempts = e.C2P_RETRY_MAX_ATTEMPTS;
  if (e.C2P_RETRY_BASE_MS !== undefined) retry.baseDelayMs = e.C2P_RETRY_BASE_MS;

  return {
    production,
    mode: e.C2P_MODE,
    retry,
    redisDurability: e.C2P_REDIS_DURABILITY,
    credentials,
    generatedCredentials,
    allowedIps,
    trustedProxies,
    store: e.C2P_STORE,
    adapters: e.C2P_ADAPTERS,
    ports,
    host: e.WEBHOOK_HOST,
    admin: { host: adminHost, port: e.ADMIN_PORT, token: e.ADMIN_TOKEN },
    fulfilUrl: e.C2P_FULFIL_URL,
    tls,
    tlsTerminatedUpstream: e.C2P_TLS_TERMINATED_UPSTREAM,
    logLevel: e.LOG_LEVEL ?? 'info',
  };
}

function readSetting(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`${setting}: cannot read "${path}" (${code})`);
  }
}

/** A store URL without its password, for messages and logs. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password === '') return raw;
    url.password = '***';
    return url.toString();
  } catch {
    return raw.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/** `localhost`, `::1` or an address in 127.0.0.0/8: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

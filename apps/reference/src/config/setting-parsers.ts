import { clik2payIps, createIpAllowlist } from '@c2p/core';
import { z } from 'zod';
import { type AdapterName, adapterNames, redactUrl, type StoreConfig } from './config-values.js';

// Core holds the addresses behind each name; the app only needs to know which names exist.
const presets: readonly string[] = Object.keys(clik2payIps);

/** A comma list, trimmed, empty items dropped. */
export const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** A setting as zod sees it: unset and empty are the same. */
export const optional = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

type Parser<T> = z.ZodType<T, string | undefined>;

const fail = (ctx: z.RefinementCtx, message: string): typeof z.NEVER => {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
};

export const port = (fallback: number): Parser<number> =>
  optional.transform((value, ctx) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n > 65535) {
      return fail(ctx, `"${value}" is not a port number (0-65535)`);
    }
    return n;
  });

export const integer = (min: number, max: number): Parser<number | undefined> =>
  optional.transform((value, ctx) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      return fail(ctx, `"${value}" is not a whole number from ${min} to ${max}`);
    }
    return n;
  });

/** `a or b`, `a, b or c`. */
const alternatives = (values: readonly string[]): string =>
  values.length < 2 ? String(values[0]) : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;

export const oneOf = <T extends string>(values: readonly T[], fallback: T): Parser<T> =>
  optional.transform((value, ctx): T => {
    if (value === undefined) return fallback;
    if ((values as readonly string[]).includes(value)) return value as T;
    return fail(ctx, `"${value}" is not ${alternatives(values)}`);
  });

export const bool: Parser<boolean> = optional.transform((value, ctx) => {
  if (value === undefined) return false;
  const lower = value.toLowerCase();
  if (['true', '1', 'yes'].includes(lower)) return true;
  if (['false', '0', 'no'].includes(lower)) return false;
  return fail(ctx, `"${value}" is not true or false`);
});

function isRule(rule: string, allowPresets: boolean): boolean {
  if (!allowPresets && presets.includes(rule.toLowerCase())) return false;
  try {
    createIpAllowlist([rule]);
    return true;
  } catch {
    return false;
  }
}

export const ipRules = (allowPresets: boolean): Parser<string[] | undefined> =>
  optional.transform((value, ctx) => {
    const rules = list(value);
    const bad = rules.find((rule) => !isRule(rule, allowPresets));
    if (bad !== undefined) {
      return fail(
        ctx,
        allowPresets
          ? `"${bad}" is not an address, CIDR or preset name`
          : `"${bad}" is not an address or CIDR`,
      );
    }
    return value === undefined ? undefined : rules;
  });

function urlOf(raw: string): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

/** The default store. */
export const defaultStore = 'sqlite:./data/reference.db';

export const store: Parser<StoreConfig> = optional.transform((value, ctx): StoreConfig => {
  const raw = value ?? defaultStore;
  if (raw === 'memory') return { kind: 'memory' };
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length);
    if (path !== '') return { kind: 'sqlite', path };
  }
  const url = raw.startsWith('sqlite:') ? undefined : urlOf(raw);
  if (url && (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname) {
    return { kind: 'postgres', url: raw };
  }
  if (url && (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname) {
    return { kind: 'redis', url: raw };
  }
  // `sqlite` alone (or `sqlite:`) says what it wants, but not where: name the default.
  const hint = /^sqlite:?$/i.test(raw) ? `; for SQLite name its file: ${defaultStore}` : '';
  return fail(
    ctx,
    `"${redactUrl(raw)}" is not memory, sqlite:<path>, postgres://... or redis://...${hint}`,
  );
});

export const adapters: Parser<AdapterName[]> = optional.transform((value, ctx) => {
  const names = list(value ?? adapterNames.join(','));
  const unknown = names.find((name) => !(adapterNames as readonly string[]).includes(name));
  if (names.length === 0) {
    return fail(ctx, 'names no listener; use a comma list of express, fastify, hono');
  }
  if (unknown !== undefined) return fail(ctx, `"${unknown}" is not one of express, fastify, hono`);
  return adapterNames.filter((name) => names.includes(name));
});

/** A check on a set value: `message` when `ok` answers false. */
export const checked = (
  ok: (value: string) => boolean,
  message: string,
): Parser<string | undefined> => optional.refine((v) => v === undefined || ok(v), { message });

/**
 * The ports fetch refuses to connect to (Fetch standard, "port blocking"):
 * a URL on one of them fails every call with `fetch failed: bad port`.
 * @see https://fetch.spec.whatwg.org/#port-blocking
 */
const blockedPorts = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
  103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
  512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
  995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
  6669, 6679, 6697, 10080,
]);

/** An `http://` or `https://` URL fetch can call: a host, and a port it does not block. */
export const httpUrl: Parser<string | undefined> = optional.transform((value, ctx) => {
  if (value === undefined) return undefined;
  const url = urlOf(value);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    return fail(ctx, 'is not an http:// or https:// URL');
  }
  if (url.port !== '' && blockedPorts.has(Number(url.port))) {
    return fail(
      ctx,
      `port ${url.port} is one fetch refuses to call (https://fetch.spec.whatwg.org/#port-blocking); use another port`,
    );
  }
  return value;
});

/** `production`, `sandbox`, or the API's base URL (an `http://` or `https://` URL). */
export const apiUrl: Parser<string> = optional.transform((value, ctx): string => {
  if (value === undefined || value === 'production' || value === 'sandbox') {
    return value ?? 'production';
  }
  const url = urlOf(value);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    return fail(ctx, `"${value}" is not production, sandbox or an http:// or https:// URL`);
  }
  return value;
});

/** `C2P_HANDLER_RATE`: `N/s` or `N/min`, answered as starts per second; unset: no limit. */
export const handlerRate: Parser<number | undefined> = optional.transform((value, ctx) => {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(s|min)$/.exec(value);
  const count = Number(match?.[1]);
  const perSecond = match?.[2] === 's' ? count : count / 60;
  if (!match || count < 1 || (match[2] === 's' ? count > 1000 : count > 60_000)) {
    return fail(ctx, `"${value}" is not a rate such as 5/s or 30/min (1 to 1000/s)`);
  }
  return perSecond;
});

/** `C2P_BREAKER`: handler failures in a row that open the worker's breaker, or `off`. */
export const breaker: Parser<number | false> = optional.transform((value, ctx) => {
  if (value === undefined) return 5;
  if (value.toLowerCase() === 'off') return false;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000) {
    return fail(ctx, `"${value}" is not off or a whole number from 1 to 1000`);
  }
  return n;
});

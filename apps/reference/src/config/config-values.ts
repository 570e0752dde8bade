/** The listeners the reference app can start, in start order. */
export const adapterNames = ['express', 'fastify', 'hono'] as const;
export type AdapterName = (typeof adapterNames)[number];

/** Each listener's port setting: the one place these names are built. */
export const portSettings = {
  express: 'EXPRESS_PORT',
  fastify: 'FASTIFY_PORT',
  hono: 'HONO_PORT',
} as const satisfies Record<AdapterName, string>;

/** How deliveries are accepted: see the README's "Two modes". */
export const modes = ['inbox', 'sync'] as const;
export type Mode = (typeof modes)[number];

/** `all` accepts and works; `listener` only accepts into the inbox; `worker` only works. */
export const roles = ['all', 'listener', 'worker'] as const;
export type Role = (typeof roles)[number];

/** Where deliveries are deduplicated (and, for SQL stores, where the order book lives). */
export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string }
  | { kind: 'redis'; url: string };

/** A configuration problem, phrased as the line printed before exiting 1. */
export class ConfigError extends Error {
  override name = 'ConfigError';
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

import type { DeliveryHandler } from '@c2p/core/kit';
import { fromWebRequest, invalidOption, toWebResponse } from '@c2p/core/kit';
import type { Context, Handler } from 'hono';

/** Options for {@link createHonoHandler}. */
export interface HonoHandlerOptions {
  /**
   * The socket peer's address, which your runtime knows and Hono cannot:
   * `(c) => getConnInfo(c).remote.address` with the runtime's `getConnInfo` (see the README).
   */
  getPeerAddress: (c: Context) => string | undefined;
}

/**
 * A Hono 4 handler on Web APIs only, for any runtime Hono runs on.
 *
 * @example
 * app.all('/webhooks/clik2pay', createHonoHandler(webhooks, { getPeerAddress: (c) => getConnInfo(c).remote.address }));
 */
export function createHonoHandler(webhooks: DeliveryHandler, options: HonoHandlerOptions): Handler {
  const getPeerAddress = options?.getPeerAddress;
  if (typeof getPeerAddress !== 'function') {
    throw invalidOption(
      'options.getPeerAddress',
      "is required: pass (c) => getConnInfo(c).remote.address with your runtime's getConnInfo",
      '@c2p/adapter-hono',
    );
  }
  return async (c) => {
    // Router options (strict: false) may match other spellings: only the configured one is ours.
    const route = c.req.routePath;
    if (pathOf(c.req.url) !== route && !/[:*{]/.test(route)) return c.notFound();
    const request = fromWebRequest(c.req.raw, getPeerAddress(c));
    // A middleware that read the body first (c.req.json(), a validator) left it in Hono's cache.
    if (c.req.raw.bodyUsed) request.body = async () => new Uint8Array(await c.req.arrayBuffer());
    return toWebResponse(await webhooks.handle(request));
  };
}

// The path as sent (Hono's c.req.path drops a trailing slash when not strict).
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  const end = url.indexOf('?', start);
  return url.slice(start, end < 0 ? undefined : end);
}

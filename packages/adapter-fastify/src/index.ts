import type { DeliveryHandler } from '@c2p/core/kit';
import { invalidOption } from '@c2p/core/kit';
import { fromNodeRequest, writeNodeResponse } from '@c2p/core/node';
import type { FastifyPluginAsync } from 'fastify';

/** Options for {@link fastifyWebhooks}, passed to `app.register`. */
export interface FastifyWebhooksOptions {
  webhooks: DeliveryHandler;
  /** The route, under any `prefix`. Defaults to `/webhooks/clik2pay`. */
  path?: string;
}

/**
 * An encapsulated Fastify 5 plugin: one route on every method, answered before
 * Fastify parses anything, so core reads the raw body itself (lazily, after the
 * IP and credentials passed) whatever its content type. Your other routes,
 * parsers and hooks are untouched.
 *
 * @example
 * await app.register(fastifyWebhooks, { webhooks, path: '/webhooks/clik2pay' });
 */
export const fastifyWebhooks: FastifyPluginAsync<FastifyWebhooksOptions> = async (app, options) => {
  const { webhooks, path = '/webhooks/clik2pay' } = options;
  if (typeof webhooks?.handle !== 'function') {
    throw invalidOption(
      'options.webhooks',
      'must come from createWebhooks()',
      '@c2p/adapter-fastify',
    );
  }
  // The route's full path (with any prefix), read once: Fastify builds a new
  // object for every read of request.routeOptions.
  let routeUrl: string | undefined;
  app.all(
    path,
    {
      onRequest: async (request, reply) => {
        routeUrl ??= request.routeOptions.url;
        // Router options (ignoreTrailingSlash, caseSensitive: false) may match other spellings.
        if (pathOf(request.url) !== routeUrl) return reply.callNotFound();
        const response = await webhooks.handle(fromNodeRequest(request.raw));
        reply.hijack(); // Fastify's onResponse hooks and request logging still run.
        writeNodeResponse(request.raw, reply.raw, response);
      },
    },
    // Never runs: onRequest answers every request.
    async () => undefined,
  );
};

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

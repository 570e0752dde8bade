import { C2pError, type WebhookRequest, type Webhooks } from '@c2p/core';
import { invalidOption } from '@c2p/core/kit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/** Options for {@link fastifyWebhooks}, passed to `app.register`. */
export interface FastifyWebhooksOptions {
  webhooks: Webhooks;
  /** The route, under any `prefix`. Defaults to `/webhooks/clik2pay`. */
  path?: string;
}

/**
 * An encapsulated Fastify 5 plugin: one route on every method, with a raw-body parser
 * and `bodyLimit` of its own; your other routes, parsers and hooks are untouched.
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
  if (!webhooks.hasErrorHook) {
    webhooks.onError((error, { key }) => app.log.error({ err: error, key }, error.message));
  }
  // Inside this plugin's context only: the body stays the bytes Clik2pay sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const answer = async (
    request: FastifyRequest,
    reply: FastifyReply,
    body: WebhookRequest['body'],
  ) => {
    const header = (name: string) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const peerAddress = request.raw.socket.remoteAddress;
    const response = await webhooks.handle({ method: request.method, header, body, peerAddress });
    // A body left unread (cut at the limit) is never drained: close once answered.
    if (!request.raw.complete) reply.header('connection', 'close');
    return reply.code(response.status).headers(response.headers).send(response.body);
  };
  const tooLarge = async (): Promise<never> => {
    throw new C2pError('PAYLOAD_TOO_LARGE');
  };
  app.all(
    path,
    {
      bodyLimit: webhooks.maxBodyBytes,
      // Fastify's size refusal goes through core too, so IP and credentials are checked first.
      errorHandler: (error, request, reply) => {
        if ((error as { code?: unknown }).code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw error;
        return answer(request, reply, tooLarge);
      },
    },
    (request, reply) => answer(request, reply, request.body as Uint8Array | undefined),
  );
};

import { createRedisAuditStorage } from '../audit/audit-stores.js';
import { type Backend, type BackendConfig, type Intake, redisInboxPrefix } from '../backend.js';
import { ConfigError, redactUrl } from '../config.js';
import { createRedisDeliveryStorage } from '../delivery-log-stores.js';
import { createRedisOrderBook } from '../order-books/redis-order-book.js';
import { withTimeout } from '../with-timeout.js';
import { closeIntake, withHealth } from './backend-health.js';

type RedisClient = ReturnType<typeof import('redis').createClient>;

const guarantees = {
  sync: 'a 2xx means the handlers ran: at least once into the order book, made exactly once by its conditional transition (no shared transaction)',
  verify:
    'a 2xx means the events are in Redis and on disk (appendfsync always, checked); handlers run at least once, made exactly once by the order book',
  trust:
    "a 2xx means the events are in Redis; on disk only as far as the server's own persistence (C2P_REDIS_DURABILITY=trust, not checked); handlers run at least once, made exactly once by the order book",
} as const;

/**
 * With `C2P_REDIS_DURABILITY=verify` a Redis that could lose an acknowledged
 * delivery (no `appendonly`, `appendfsync` other than `always`, an eviction
 * policy) stops start-up: the inbox would refuse every delivery with 503 anyway.
 * The store's own error says which settings are wrong; it is passed on as it is.
 */
async function verifyRedis(inbox: { verifyDurability(): Promise<void> }, url: string) {
  try {
    await inbox.verifyDurability();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      `C2P_REDIS_DURABILITY: "${redactUrl(url)}" fails the persistence check (${reason}); fix the server, or set C2P_REDIS_DURABILITY=trust to accept that, or C2P_MODE=sync`,
    );
  }
}

async function openIntake(
  client: RedisClient,
  url: string,
  { mode, redisDurability, inboxRetainMs }: BackendConfig,
): Promise<{ intake: Intake; inboxCheck?: () => Promise<void> }> {
  const { createRedisStore, createRedisInbox } = await import('@c2p/store-redis');
  if (mode === 'sync') {
    const store = createRedisStore({ client });
    await store.migrate();
    return { intake: { mode, store } };
  }
  const inbox = createRedisInbox({
    client,
    keyPrefix: redisInboxPrefix,
    durability: redisDurability,
    retainMs: inboxRetainMs,
  });
  if (redisDurability === 'trust') return { intake: { mode, inbox } };
  await verifyRedis(inbox, url);
  // Settings can change under a running server: /healthz says so.
  return { intake: { mode, inbox }, inboxCheck: () => inbox.verifyDurability() };
}

/** `C2P_STORE=redis://...`: shared by every instance; the app's keys start `c2p-reference:`. */
export async function openRedisBackend(settings: BackendConfig): Promise<Backend> {
  const { store, mode, redisDurability } = settings;
  if (store.kind !== 'redis') throw new TypeError(`not a redis store: ${store.kind}`);
  const { createClient } = await import('redis');
  const client = createClient({
    url: store.url,
    socket: {
      connectTimeout: 5_000,
      reconnectStrategy: (retries) => Math.min(retries * 100, 2_000),
    },
  });
  // A lost connection is retried; operations meanwhile fail with STORE_UNAVAILABLE (503).
  client.on('error', () => undefined);
  try {
    await withTimeout(client.connect(), 5_000, 'no answer within 5 s');
    const { intake, inboxCheck } = await openIntake(client, store.url, settings);
    const backend = {
      kind: 'redis' as const,
      intake,
      orders: createRedisOrderBook(client),
      // The Redis inbox keeps each key's id in the hash `<prefix>keys` (its deduplication).
      ...(mode === 'inbox'
        ? {
            inboxIds: async (keys: readonly string[]) => {
              const ids = await client.hmGet(`${redisInboxPrefix}keys`, [...keys]);
              return new Map(
                keys.flatMap((k, i) => (ids[i] ? [[k, String(ids[i])] as [string, string]] : [])),
              );
            },
          }
        : {}),
      deliveries: createRedisDeliveryStorage(client),
      audit: createRedisAuditStorage(client),
      description: redactUrl(store.url),
      guarantee: guarantees[mode === 'sync' ? 'sync' : redisDurability],
      close: async () => {
        await closeIntake(intake);
        await client.close();
      },
    };
    return withHealth(backend, inboxCheck);
  } catch (error) {
    client.destroy();
    throw error;
  }
}

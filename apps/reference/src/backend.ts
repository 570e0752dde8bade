import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  createMemoryStore,
  type IdempotencyStore,
  type TransactionalIdempotencyStore,
} from '@c2p/core';
import { createSqliteStore } from '@c2p/store-sqlite';
import Database from 'better-sqlite3';
import pg from 'pg';
import { ConfigError, redactUrl, type StoreConfig } from './config.js';
import { createMemoryDeliveryStorage, type DeliveryLogStorage } from './delivery-log.js';
import {
  createPostgresDeliveryStorage,
  createRedisDeliveryStorage,
  createSqliteDeliveryStorage,
  migratePostgresDeliveryStorage,
} from './delivery-log-stores.js';
import {
  createMemoryOrderBook,
  createPostgresOrderBook,
  createRedisOrderBook,
  createSqliteOrderBook,
  migratePostgresOrderBook,
  type OrderBook,
} from './order-book.js';
import { withTimeout } from './with-timeout.js';

/** The store and the order book, opened together because they may share a database. */
export interface Backend {
  kind: StoreConfig['kind'];
  /** Transactional for SQLite and PostgreSQL: handlers then get its transaction. */
  store: IdempotencyStore | TransactionalIdempotencyStore<unknown>;
  orders: OrderBook;
  /** Where the delivery log is kept: the same database, so it survives restarts. */
  deliveries: DeliveryLogStorage;
  /** For the start-up banner: where state lives, without secrets. */
  description: string;
  /** What holds when a delivery is processed, for the banner and README. */
  guarantee: string;
  /** Throws when the store or the order book does not answer. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the configured store and its order book. A store that cannot be
 * reached stops start-up with a {@link ConfigError} naming `C2P_STORE`.
 */
export async function openBackend(config: StoreConfig): Promise<Backend> {
  try {
    return await open(config);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const where =
      config.kind === 'memory'
        ? 'memory'
        : config.kind === 'sqlite'
          ? `sqlite:${config.path}`
          : redactUrl(config.url);
    throw new ConfigError(`C2P_STORE: cannot open "${where}" (${describe(error)})`);
  }
}

async function open(config: StoreConfig): Promise<Backend> {
  switch (config.kind) {
    case 'memory':
      return withHealth({
        kind: 'memory',
        store: createMemoryStore(),
        orders: createMemoryOrderBook(),
        deliveries: createMemoryDeliveryStorage(),
        description: 'memory (lost at restart)',
        guarantee: 'exactly once while the process lives; nothing survives a restart',
        close: async () => {},
      });
    case 'sqlite': {
      const path = resolve(config.path);
      mkdirSync(dirname(path), { recursive: true });
      const writer = new Database(path);
      const store = createSqliteStore({ database: writer });
      const orders = createSqliteOrderBook(writer, new Database(path, { readonly: true }));
      const deliveries = createSqliteDeliveryStorage(path);
      return withHealth({
        kind: 'sqlite',
        store,
        orders,
        deliveries,
        description: `sqlite:${path}`,
        guarantee:
          'exactly once: the fulfilment and the completed key commit in one SQLite transaction',
        close: async () => {
          await store.close();
          await orders.close();
          writer.close();
        },
      });
    }
    case 'postgres': {
      const { createPostgresStore } = await import('@c2p/store-postgres');
      const pool = new pg.Pool({
        connectionString: config.url,
        max: 10,
        connectionTimeoutMillis: 5_000,
      });
      // An idle client's error (the server restarted) must not crash the process.
      pool.on('error', () => undefined);
      try {
        const store = createPostgresStore({ connection: pool });
        await store.migrate();
        await migratePostgresOrderBook(pool);
        await migratePostgresDeliveryStorage(pool);
        const orders = createPostgresOrderBook(pool);
        return withHealth({
          kind: 'postgres',
          store,
          orders,
          deliveries: createPostgresDeliveryStorage(pool),
          description: redactUrl(config.url),
          guarantee:
            'exactly once across instances: the fulfilment and the completed key commit in one PostgreSQL transaction',
          close: async () => {
            await store.close();
            await orders.close();
          },
        });
      } catch (error) {
        await pool.end().catch(() => undefined);
        throw error;
      }
    }
    case 'redis': {
      const { createRedisStore } = await import('@c2p/store-redis');
      const { createClient } = await import('redis');
      const client = createClient({
        url: config.url,
        socket: {
          connectTimeout: 5_000,
          reconnectStrategy: (retries) => Math.min(retries * 100, 2_000),
        },
      });
      // A lost connection is retried; operations meanwhile fail with STORE_UNAVAILABLE (503).
      client.on('error', () => undefined);
      try {
        await withTimeout(client.connect(), 5_000, 'no answer within 5 s');
        const store = createRedisStore({ client });
        await store.migrate();
        const orders = createRedisOrderBook(client);
        return withHealth({
          kind: 'redis',
          store,
          orders,
          deliveries: createRedisDeliveryStorage(client),
          description: redactUrl(config.url),
          guarantee:
            'at least once into the order book, made exactly once by its conditional transition (no shared transaction)',
          close: async () => {
            await store.close();
            await client.close();
          },
        });
      } catch (error) {
        client.destroy();
        throw error;
      }
    }
  }
}

/** Adds the health check: a claim and release of a throwaway key, and a read of the order book. */
function withHealth(backend: Omit<Backend, 'check'>): Backend {
  return {
    ...backend,
    async check() {
      const key = `c2p-reference:health:${randomUUID()}`;
      const claim = await backend.store.claim(key, 5_000);
      if (claim.status === 'acquired') await backend.store.release(key, claim.token);
      await backend.orders.ping();
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? error.cause : undefined;
    const code =
      (cause as NodeJS.ErrnoException | undefined)?.code ?? (error as NodeJS.ErrnoException).code;
    const message = (cause ?? error).message.split('\n')[0] ?? '';
    return code && !message.includes(code) ? `${code}: ${message}` : message || String(code);
  }
  return String(error);
}

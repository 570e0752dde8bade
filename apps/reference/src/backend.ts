import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  createMemoryInbox,
  createMemoryStore,
  type IdempotencyStore,
  type InboxStore,
  type TransactionalIdempotencyStore,
  type TransactionalInboxStore,
} from '@c2p/core';
import { createSqliteInbox, createSqliteStore } from '@c2p/store-sqlite';
import Database from 'better-sqlite3';
import pg from 'pg';
import { type Config, ConfigError, redactUrl, type StoreConfig } from './config.js';
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

/** An inbox; transactional for SQLite and PostgreSQL, whose handlers then get its transaction. */
export type AppInbox = InboxStore | TransactionalInboxStore<unknown>;

/** A sync-mode store; transactional for SQLite and PostgreSQL, whose handlers then get its transaction. */
export type SyncStore = IdempotencyStore | TransactionalIdempotencyStore<unknown>;

/** What the pipelines run on: a store (sync mode) or an inbox (inbox mode). */
export type Intake = { mode: 'sync'; store: SyncStore } | { mode: 'inbox'; inbox: AppInbox };

/**
 * The store or inbox and the order book, opened together because they share a
 * database. The app's own tables (orders, deliveries, and the inbox) are named
 * `reference_*` (`c2p-reference:` in Redis), so they never meet another
 * program's c2p tables in a shared database.
 */
export interface Backend {
  kind: StoreConfig['kind'];
  intake: Intake;
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

/** What {@link openBackend} reads from the configuration. */
export type BackendConfig = Pick<Config, 'store' | 'mode' | 'redisDurability'>;

/** The app's inbox table (SQLite, PostgreSQL) and key prefix (Redis). */
export const inboxTable = 'reference_inbox';
export const redisInboxPrefix = 'c2p-reference:inbox:';

/**
 * Opens the configured store (sync mode) or inbox (inbox mode) and its order
 * book. A store that cannot be reached stops start-up with a
 * {@link ConfigError} naming `C2P_STORE`.
 */
export async function openBackend(settings: BackendConfig): Promise<Backend> {
  const config = settings.store;
  try {
    return await open(settings);
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

async function open({ store: config, mode, redisDurability }: BackendConfig): Promise<Backend> {
  const inboxMode = mode === 'inbox';
  switch (config.kind) {
    case 'memory': {
      const intake: Intake = inboxMode
        ? { mode, inbox: createMemoryInbox() }
        : { mode: 'sync', store: createMemoryStore() };
      return withHealth({
        kind: 'memory',
        intake,
        orders: createMemoryOrderBook(),
        deliveries: createMemoryDeliveryStorage(),
        description: 'memory (lost at restart)',
        guarantee: inboxMode
          ? "a 2xx means the events are in this process's memory: a restart loses those not yet processed"
          : 'a 2xx means the handlers ran, exactly once while the process lives; nothing survives a restart',
        close: async () => {},
      });
    }
    case 'sqlite': {
      const path = resolve(config.path);
      mkdirSync(dirname(path), { recursive: true });
      const writer = new Database(path);
      // The book creates its table on `writer`; its writes go through the store's or inbox's transaction.
      const orders = createSqliteOrderBook(writer, new Database(path, { readonly: true }));
      const intake: Intake = inboxMode
        ? { mode, inbox: createSqliteInbox({ database: writer, table: inboxTable }) }
        : { mode: 'sync', store: createSqliteStore({ database: writer }) };
      const deliveries = createSqliteDeliveryStorage(path);
      return withHealth({
        kind: 'sqlite',
        intake,
        orders,
        deliveries,
        description: `sqlite:${path}`,
        guarantee: inboxMode
          ? "a 2xx means the events are committed to the SQLite inbox (fsynced); the fulfilment commits once, with the event's processed state"
          : 'a 2xx means the handlers ran: exactly once, the fulfilment and the completed key commit in one SQLite transaction',
        close: async () => {
          await closeIntake(intake);
          await orders.close();
          writer.close();
        },
      });
    }
    case 'postgres': {
      const { createPostgresStore, createPostgresInbox } = await import('@c2p/store-postgres');
      const pool = new pg.Pool({
        connectionString: config.url,
        max: 10,
        connectionTimeoutMillis: 5_000,
      });
      // An idle client's error (the server restarted) must not crash the process.
      pool.on('error', () => undefined);
      let intake: Intake | undefined;
      try {
        if (inboxMode) {
          // Its own two pools: ingestion never waits for a connection a handler holds.
          // The worker runs 4 events at once (core's default): 4 connections, plus
          // 2 for leases and renewals, as the store's README advises.
          const inbox = createPostgresInbox({
            connection: config.url,
            table: inboxTable,
            workerMax: 6,
            connectionTimeoutMs: 5_000,
          });
          intake = { mode, inbox };
          await inbox.migrate();
        } else {
          const store = createPostgresStore({ connection: pool });
          intake = { mode: 'sync', store };
          await store.migrate();
        }
        await migratePostgresOrderBook(pool);
        await migratePostgresDeliveryStorage(pool);
        const orders = createPostgresOrderBook(pool);
        const opened = intake;
        return withHealth({
          kind: 'postgres',
          intake: opened,
          orders,
          deliveries: createPostgresDeliveryStorage(pool),
          description: redactUrl(config.url),
          guarantee: inboxMode
            ? "a 2xx means the events are committed to the PostgreSQL inbox; the fulfilment commits once, with the event's processed state, across instances"
            : 'a 2xx means the handlers ran: exactly once across instances, the fulfilment and the completed key commit in one PostgreSQL transaction',
          close: async () => {
            await closeIntake(opened);
            await orders.close();
          },
        });
      } catch (error) {
        if (intake) await closeIntake(intake).catch(() => undefined);
        await pool.end().catch(() => undefined);
        throw error;
      }
    }
    case 'redis': {
      const { createRedisStore, createRedisInbox } = await import('@c2p/store-redis');
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
        let intake: Intake;
        let inboxCheck: (() => Promise<void>) | undefined;
        if (inboxMode) {
          const inbox = createRedisInbox({
            client,
            keyPrefix: redisInboxPrefix,
            durability: redisDurability,
          });
          if (redisDurability === 'verify') {
            await verifyRedis(inbox, config.url);
            // Settings can change under a running server: /healthz says so.
            inboxCheck = () => inbox.verifyDurability();
          }
          intake = { mode, inbox };
        } else {
          const store = createRedisStore({ client });
          await store.migrate();
          intake = { mode: 'sync', store };
        }
        const orders = createRedisOrderBook(client);
        return withHealth(
          {
            kind: 'redis',
            intake,
            orders,
            deliveries: createRedisDeliveryStorage(client),
            description: redactUrl(config.url),
            guarantee: inboxMode
              ? redisDurability === 'verify'
                ? 'a 2xx means the events are in Redis and on disk (appendfsync always, checked); handlers run at least once, made exactly once by the order book'
                : "a 2xx means the events are in Redis; on disk only as far as the server's own persistence (C2P_REDIS_DURABILITY=trust, not checked); handlers run at least once, made exactly once by the order book"
              : 'a 2xx means the handlers ran: at least once into the order book, made exactly once by its conditional transition (no shared transaction)',
            close: async () => {
              await closeIntake(intake);
              await client.close();
            },
          },
          inboxCheck,
        );
      } catch (error) {
        client.destroy();
        throw error;
      }
    }
  }
}

/**
 * With `C2P_REDIS_DURABILITY=verify` a Redis that could lose an acknowledged
 * delivery (no `appendonly`, `appendfsync` other than `always`, an eviction
 * policy) stops start-up: the inbox would refuse every delivery with 503 anyway.
 */
async function verifyRedis(
  inbox: { verifyDurability(): Promise<void> },
  url: string,
): Promise<void> {
  try {
    await inbox.verifyDurability();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const settings = /\(([^)]*needs[^)]*)\)/.exec(message)?.[1];
    throw new ConfigError(
      settings
        ? `C2P_REDIS_DURABILITY: "${redactUrl(url)}" could lose acknowledged deliveries (${settings}); fix the server, or set C2P_REDIS_DURABILITY=trust to accept that, or C2P_MODE=sync`
        : `C2P_REDIS_DURABILITY: cannot check "${redactUrl(url)}"'s persistence (CONFIG GET failed); set C2P_REDIS_DURABILITY=trust once you have checked appendonly yes, appendfsync always and maxmemory-policy noeviction`,
    );
  }
}

async function closeIntake(intake: Intake): Promise<void> {
  const closable = (intake.mode === 'sync' ? intake.store : intake.inbox) as {
    close?: () => Promise<void>;
  };
  await closable.close?.();
}

/**
 * Adds the health check. Sync mode: a claim and release of a throwaway key.
 * Inbox mode: a read of the inbox (and, on Redis with `verify`, its durability
 * settings). Both: a read of the order book.
 */
function withHealth(backend: Omit<Backend, 'check'>, inboxCheck?: () => Promise<void>): Backend {
  return {
    ...backend,
    async check() {
      const { intake } = backend;
      if (intake.mode === 'sync') {
        const key = `c2p-reference:health:${randomUUID()}`;
        const claim = await intake.store.claim(key, 5_000);
        if (claim.status === 'acquired') await intake.store.release(key, claim.token);
      } else {
        await intake.inbox.list({ state: 'pending', limit: 1 });
        await inboxCheck?.();
      }
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

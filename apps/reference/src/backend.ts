import type {
  IdempotencyStore,
  InboxStore,
  TransactionalIdempotencyStore,
  TransactionalInboxStore,
} from '@c2p/core';
import { createAcceptingInbox, type InboxIdLookup } from './accepting-inbox.js';
import type { AuditStorage } from './audit/audit-log.js';
import { openMemoryBackend } from './backends/memory-backend.js';
import { openPostgresBackend } from './backends/postgres-backend.js';
import { openRedisBackend } from './backends/redis-backend.js';
import { openSqliteBackend } from './backends/sqlite-backend.js';
import { type Config, ConfigError, redactUrl, type StoreConfig } from './config.js';
import type { DeliveryLogStorage } from './delivery-log.js';
import type { OrderBook } from './order-book.js';

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
  /** Where the admin's audit is kept: the same database. */
  audit: AuditStorage;
  /** For the start-up banner: where state lives, without secrets. */
  description: string;
  /** What holds when a delivery is processed, for the banner and README. */
  guarantee: string;
  /** Inbox mode: the ids of stored inbox events by key, where the backend can read them. */
  inboxIds?: InboxIdLookup;
  /** Throws when the store or the order book does not answer. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** What {@link openBackend} reads from the configuration. */
export type BackendConfig = Pick<
  Config,
  'store' | 'mode' | 'redisDurability' | 'worker' | 'inboxRetainMs'
>;

/** The app's inbox table (SQLite, PostgreSQL) and key prefix (Redis). */
export const inboxTable = 'reference_inbox';
export const redisInboxPrefix = 'c2p-reference:inbox:';

/** One module per backend, each behind this one interface. */
export type OpenBackend = (settings: BackendConfig) => Promise<Backend>;

const openers: Record<StoreConfig['kind'], OpenBackend> = {
  memory: openMemoryBackend,
  sqlite: openSqliteBackend,
  postgres: openPostgresBackend,
  redis: openRedisBackend,
};

/** What {@link openBackend} reports while running. */
export interface BackendHooks {
  /** The order book could not record accepted events (they are stored all the same). */
  onOrderError?(error: unknown): void;
}

/**
 * Opens the configured store (sync mode) or inbox (inbox mode) and its order
 * book. In inbox mode the inbox records each accepted event on its order
 * (`accepting-inbox.ts`). A store that cannot be reached stops start-up with a
 * {@link ConfigError} naming `C2P_STORE`.
 */
export async function openBackend(
  settings: BackendConfig,
  hooks: BackendHooks = {},
): Promise<Backend> {
  const config = settings.store;
  try {
    const backend = await openers[config.kind](settings);
    if (backend.intake.mode === 'sync') return backend;
    const inbox = createAcceptingInbox(backend.intake.inbox, {
      orders: backend.orders,
      inboxIds: backend.inboxIds,
      onError: (error) => hooks.onOrderError?.(error),
    });
    return { ...backend, intake: { mode: 'inbox', inbox } };
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

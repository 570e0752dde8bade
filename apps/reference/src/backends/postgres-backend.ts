import { inboxColumns } from '@c2p/core/kit';
import pg from 'pg';
import { createPostgresAuditStorage, migratePostgresAuditStorage } from '../audit/audit-stores.js';
import { type Backend, type BackendConfig, type Intake, inboxTable } from '../backend.js';
import { redactUrl } from '../config.js';
import {
  createPostgresDeliveryStorage,
  migratePostgresDeliveryStorage,
} from '../delivery-log-stores.js';
import {
  createPostgresOrderBook,
  migratePostgresOrderBook,
} from '../order-books/postgres-order-book.js';
import { closeIntake, withHealth } from './backend-health.js';

async function openIntake(
  url: string,
  pool: pg.Pool,
  { mode, worker, inboxRetainMs }: BackendConfig,
): Promise<Intake> {
  const { createPostgresStore, createPostgresInbox } = await import('@c2p/store-postgres');
  if (mode === 'sync') {
    const store = createPostgresStore({ connection: pool });
    await store.migrate();
    return { mode, store };
  }
  // Its own two pools: ingestion never waits for a connection a handler holds.
  // One connection per event the worker runs at once (C2P_WORKER_CONCURRENCY),
  // plus 2 for leases and renewals, as the store's README advises.
  const inbox = createPostgresInbox({
    connection: url,
    table: inboxTable,
    workerMax: worker.concurrency + 2,
    connectionTimeoutMs: 5_000,
    retainMs: inboxRetainMs,
  });
  try {
    await inbox.migrate();
  } catch (error) {
    await inbox.close().catch(() => undefined);
    throw error;
  }
  return { mode, inbox };
}

/** PostgreSQL's deadlock (40P01) or lock-not-available (55P03), found along an error's causes. */
function isDeadlock(error: unknown): boolean {
  for (let cause = error, depth = 0; cause && depth < 5; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (code === '40P01' || code === '55P03') return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

/** `C2P_STORE=postgres://...`: shared by every instance; the app's tables are `reference_*`. */
export async function openPostgresBackend(settings: BackendConfig): Promise<Backend> {
  const { store, mode } = settings;
  if (store.kind !== 'postgres') throw new TypeError(`not a postgres store: ${store.kind}`);
  const pool = new pg.Pool({
    connectionString: store.url,
    max: 10,
    connectionTimeoutMillis: 5_000,
  });
  // An idle client's error (the server restarted) must not crash the process.
  pool.on('error', () => undefined);
  let intake: Intake | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      intake = await openIntake(store.url, pool, settings);
      await migratePostgresOrderBook(pool);
      await migratePostgresDeliveryStorage(pool);
      await migratePostgresAuditStorage(pool);
      break;
    } catch (error) {
      if (intake) await closeIntake(intake).catch(() => undefined);
      intake = undefined;
      // The migrations are idempotent, and a process starting beside running ones
      // (a listener beside its workers) can meet their transactions in a deadlock:
      // PostgreSQL cancels one side, and trying again a moment later succeeds.
      if (isDeadlock(error) && attempt < 5) {
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        continue;
      }
      await pool.end().catch(() => undefined);
      throw error;
    }
  }
  const opened = intake;
  const orders = createPostgresOrderBook(pool);
  return withHealth({
    kind: 'postgres',
    intake: opened,
    orders,
    deliveries: createPostgresDeliveryStorage(pool),
    ...(mode === 'inbox'
      ? {
          inboxIds: async (keys: readonly string[]) => {
            const { id, key } = inboxColumns;
            const { rows } = await pool.query<{ id: string; key: string }>(
              `SELECT ${id}::text AS id, ${key} AS key FROM ${inboxTable} WHERE ${key} = ANY($1)`,
              [keys],
            );
            return new Map(rows.map((row) => [row.key, row.id]));
          },
        }
      : {}),
    audit: createPostgresAuditStorage(pool),
    description: redactUrl(store.url),
    guarantee:
      mode === 'inbox'
        ? "a 2xx means the events are committed to the PostgreSQL inbox; the fulfilment commits once, with the event's processed state, across instances"
        : 'a 2xx means the handlers ran: exactly once across instances, the fulfilment and the completed key commit in one PostgreSQL transaction',
    close: async () => {
      await closeIntake(opened);
      await orders.close();
    },
  });
}

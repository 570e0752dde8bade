import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { inboxColumns } from '@c2p/core/kit';
import { createSqliteInbox, createSqliteStore } from '@c2p/store-sqlite';
import Database from 'better-sqlite3';
import type { InboxIdLookup } from '../accepting-inbox.js';
import { createSqliteAuditStorage } from '../audit/audit-stores.js';
import { type Backend, type BackendConfig, type Intake, inboxTable } from '../backend.js';
import { createSqliteDeliveryStorage } from '../delivery-log-stores.js';
import { createSqliteOrderBook } from '../order-books/sqlite-order-book.js';
import { closeIntake, withHealth } from './backend-health.js';

/** `C2P_STORE=sqlite:<path>`: one file, the folder created if missing. */
export async function openSqliteBackend({
  store,
  mode,
  inboxRetainMs,
}: BackendConfig): Promise<Backend> {
  if (store.kind !== 'sqlite') throw new TypeError(`not a sqlite store: ${store.kind}`);
  const path = resolve(store.path);
  mkdirSync(dirname(path), { recursive: true });
  const writer = new Database(path);
  // The book creates its table on `writer`; its writes go through the store's or inbox's transaction.
  const reader = new Database(path, { readonly: true });
  const orders = createSqliteOrderBook(writer, reader);
  const inbox =
    mode === 'inbox'
      ? createSqliteInbox({ database: writer, table: inboxTable, retainMs: inboxRetainMs })
      : undefined;
  const intake: Intake = inbox
    ? { mode: 'inbox', inbox }
    : { mode: 'sync', store: createSqliteStore({ database: writer }) };
  // Reads keep working on a full disk while every delivery fails: /healthz commits
  // a write through the inbox's queue (sync mode's claim and release already write).
  const writable = inbox && ((): Promise<void> => inbox.checkWritable());
  return withHealth(
    {
      kind: 'sqlite',
      intake,
      orders,
      deliveries: createSqliteDeliveryStorage(path),
      ...(mode === 'inbox' ? { inboxIds: sqliteInboxIds(reader) } : {}),
      audit: createSqliteAuditStorage(path),
      description: `sqlite:${path}`,
      guarantee:
        mode === 'inbox'
          ? "a 2xx means the events are committed to the SQLite inbox (fsynced); the fulfilment commits once, with the event's processed state"
          : 'a 2xx means the handlers ran: exactly once, the fulfilment and the completed key commit in one SQLite transaction',
      close: async () => {
        await closeIntake(intake);
        await orders.close();
        writer.close();
      },
    },
    writable,
  );
}

/** The inbox ids of stored keys, read from the inbox's table (its columns are core's `inboxColumns`). */
function sqliteInboxIds(reader: Database.Database): InboxIdLookup {
  const { id, key } = inboxColumns;
  let select: Database.Statement<[string], { id: number | string }> | undefined;
  return async (keys) => {
    // Prepared at first use: the inbox creates its table after the order book.
    select ??= reader.prepare(`SELECT ${id} AS id FROM ${inboxTable} WHERE ${key} = ?`);
    const found = new Map<string, string>();
    for (const k of keys) {
      const row = select.get(k);
      if (row) found.set(k, String(row.id));
    }
    return found;
  };
}

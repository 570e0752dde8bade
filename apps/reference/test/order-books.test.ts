/**
 * Every order book (memory, SQLite, PostgreSQL, Redis), one table of cases: an
 * event the book already recorded must succeed and change nothing. The store's
 * deduplication forgets a key after its retention, so a late redelivery reaches
 * the book again; a book that refused it would fail that event forever.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Order, OrderEvent } from '../src/order.js';
import {
  createMemoryOrderBook,
  createPostgresOrderBook,
  createRedisOrderBook,
  createSqliteOrderBook,
  migratePostgresOrderBook,
  type OrderBook,
} from '../src/order-book.js';
import { createDatabase, serviceUrl, tempDir } from './support/reference.js';

/** A book, and how to run one write the way the store's transaction does. */
interface Subject {
  book: OrderBook;
  apply(event: OrderEvent): Promise<Order | undefined>;
  close(): Promise<void>;
}

async function sqliteSubject(): Promise<Subject> {
  const dir = tempDir();
  const writer = new Database(`${dir.path}/orders.db`);
  writer.pragma('journal_mode = WAL');
  const book = createSqliteOrderBook(writer, new Database(`${dir.path}/orders.db`));
  return {
    book,
    // As the SQLite store hands it: `{ db }`, inside one write transaction.
    apply: async (event) => {
      writer.exec('BEGIN IMMEDIATE');
      try {
        const order = await book.apply(event, { db: writer });
        writer.exec('COMMIT');
        return order;
      } catch (error) {
        writer.exec('ROLLBACK');
        throw error;
      }
    },
    close: async () => {
      await book.close();
      writer.close();
      dir.remove();
    },
  };
}

async function postgresSubject(): Promise<Subject> {
  const database = await createDatabase();
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  await migratePostgresOrderBook(pool);
  const book = createPostgresOrderBook(pool);
  return {
    book,
    apply: async (event) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const order = await book.apply(event, client);
        await client.query('COMMIT');
        return order;
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    },
    close: async () => {
      await book.close();
      await database.drop();
    },
  };
}

async function redisSubject(): Promise<Subject> {
  const client = createClient({ url: serviceUrl('C2P_TEST_REDIS_URL') });
  await client.connect();
  const book = createRedisOrderBook(client, `c2p-order-books-${crypto.randomUUID()}`);
  return {
    book,
    apply: (event) => book.apply(event, undefined),
    close: async () => {
      await book.close();
      await client.quit();
    },
  };
}

async function memorySubject(): Promise<Subject> {
  const book = createMemoryOrderBook();
  return { book, apply: (event) => book.apply(event, undefined), close: () => book.close() };
}

const event = (
  orderId: string,
  key: string,
  target: OrderEvent['target'],
  eventType = 'PAYMENT-COMPLETED',
): OrderEvent => ({
  key,
  orderId,
  eventType,
  kind: 'payment-request',
  status: target === 'paid' ? 'PAID' : null,
  amount: 12.5,
  merchantTransactionId: 'INV-1',
  target,
});

/** The cases: events applied first, then the one applied again, which must change nothing. */
const cases: Array<{ name: string; before: string[]; again: string }> = [
  { name: 'the paid event that fulfilled the order', before: ['paid'], again: 'paid' },
  { name: 'a paid event after a later refund', before: ['paid', 'refund'], again: 'paid' },
  { name: 'a refund', before: ['paid', 'refund'], again: 'refund' },
  { name: 'a link followed before the payment', before: ['link', 'paid'], again: 'link' },
  { name: 'a failure, the only event', before: ['failed'], again: 'failed' },
  { name: 'an event that moved nothing', before: ['paid', 'unknown'], again: 'unknown' },
];

const make = (orderId: string, name: string): OrderEvent => {
  const key = `payment-request:${orderId}:${name}`;
  switch (name) {
    case 'paid':
      return event(orderId, key, 'paid');
    case 'refund':
      return event(orderId, key, 'refunded');
    case 'link':
      return event(orderId, key, 'link-followed', 'PAYMENT-LINK-FOLLOWED');
    case 'failed':
      return event(orderId, key, 'failed', 'PAYMENT-FAILED');
    default:
      return event(orderId, key, undefined, 'PAYMENT-REVERSED');
  }
};

describe.each([
  ['memory', memorySubject],
  ['SQLite', sqliteSubject],
  ['PostgreSQL', postgresSubject],
  ['Redis', redisSubject],
] as const)('the %s order book given an event it already recorded', (_name, open) => {
  let subject: Subject;
  beforeAll(async () => {
    subject = await open();
  });
  afterAll(async () => {
    await subject?.close();
  });

  it.each(cases)('succeeds and changes nothing: $name', async ({ before, again }) => {
    const orderId = crypto.randomUUID();
    for (const name of before) expect(await subject.apply(make(orderId, name))).toBeDefined();
    const recorded = await subject.book.get(orderId);
    expect(recorded?.events.map((e) => e.key)).toEqual(before.map((n) => make(orderId, n).key));
    // Again, twice: answered as unchanged, and the stored order is exactly as it was.
    expect(await subject.apply(make(orderId, again))).toBeUndefined();
    expect(await subject.apply(make(orderId, again))).toBeUndefined();
    expect(await subject.book.get(orderId)).toEqual(recorded);
    expect((await subject.book.get(orderId))?.fulfilments).toBe(before.includes('paid') ? 1 : 0);
  });
});

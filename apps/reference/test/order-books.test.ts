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
import type { AcceptedOrderEvent, Order, OrderEvent } from '../src/order.js';
import type { OrderBook, OrderPage } from '../src/order-book.js';
import { createMemoryOrderBook } from '../src/order-books/memory-order-book.js';
import {
  createPostgresOrderBook,
  migratePostgresOrderBook,
} from '../src/order-books/postgres-order-book.js';
import { createRedisOrderBook } from '../src/order-books/redis-order-book.js';
import { createSqliteOrderBook } from '../src/order-books/sqlite-order-book.js';
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

const accepted = (orderId: string, name: string, inboxId: string | null): AcceptedOrderEvent => ({
  ...make(orderId, name),
  merchantTransactionId: `REF-${orderId}`,
  inboxId,
});

/** Every page of a listing, following `next`, with a bound on the pages. */
async function allPages(
  read: (after: OrderPage['next']) => Promise<OrderPage>,
): Promise<Order[][]> {
  const pages: Order[][] = [];
  let after: OrderPage['next'] = null;
  for (let i = 0; i < 100; i++) {
    const page = await read(after);
    pages.push(page.orders);
    if (page.next === null) return pages;
    after = page.next;
  }
  throw new Error('more than 100 pages');
}

describe.each([
  ['memory', memorySubject],
  ['SQLite', sqliteSubject],
  ['PostgreSQL', postgresSubject],
  ['Redis', redisSubject],
] as const)('the %s order book before and beside the handlers', (_name, open) => {
  let subject: Subject;
  beforeAll(async () => {
    subject = await open();
  });
  afterAll(async () => {
    await subject?.close();
  });

  it('records an accepted PAID event as a pending fulfilment, then retrying, dead, and done once handled', async () => {
    const id = crypto.randomUUID();
    await subject.book.accept([accepted(id, 'paid', '41')]);
    const pending = await subject.book.get(id);
    expect(pending).toMatchObject({
      id,
      state: 'new',
      fulfilments: 0,
      amount: 12.5,
      merchantTransactionId: `REF-${id}`,
      fulfilment: 'pending',
      inbox: ['41'],
    });
    const key = make(id, 'paid').key;
    const resourceKey = `payment-request:${id}`;
    await subject.book.noteAttempt({ id: '41', key, outcome: 'retrying', resourceKey });
    expect((await subject.book.get(id))?.fulfilment).toBe('retrying');
    await subject.book.noteAttempt({ id: '41', key, outcome: 'dead', resourceKey });
    expect((await subject.book.get(id))?.fulfilment).toBe('dead');
    // The same delivery accepted again (another listener) changes nothing.
    await subject.book.accept([accepted(id, 'paid', '41')]);
    expect((await subject.book.get(id))?.fulfilment).toBe('dead');
    await subject.apply(make(id, 'paid'));
    const done = await subject.book.get(id);
    expect(done).toMatchObject({ state: 'paid', fulfilments: 1, fulfilment: 'done' });
    // A late report of a failed attempt never undoes it.
    await subject.book.noteAttempt({ id: '41', key, outcome: 'dead', resourceKey });
    expect((await subject.book.get(id))?.fulfilment).toBe('done');
  });

  it('registers an expected payment once, lists it as unsettled until its settling event is accepted', async () => {
    const id = crypto.randomUUID();
    const order = await subject.book.register({
      paymentRequestId: id,
      amount: 20,
      merchantTransactionId: 'INV-9',
    });
    expect(order).toMatchObject({ id, state: 'awaiting-payment', amount: 20, unsettled: true });
    expect(await subject.book.register({ paymentRequestId: id })).toBeUndefined();
    const soon = new Date(Date.now() + 60_000);
    const unsettled = async () =>
      (
        await allPages((after) =>
          subject.book.listUnsettled({ changedBefore: soon, limit: 2, after: after ?? undefined }),
        )
      )
        .flat()
        .map((o) => o.id);
    expect(await unsettled()).toContain(id);
    // Registered after the threshold: not yet due.
    expect(
      (
        await subject.book.listUnsettled({
          changedBefore: new Date(Date.parse(order?.updatedAt ?? '') - 1),
          limit: 500,
        })
      ).orders.map((o) => o.id),
    ).not.toContain(id);
    await subject.book.accept([accepted(id, 'link', '7')]);
    expect(await unsettled()).toContain(id);
    await subject.book.accept([accepted(id, 'paid', '8')]);
    expect(await unsettled()).not.toContain(id);
    expect((await subject.book.get(id))?.state).toBe('awaiting-payment');
  });

  it('finds an order by payment request id or merchant reference, filters by state, pages without gaps', async () => {
    const ids: string[] = Array.from({ length: 25 }, () => crypto.randomUUID());
    for (const [i, id] of ids.entries()) {
      await subject.apply({
        ...make(id, i % 2 === 0 ? 'paid' : 'failed'),
        merchantTransactionId: `REF-${id}`,
      });
    }
    const target = ids[12] as string;
    for (const q of [target, `REF-${target}`]) {
      const found = await subject.book.list({ q, limit: 10 });
      expect(found.orders.map((o) => o.id)).toEqual([target]);
      expect(found.next).toBeNull();
    }
    // Newest change first (orders changed in the same millisecond: by id, descending).
    const stored = await Promise.all(ids.map((id) => subject.book.get(id)));
    const newestFirst = (orders: Array<Order | undefined>): string[] =>
      orders
        .flatMap((o) => (o ? [o] : []))
        .sort((a, b) =>
          a.updatedAt === b.updatedAt ? (a.id < b.id ? 1 : -1) : a.updatedAt < b.updatedAt ? 1 : -1,
        )
        .map((o) => o.id);
    const pages = await allPages((after) =>
      subject.book.list({ limit: 7, after: after ?? undefined }),
    );
    const listed = pages.flat().map((o) => o.id);
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed.filter((id) => ids.includes(id))).toEqual(newestFirst(stored));
    const failed = (
      await allPages((after) =>
        subject.book.list({ state: 'failed', limit: 5, after: after ?? undefined }),
      )
    )
      .flat()
      .filter((o) => ids.includes(o.id));
    expect(failed).toHaveLength(12);
    expect(failed.map((o) => o.id)).toEqual(
      newestFirst(stored.filter((o) => o?.state === 'failed')),
    );
  });
});

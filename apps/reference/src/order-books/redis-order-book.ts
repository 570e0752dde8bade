import type { createClient } from 'redis';
import { normalizeOrder, type Order } from '../order.js';
import {
  createOrderBook,
  type OrderBook,
  type OrderCursor,
  type OrderPage,
  type OrderQuery,
  type OrderStorage,
  pageOf,
  type UnsettledQuery,
} from '../order-book.js';
import { compareChange } from './memory-order-book.js';

type RedisClient = ReturnType<typeof createClient>;

/** The newest this many orders are listed; older ones stay readable by id and reference. */
const listed = 10_000;
/** How many index entries one listing reads at most before it answers with a cursor. */
const scanLimit = 5_000;
const batch = 200;

// KEYS: the order, the change index, the unsettled index, the reference's set.
// ARGV: the order as read, the new order, its change time in ms, its id,
// '1' when unsettled, '1' when it has a reference.
const casScript = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -${listed + 1})
if ARGV[5] == '1' then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4]) else redis.call('ZREM', KEYS[3], ARGV[4]) end
if ARGV[6] == '1' then redis.call('SADD', KEYS[4], ARGV[4]) end
return 1`;

const parse = (doc: string): Order => normalizeOrder(JSON.parse(doc) as Order);
const ms = (cursor: OrderCursor): number => Date.parse(cursor.updatedAt);

/** The Redis storage of the order book: one JSON value per order, two sorted indexes, a set per reference. */
class RedisOrderStorage implements OrderStorage {
  private readonly indexKey: string;
  private readonly unsettledKey: string;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
  ) {
    this.indexKey = `${prefix}:orders`;
    this.unsettledKey = `${prefix}:orders-unsettled`;
  }

  private orderKey = (id: string): string => `${this.prefix}:order:${id}`;
  private refKey = (ref: string): string => `${this.prefix}:order-ref:${ref}`;

  private async readMany(ids: string[]): Promise<Order[]> {
    if (ids.length === 0) return [];
    const docs = await this.client.mGet(ids.map(this.orderKey));
    return docs.flatMap((doc) => (doc ? [parse(doc)] : []));
  }

  update = async (
    id: string,
    change: (current: Order | undefined) => Order | undefined,
  ): Promise<Order | undefined> => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const before = await this.client.get(this.orderKey(id));
      const next = change(before ? parse(before) : undefined);
      if (!next) return undefined;
      const ref = next.merchantTransactionId;
      const swapped = await this.client.eval(casScript, {
        keys: [this.orderKey(id), this.indexKey, this.unsettledKey, this.refKey(ref ?? '')],
        arguments: [
          before ?? '',
          JSON.stringify(next),
          String(Date.parse(next.updatedAt)),
          id,
          next.unsettled ? '1' : '0',
          ref === null ? '0' : '1',
        ],
      });
      if (swapped === 1) return next;
    }
    throw new Error('the order changed 50 times while applying one event');
  };

  async updateEach(
    ids: readonly string[],
    change: (id: string, current: Order | undefined) => Order | undefined,
  ): Promise<void> {
    await Promise.all(ids.map((id) => this.update(id, (current) => change(id, current))));
  }

  async get(id: string): Promise<Order | undefined> {
    const doc = await this.client.get(this.orderKey(id));
    return doc ? parse(doc) : undefined;
  }

  async list(query: OrderQuery): Promise<OrderPage> {
    if (query.q !== undefined) return pageOf(await this.byReference(query.q, query), query.limit);
    const { rows, stoppedAt } = await this.walk(query);
    const page = pageOf(rows, query.limit);
    // The scan's bound reached before the page filled: resume where it stopped.
    return stoppedAt && page.next === null ? { ...page, next: stoppedAt } : page;
  }

  /** Orders whose id or reference is `q`: a direct read and a set, never a scan. */
  private async byReference(q: string, query: OrderQuery): Promise<Order[]> {
    const ids = new Set([q, ...(await this.client.sMembers(this.refKey(q)))]);
    const { after, state } = query;
    return (await this.readMany([...ids]))
      .filter(
        (o) =>
          (o.id === q || o.merchantTransactionId === q) &&
          (state === undefined || o.state === state) &&
          (!after || compareChange(o, after) < 0),
      )
      .sort((a, b) => compareChange(b, a));
  }

  /** Walks the change index from the cursor, newest first, keeping orders in the state asked for. */
  private async walk(query: OrderQuery): Promise<{ rows: Order[]; stoppedAt: OrderCursor | null }> {
    const rows: Order[] = [];
    let last: OrderCursor | null = null;
    const max = query.after ? ms(query.after) : '+inf';
    for (let offset = 0; offset < scanLimit; offset += batch) {
      const ids = await this.client.zRange(this.indexKey, max, '-inf', {
        BY: 'SCORE',
        REV: true,
        LIMIT: { offset, count: batch },
      });
      if (ids.length === 0) return { rows, stoppedAt: null };
      for (const order of await this.readMany(ids)) {
        if (query.after && compareChange(order, query.after) >= 0) continue;
        last = order;
        if (query.state === undefined || order.state === query.state) rows.push(order);
        if (rows.length > query.limit) return { rows, stoppedAt: null };
      }
    }
    return { rows, stoppedAt: last };
  }

  async unsettled({ changedBefore, limit, after }: UnsettledQuery): Promise<OrderPage> {
    const rows: Order[] = [];
    const min = after ? ms(after) : '-inf';
    for (let offset = 0; rows.length <= limit; offset += batch) {
      const ids = await this.client.zRange(this.unsettledKey, min, changedBefore.getTime(), {
        BY: 'SCORE',
        LIMIT: { offset, count: batch },
      });
      if (ids.length === 0) break;
      for (const order of await this.readMany(ids)) {
        if (order.unsettled && (!after || compareChange(order, after) > 0)) rows.push(order);
      }
    }
    return pageOf(rows.sort(compareChange), limit);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    // The client is the store's too: whoever opened it closes it.
  }
}

/**
 * The order book in Redis, shared by every instance. Redis has no transaction
 * spanning the store's completion, so delivery is at-least-once into the book
 * (a crash between the book's write and the completion means a retry reaches
 * it again) and the book makes that safe: each write is a compare-and-set of
 * the whole order, and the transition ignores an event it has seen.
 */
export function createRedisOrderBook(client: RedisClient, prefix = 'c2p-reference'): OrderBook {
  return createOrderBook(new RedisOrderStorage(client, prefix));
}

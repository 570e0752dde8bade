import Database from 'better-sqlite3';
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

const table = 'reference_orders';

/**
 * The connection a SQLite store's transaction writes through. The store hands
 * handlers `{ db }`, whose getter begins the write transaction on first use,
 * so everything a handler does before touching it (the fulfilment call) holds
 * no lock; older stores handed the connection itself.
 */
function sqliteConnection(tx: unknown): Database.Database | undefined {
  if (tx !== null && typeof tx === 'object') {
    if (typeof (tx as Database.Database).prepare === 'function') return tx as Database.Database;
    const db = (tx as { db?: unknown }).db;
    if (
      db !== null &&
      typeof db === 'object' &&
      typeof (db as Database.Database).prepare === 'function'
    ) {
      return db as Database.Database;
    }
  }
  return undefined;
}

interface Row {
  id: string;
  doc: string;
  updated_at: string;
  merchant_ref: string | null;
  state: string;
  unsettled: number;
}

interface SqliteStatements {
  select: Database.Statement<[string], { doc: string }>;
  upsert: Database.Statement<[Row]>;
}

// Prepared once per connection the store's transactions use.
const statements = new WeakMap<Database.Database, SqliteStatements>();

function prepared(db: Database.Database): SqliteStatements {
  let found = statements.get(db);
  if (!found) {
    found = {
      select: db.prepare<[string], { doc: string }>(`SELECT doc FROM ${table} WHERE id = ?`),
      upsert: db.prepare<[Row]>(
        `INSERT INTO ${table} (id, doc, updated_at, merchant_ref, state, unsettled)
         VALUES (@id, @doc, @updated_at, @merchant_ref, @state, @unsettled)
         ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at,
           merchant_ref = excluded.merchant_ref, state = excluded.state, unsettled = excluded.unsettled`,
      ),
    };
    statements.set(db, found);
  }
  return found;
}

const toRow = (order: Order): Row => ({
  id: order.id,
  doc: JSON.stringify(order),
  updated_at: order.updatedAt,
  merchant_ref: order.merchantTransactionId,
  state: order.state,
  unsettled: order.unsettled ? 1 : 0,
});

const parse = (doc: string): Order => normalizeOrder(JSON.parse(doc) as Order);

/** Creates the table, and adds the columns an older app's table lacks. */
function migrate(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
    id TEXT PRIMARY KEY NOT NULL,
    doc TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) WITHOUT ROWID;`);
  const have = new Set(
    db
      .prepare<[], { name: string }>(`PRAGMA table_info(${table})`)
      .all()
      .map((c) => c.name),
  );
  const added = {
    merchant_ref: 'TEXT',
    state: 'TEXT',
    unsettled: 'INTEGER NOT NULL DEFAULT 0',
  };
  for (const [column, type] of Object.entries(added)) {
    if (!have.has(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
  db.exec(`UPDATE ${table} SET state = json_extract(doc, '$.state') WHERE state IS NULL;
  CREATE INDEX IF NOT EXISTS ${table}_updated_at ON ${table} (updated_at, id);
  CREATE INDEX IF NOT EXISTS ${table}_merchant_ref ON ${table} (merchant_ref);
  CREATE INDEX IF NOT EXISTS ${table}_unsettled ON ${table} (unsettled, updated_at, id);`);
}

/** The WHERE clause and parameters of a listing. */
function listing(query: OrderQuery): { sql: string; params: Record<string, string | number> } {
  const where: string[] = [];
  const params: Record<string, string | number> = { limit: query.limit + 1 };
  if (query.q !== undefined) {
    where.push('(id = @q OR merchant_ref = @q)');
    params.q = query.q;
  }
  if (query.state !== undefined) {
    where.push('state = @state');
    params.state = query.state;
  }
  if (query.after) {
    where.push('(updated_at < @at OR (updated_at = @at AND id < @id))');
    params.at = query.after.updatedAt;
    params.id = query.after.id;
  }
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  return {
    sql: `SELECT doc FROM ${table} ${clause} ORDER BY updated_at DESC, id DESC LIMIT @limit`,
    params,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

const isBusy = (error: unknown): boolean =>
  typeof (error as { code?: unknown }).code === 'string' &&
  String((error as { code: string }).code).startsWith('SQLITE_BUSY');

/**
 * Runs `write` as one `BEGIN IMMEDIATE` transaction on the book's own
 * connection. It never waits synchronously for the lock (the store's
 * connection in this same process may hold it across an await): a busy
 * database is tried again every few ms, for up to `busyMs`.
 */
async function writeOwn<T>(db: Database.Database, write: () => T, busyMs = 10_000): Promise<T> {
  const transaction = db.transaction(write);
  const until = Date.now() + busyMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    try {
      return transaction.immediate();
    } catch (error) {
      if (!isBusy(error) || Date.now() > until) throw error;
      await sleep(wait);
    }
  }
}

type ListStatement = Database.Statement<[Record<string, string | number>], { doc: string }>;

/** The SQLite storage of the order book: writes through the store's transaction or its own connection, reads through a read-only one. */
class SqliteOrderStorage implements OrderStorage {
  private readonly own: Database.Database;
  private readonly readOne: Database.Statement<[string], { doc: string }>;
  private readonly readUnsettled: Database.Statement<
    [string, string, string, string, number],
    { doc: string }
  >;
  private readonly listings = new Map<string, ListStatement>();

  constructor(
    writer: Database.Database,
    private readonly reader: Database.Database,
  ) {
    migrate(writer);
    this.own = new Database(writer.name);
    this.own.pragma('busy_timeout = 0');
    this.own.pragma('synchronous = NORMAL');
    this.readOne = reader.prepare(`SELECT doc FROM ${table} WHERE id = ?`);
    this.readUnsettled = reader.prepare(
      `SELECT doc FROM ${table} WHERE unsettled = 1 AND updated_at <= ?
       AND (updated_at > ? OR (updated_at = ? AND id > ?)) ORDER BY updated_at, id LIMIT ?`,
    );
  }

  async update(
    id: string,
    fn: (current: Order | undefined) => Order | undefined,
    tx?: unknown,
  ): Promise<Order | undefined> {
    if (tx !== undefined) {
      const db = sqliteConnection(tx);
      if (!db) throw new Error('the SQLite order book must write inside the store transaction');
      return change(db, id, fn);
    }
    return writeOwn(this.own, () => change(this.own, id, fn));
  }

  async updateEach(
    ids: readonly string[],
    fn: (id: string, current: Order | undefined) => Order | undefined,
  ): Promise<void> {
    await writeOwn(this.own, () => {
      for (const id of ids) change(this.own, id, (current) => fn(id, current));
    });
  }

  async get(id: string): Promise<Order | undefined> {
    const row = this.readOne.get(id);
    return row ? parse(row.doc) : undefined;
  }

  async list(query: OrderQuery): Promise<OrderPage> {
    const { sql, params } = listing(query);
    let statement = this.listings.get(sql);
    if (!statement) {
      statement = this.reader.prepare(sql) as ListStatement;
      this.listings.set(sql, statement);
    }
    return pageOf(
      statement.all(params).map((row) => parse(row.doc)),
      query.limit,
    );
  }

  async unsettled({ changedBefore, limit, after }: UnsettledQuery): Promise<OrderPage> {
    const from: OrderCursor = after ?? { updatedAt: '', id: '' };
    const rows = this.readUnsettled.all(
      changedBefore.toISOString(),
      from.updatedAt,
      from.updatedAt,
      from.id,
      limit + 1,
    );
    return pageOf(
      rows.map((row) => parse(row.doc)),
      limit,
    );
  }

  async ping(): Promise<void> {
    this.reader.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.reader.close();
    this.own.close();
  }
}

/** Reads the order, changes it, writes it: on `db`, inside the transaction running there. */
function change(
  db: Database.Database,
  id: string,
  fn: (current: Order | undefined) => Order | undefined,
): Order | undefined {
  const { select, upsert } = prepared(db);
  const row = select.get(id);
  const next = fn(row ? parse(row.doc) : undefined);
  if (next) upsert.run(toRow(next));
  return next;
}

/**
 * The order book in the SQLite file the store uses. A handler's `apply` writes
 * through the store's transaction, so the fulfilment and the completed key
 * commit together; what the intake and the worker record apart from a handler
 * is written through the book's own connection. Reads use a read-only
 * connection and so see committed orders only.
 */
export function createSqliteOrderBook(
  writer: Database.Database,
  reader: Database.Database,
): OrderBook {
  return createOrderBook(new SqliteOrderStorage(writer, reader));
}

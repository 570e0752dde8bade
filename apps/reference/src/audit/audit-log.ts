/** One admin action or refused admin request, as `GET /api/audit` lists it. */
export interface AuditEntry {
  /** Increasing in the order entries were stored (per database); the cursor `after` names one. */
  seq: number;
  at: string;
  /** `replay`, `retry-now`, `resolve`, `pause`, ...; a refused or other request is `METHOD /path`. */
  action: string;
  /** What it acted on: `inbox:<id>` for an event, else the path. */
  target: string;
  /** `ok` (2xx), `refused` (401, 403, 421: the access rules) or `failed` (any other error). */
  outcome: 'ok' | 'refused' | 'failed';
  /** The HTTP status the admin answered. */
  status: number;
  /** The error code when it was not `ok`. */
  code: string | null;
  /** The socket peer (canonical form). */
  remoteAddress: string | null;
}

/** An entry before its storage numbers it. */
export type NewAuditEntry = Omit<AuditEntry, 'seq'>;

/** Where the audit is kept: the store's database. At most {@link auditCapacity} entries, the oldest dropped first. */
export interface AuditStorage {
  append(entry: NewAuditEntry): Promise<void>;
  /** Newest first: up to `limit` entries older than `after` (a `seq`), or the newest when `after` is undefined. */
  page(limit: number, after: number | undefined): Promise<AuditEntry[]>;
  close(): Promise<void>;
}

/** How many entries are kept: a flood of refused requests cannot fill the disk. */
export const auditCapacity = 10_000;

/** In this process only (`C2P_STORE=memory`). */
export function createMemoryAuditStorage(capacity = auditCapacity): AuditStorage {
  const entries: AuditEntry[] = [];
  let seq = 0;
  return {
    async append(entry) {
      seq += 1;
      entries.push({ seq, ...entry });
      if (entries.length > capacity) entries.splice(0, entries.length - capacity);
    },
    async page(limit, after) {
      const older = after === undefined ? entries : entries.filter((e) => e.seq < after);
      return older.slice(-limit).reverse();
    },
    async close() {},
  };
}

import { isIPv4, isIPv6 } from 'node:net';
import { type DeliveryReport, errorCodes } from '@c2p/core';
import type { AdapterName } from './config.js';

/**
 * How one delivery ended, as the admin page shows it: `processed` (sync mode:
 * its handlers ran), `accepted` (inbox mode: stored, its handlers run from the
 * inbox), `duplicate` (nothing new in it) or `rejected`.
 */
export type DeliveryOutcome = 'processed' | 'accepted' | 'duplicate' | 'rejected';

/** One delivery, as `GET /api/events` lists it. Never holds credentials or the body. */
export interface DeliveryEntry {
  /** Increasing, in the order deliveries were recorded (per database). */
  seq: number;
  at: string;
  listener: AdapterName;
  status: number;
  outcome: DeliveryOutcome;
  /** The error code when rejected (`IP_NOT_ALLOWED`, `UNAUTHORIZED`, `IN_PROGRESS`...). */
  code: string | null;
  /** The code's generic message, or `null` for a 200. */
  reason: string | null;
  /** The pipeline step that decided it. */
  step: string;
  /** Canonical (`127.0.0.1`, not `::ffff:127.0.0.1`), or as received when it does not parse. */
  clientIp: string | null;
  events: Array<{
    eventType: string;
    kind: string;
    resourceId: string;
    status: string | null;
    outcome: string;
  }>;
}

/** A delivery as recorded, before its storage numbers it. */
export type NewDeliveryEntry = Omit<DeliveryEntry, 'seq'>;

/** Where the log is kept: the store's database, so it survives restarts. */
export interface DeliveryLogStorage {
  /** Appends, oldest first, and keeps only the newest `capacity`. */
  append(entries: NewDeliveryEntry[]): Promise<void>;
  /** Newest first. */
  recent(limit: number): Promise<DeliveryEntry[]>;
  close(): Promise<void>;
}

/** The log the listeners write and the admin reads. */
export interface DeliveryLog {
  /** Records a delivery (written in the background, in order) and answers the entry, for the log line. */
  record(listener: AdapterName, report: DeliveryReport): NewDeliveryEntry;
  /** The newest `limit` deliveries, including every one recorded before the call. */
  recent(limit?: number): Promise<DeliveryEntry[]>;
  /** Writes what is still pending, then closes the storage. */
  close(): Promise<void>;
}

export interface DeliveryLogOptions {
  /** How many deliveries are kept. Defaults to 500. */
  capacity?: number;
  /** Called when a write fails; the entries are kept in memory and written with the next ones. */
  onError?: (error: unknown) => void;
}

/** A delivery that was answered 200 and neither processed nor stored an event is a pure duplicate. */
export function deliveryOutcome(report: DeliveryReport): DeliveryOutcome {
  if (report.status !== 200) return 'rejected';
  if (report.events.some((event) => event.outcome === 'processed')) return 'processed';
  return report.events.some((event) => event.outcome === 'accepted') ? 'accepted' : 'duplicate';
}

/**
 * `127.0.0.1` for the `::ffff:127.0.0.1` a dual-stack socket reports, IPv6 in its
 * short form (`::1`, `2001:db8::1`); what does not parse, as received.
 */
export function displayIp(address: string | undefined): string | null {
  if (address === undefined) return null;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  let short: string;
  try {
    // The WHATWG URL parser writes IPv6 in its canonical short, lower-case form.
    short = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(short);
  if (!mapped) return short;
  const high = Number.parseInt(mapped[1] as string, 16);
  const low = Number.parseInt(mapped[2] as string, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** The entry for one delivery: what was decided, never the body or credentials. */
export function toDeliveryEntry(listener: AdapterName, report: DeliveryReport): NewDeliveryEntry {
  return {
    at: new Date().toISOString(),
    listener,
    status: report.status,
    outcome: deliveryOutcome(report),
    code: report.code ?? null,
    reason: report.code ? errorCodes[report.code].message : null,
    step: report.step,
    clientIp: displayIp(report.clientIp),
    events: report.events.map((event) => ({
      eventType: event.eventType,
      kind: event.kind,
      resourceId: event.resourceId,
      status: event.status ?? null,
      outcome: event.outcome,
    })),
  };
}

/** The entries recorded and not yet written, oldest first. */
interface Queue {
  pending: NewDeliveryEntry[];
}

/**
 * Writes the queue in batches until it is empty: `false` when a write failed
 * (its batch is put back, at most `capacity` entries kept, for the next try).
 */
async function drain(
  queue: Queue,
  storage: DeliveryLogStorage,
  capacity: number,
  onError: ((error: unknown) => void) | undefined,
): Promise<boolean> {
  // Let the deliveries answered in the same turn join one batch.
  await new Promise((resolve) => setImmediate(resolve));
  while (queue.pending.length > 0) {
    const batch = queue.pending;
    queue.pending = [];
    try {
      await storage.append(batch);
    } catch (error) {
      queue.pending = [...batch, ...queue.pending].slice(-capacity);
      onError?.(error);
      return false;
    }
  }
  return true;
}

/**
 * The delivery log on a storage. Recording never waits for the database (a
 * delivery's answer does not depend on its log line): entries are written in
 * the background, in order, in batches; a read first waits for what was
 * recorded before it. Failed writes are retried with the next batch (at most
 * `capacity` entries wait).
 */
export function createDeliveryLog(
  storage: DeliveryLogStorage,
  options: DeliveryLogOptions = {},
): DeliveryLog {
  const capacity = options.capacity ?? 500;
  const queue: Queue = { pending: [] };
  let writing: Promise<void> | undefined;
  let retry: NodeJS.Timeout | undefined;

  const write = (): void => {
    if (writing) return;
    writing = drain(queue, storage, capacity, options.onError).then((written) => {
      writing = undefined;
      if (!written) {
        clearTimeout(retry);
        retry = setTimeout(write, 1_000).unref();
        // Recorded while the last batch was finishing.
      } else if (queue.pending.length > 0) write();
    });
  };

  /** Waits until everything recorded so far is written, or a write failed. */
  const settled = async (): Promise<void> => {
    if (queue.pending.length > 0) write();
    while (writing) await writing;
  };

  return {
    record(listener, report) {
      const entry = toDeliveryEntry(listener, report);
      queue.pending.push(entry);
      if (queue.pending.length > capacity) queue.pending.shift();
      write();
      return entry;
    },
    async recent(limit = capacity) {
      await settled();
      return storage.recent(Math.min(limit, capacity));
    },
    async close() {
      await settled();
      clearTimeout(retry);
      await storage.close();
    },
  };
}

/** Keeps the last `capacity` deliveries in this process's memory: gone at restart. */
export function createMemoryDeliveryStorage(capacity = 500): DeliveryLogStorage {
  const ring: DeliveryEntry[] = [];
  let seq = 0;
  return {
    async append(entries) {
      for (const entry of entries) {
        seq += 1;
        ring[(seq - 1) % capacity] = { seq, ...entry };
      }
    },
    async recent(limit) {
      return [...ring].sort((a, b) => b.seq - a.seq).slice(0, limit);
    },
    async close() {},
  };
}

import { type DeliveryReport, errorCodes } from '@c2p/core';
import { canonicalIpAddress, parseIpAddress } from '@c2p/core/kit';
import type { AdapterName } from './config.js';

/** How one delivery ended, as the admin page shows it. */
export type DeliveryOutcome = 'processed' | 'duplicate' | 'rejected';

/** One delivery, as `GET /api/events` lists it. Never holds credentials or the body. */
export interface DeliveryEntry {
  /** Increasing within this process. */
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

/** A bounded log of the most recent deliveries, newest first on read. */
export interface DeliveryLog {
  record(listener: AdapterName, report: DeliveryReport): DeliveryEntry;
  recent(limit?: number): DeliveryEntry[];
}

/** A delivery that was answered 200 and processed no event is a pure duplicate. */
export function deliveryOutcome(report: DeliveryReport): DeliveryOutcome {
  if (report.status !== 200) return 'rejected';
  return report.events.some((event) => event.outcome === 'processed') ? 'processed' : 'duplicate';
}

/**
 * `127.0.0.1` for the `::ffff:127.0.0.1` a dual-stack socket reports, IPv6 in its
 * short form (`::1`, not core's full-length `0:0:0:0:0:0:0:1`, which is for comparing);
 * what does not parse, as received.
 */
export function displayIp(address: string | undefined): string | null {
  if (address === undefined) return null;
  const parsed = parseIpAddress(address);
  if (parsed === undefined) return address;
  return parsed.kind() === 'ipv4' ? canonicalIpAddress(parsed) : parsed.toString();
}

/** Keeps the last `capacity` deliveries in memory (a ring buffer). Defaults to 500. */
export function createDeliveryLog(capacity = 500): DeliveryLog {
  const ring: DeliveryEntry[] = [];
  let seq = 0;
  return {
    record(listener, report) {
      const entry: DeliveryEntry = {
        seq: ++seq,
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
      ring[(entry.seq - 1) % capacity] = entry;
      return entry;
    },
    recent(limit = capacity) {
      return [...ring].sort((a, b) => b.seq - a.seq).slice(0, limit);
    },
  };
}

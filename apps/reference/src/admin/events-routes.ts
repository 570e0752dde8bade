import type { DeliveryLog } from '../delivery-log.js';
import { type AdminReply, jsonReply } from './admin-reply.js';

/** `GET /api/events`: recent deliveries with their outcome, newest first. */
export function createEventsRoutes(
  deliveries: DeliveryLog,
): Record<string, () => Promise<AdminReply>> {
  return { '/api/events': async () => jsonReply(await deliveries.recent()) };
}

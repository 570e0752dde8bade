import type { Order } from '../order.js';
import type { OrderBook } from '../order-book.js';
import { badRequest, notFound } from './admin-error.js';
import { pageSize } from './admin-page.js';
import { type AdminReply, jsonReply } from './admin-reply.js';

/** `{ id, state, fulfilments, events }`, as the design fixes it. */
function publicOrder(
  order: Order,
): Pick<Order, 'id' | 'state' | 'fulfilments' | 'events' | 'updatedAt'> {
  return {
    id: order.id,
    state: order.state,
    fulfilments: order.fulfilments,
    events: order.events,
    updatedAt: order.updatedAt,
  };
}

const prefix = '/api/orders/';

/** `GET /api/orders` (recent orders) and `GET /api/orders/:id`. */
export function createOrdersRoutes(orders: OrderBook): {
  list(): Promise<AdminReply>;
  /** `undefined` when the path is not under `/api/orders/`. */
  one(path: string): Promise<AdminReply> | undefined;
} {
  return {
    list: async () => jsonReply(await orders.recent(pageSize)),
    one(path) {
      if (!path.startsWith(prefix)) return undefined;
      let id: string;
      try {
        id = decodeURIComponent(path.slice(prefix.length));
      } catch {
        throw badRequest('The order id is not valid.');
      }
      return orders.get(id).then((order) => {
        if (!order) throw notFound('No such order.');
        return jsonReply(publicOrder(order));
      });
    },
  };
}

import { describe, expect, it } from 'vitest';
import { maxReadsPerPass, type UnsettledOrders, unsettledIds } from '../src/reconcile.js';

/** An order book of `count` unsettled orders, answering pages as the real ones do. */
function book(count: number): UnsettledOrders & { queries: number } {
  const orders = Array.from({ length: count }, (_, i) => ({
    id: `pr-${String(i).padStart(6, '0')}`,
    updatedAt: new Date(1_700_000_000_000 + i).toISOString(),
  }));
  const result = {
    queries: 0,
    async listUnsettled(query: Parameters<UnsettledOrders['listUnsettled']>[0]) {
      result.queries += 1;
      const from = query.after ? orders.findIndex((o) => o.id === query.after?.id) + 1 : 0;
      const page = orders.slice(from, from + query.limit);
      const last = page.at(-1);
      const more = from + query.limit < orders.length;
      return {
        orders: page,
        next: more && last ? { updatedAt: last.updatedAt, id: last.id } : null,
      };
    },
  };
  return result;
}

describe('unsettledIds', () => {
  it('reads every page, oldest first', async () => {
    const orders = book(1_234);
    const ids = await unsettledIds(orders, new Date());
    expect(ids).toHaveLength(1_234);
    expect(new Set(ids).size).toBe(1_234);
    expect(ids[0]).toBe('pr-000000');
    expect(orders.queries).toBe(3);
  });

  it(`stops at ${maxReadsPerPass} a pass; the next pass reads the rest as they change`, async () => {
    const orders = book(maxReadsPerPass + 700);
    const ids = await unsettledIds(orders, new Date());
    expect(ids).toHaveLength(maxReadsPerPass);
    expect(orders.queries).toBe(maxReadsPerPass / 500);
  });

  it('passes the threshold to the order book', async () => {
    const before = new Date('2026-01-01T00:00:00Z');
    const seen: Date[] = [];
    await unsettledIds(
      {
        listUnsettled: async (query) => {
          seen.push(query.changedBefore);
          return { orders: [], next: null };
        },
      },
      before,
    );
    expect(seen).toEqual([before]);
  });
});

import type { InboxFilter } from '@c2p/core';

/** Ids are bigserials; anything else names no event (and must not reach a bigint cast). */
export const isId = (id: unknown): id is string =>
  typeof id === 'string' && /^[0-9]{1,18}$/.test(id);

/**
 * The `WHERE` conditions of a checked {@link InboxFilter}, each on an indexed
 * column, with their values pushed onto `values` (so `$n` follows whatever is
 * there already). Ids that are not ids match nothing.
 */
export function inboxFilterSql(filter: InboxFilter, values: unknown[]): string[] {
  const conditions: string[] = [];
  const add = (sql: (param: string) => string, value: unknown): void => {
    values.push(value);
    conditions.push(sql(`$${values.length}`));
  };
  if (filter.state !== undefined) add((p) => `state = ${p}::text`, filter.state);
  if (filter.resourceKey !== undefined) add((p) => `resource_key = ${p}::text`, filter.resourceKey);
  if (filter.eventType !== undefined) add((p) => `event_type = ${p}::text`, filter.eventType);
  if (filter.key !== undefined) add((p) => `key = ${p}::text`, filter.key);
  if (filter.receivedSince !== undefined) {
    add((p) => `received_at >= ${p}::bigint`, filter.receivedSince);
  }
  if (filter.receivedBefore !== undefined) {
    add((p) => `received_at < ${p}::bigint`, filter.receivedBefore);
  }
  if (filter.ids !== undefined) add((p) => `id = ANY(${p}::bigint[])`, filter.ids.filter(isId));
  return conditions;
}

/**
 * The search's statement: the filter's conditions and the cursor (`id <`),
 * newest first, one row more than `limit` so the page knows whether another follows.
 */
export function inboxSearchSql(
  quoted: string,
  columns: string,
  query: InboxFilter & { readonly limit: number; readonly afterId: string | null },
): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const conditions = inboxFilterSql(query, values);
  if (query.afterId !== null) {
    values.push(query.afterId);
    conditions.push(`id < $${values.length}::bigint`);
  }
  values.push(query.limit + 1);
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  return {
    text: `SELECT ${columns} FROM ${quoted} ${where} ORDER BY id DESC LIMIT $${values.length}`,
    values,
  };
}

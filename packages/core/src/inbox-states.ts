import { type InboxState, inboxStates } from './inbox-store.js';

/** The states a worker still has to run: `pending` and `retrying`. */
export const unfinishedInboxStates = [
  'pending',
  'retrying',
] as const satisfies readonly InboxState[];

/** An unfinished state: one a lease may pick, listed oldest first. */
export type UnfinishedInboxState = (typeof unfinishedInboxStates)[number];

/** Is `state` one a worker still has to run (`pending` or `retrying`)? */
export function isUnfinishedInboxState(state: string): state is UnfinishedInboxState {
  return (unfinishedInboxStates as readonly string[]).includes(state);
}

/**
 * Each state as a quoted literal (`'pending'`), for a store's SQL or Lua, so
 * states are written into queries from this one place, as pg-boss writes its
 * job states: `WHERE state = ${inboxStateLiterals.processed}`.
 */
export const inboxStateLiterals = Object.fromEntries(
  inboxStates.map((state) => [state, `'${state}'`]),
) as { readonly [S in InboxState]: `'${S}'` };

/** A comma list of the quoted states, for `IN (...)` and `CHECK`: `'pending', 'retrying'`. */
export function inboxStateList(states: readonly InboxState[] = inboxStates): string {
  return states.map((state) => inboxStateLiterals[state]).join(', ');
}

/**
 * The counts `InboxStore.counts()` answers, from a store's `(state, count)` rows:
 * every state present, `0` where no row names it, rows of one state added up.
 */
export function countInboxStates(
  rows: Iterable<{ readonly state: InboxState; readonly count: number }>,
): Record<InboxState, number> {
  const counts = Object.fromEntries(inboxStates.map((state) => [state, 0])) as Record<
    InboxState,
    number
  >;
  for (const { state, count } of rows) counts[state] += count;
  return counts;
}

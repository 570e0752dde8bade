/**
 * A handler's own failure, wrapped where handlers run inside a store's
 * transaction, so that it is told apart from the store's failure around it.
 */
export class HandlerFailure {
  constructor(readonly cause: unknown) {}
}

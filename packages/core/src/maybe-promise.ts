/**
 * A value or a promise of it: what a step answers when it is synchronous as
 * long as what it waits on is (the store's answer, the handlers).
 */
export type MaybePromise<T> = T | PromiseLike<T>;

/** Is `value` a promise (or any thenable), to be waited on rather than used? */
export function isPromiseLike<T>(value: MaybePromise<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === 'function';
}

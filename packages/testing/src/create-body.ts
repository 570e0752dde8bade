import type { FactoryEvent } from './create-event.js';
import { OptionError } from './option-error.js';

/**
 * The two body shapes Clik2pay may send: `array` (as documented, one or more
 * events) or `object` (one bare event, as the public integration reads it).
 */
export type BodyShape = 'array' | 'object';

/** Options for {@link createBody}. */
export interface CreateBodyOptions {
  /** Defaults to `array`, the documented shape. `object` takes exactly one event. */
  shape?: BodyShape;
}

/** A delivery body: one event, or an array of events. */
export type FactoryBody<E extends FactoryEvent = FactoryEvent> = E | E[];

/**
 * Wraps events in the chosen body shape.
 *
 * @example
 * ```ts
 * createBody(createEvent());                                   // [event], as documented
 * createBody(createEvent(), { shape: 'object' });              // event
 * createBody([createEvent(), createEvent({ kind: 'payment' })]); // several in one delivery
 * ```
 */
export function createBody<E extends FactoryEvent>(
  events: E | readonly E[],
  options: CreateBodyOptions = {},
): FactoryBody<E> {
  const list: E[] = Array.isArray(events) ? [...(events as readonly E[])] : [events as E];
  const shape = options.shape ?? 'array';
  if (shape === 'array') return list;
  if (shape !== 'object') {
    throw new OptionError('options.shape', `"${String(shape)}" is not "array" or "object"`);
  }
  const [only] = list;
  if (list.length !== 1 || only === undefined) {
    throw new OptionError('options.shape', `"object" takes exactly one event, got ${list.length}`);
  }
  return only;
}

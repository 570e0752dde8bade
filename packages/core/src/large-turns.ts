import type { RawBody } from './parse-events.js';

/**
 * A body larger than this many bytes (UTF-16 units for a string) is a large
 * delivery: about ten of Clik2pay's events, which sends one per delivery.
 */
export const largeBodyBytes = 16 * 1024;

/** Is `body` a large delivery's? */
export const isLargeBody = (body: RawBody): boolean =>
  (typeof body === 'string' ? body.length : body.byteLength) > largeBodyBytes;

/**
 * `setImmediate` as the module found it: a later `vi.useFakeTimers()` does not
 * stop turns. Undefined where the runtime has none (Deno, workerd): there large
 * deliveries are judged at once, as before. A timer is no substitute on
 * workerd, which ties timers and promises to the request that made them: a
 * turn started from one request's timer could leave another request hanging.
 */
const immediate: ((next: () => void) => unknown) | undefined =
  typeof globalThis.setImmediate === 'function' ? globalThis.setImmediate : undefined;

/** Do large deliveries take turns here (a runtime with `setImmediate`)? */
export const takesTurns = immediate !== undefined;

/**
 * Large deliveries take turns (issue 23, item 1). Parsing, checking and
 * storing a delivery of a thousand events is several milliseconds of work
 * that no `await` interrupts; when a burst of them arrives in one turn of the
 * event loop, a single event delivered in that turn waited behind every one,
 * hundreds of milliseconds. Each large delivery now waits for its turn: one
 * per turn of the event loop, each after the loop has polled for I/O, so a
 * small delivery that arrives meanwhile is judged before the next large one
 * starts. A large delivery's wait is the time the ones before it take, which
 * it would have waited anyway; small ones never wait for a turn.
 *
 * One queue for the whole process (its CPU is what the deliveries share), in
 * arrival order.
 */
class LargeTurns {
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;

  /** Resolves when it is the caller's turn; run the synchronous work right then. */
  take(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    immediate?.(() => {
      this.scheduled = false;
      this.waiting.shift()?.();
      // Queued from inside this callback: the next turn comes after the next poll.
      this.schedule();
    });
  }
}

export const largeTurns = new LargeTurns();

/**
 * Spaces the starts of API reads at least `1000 / perSecond` ms apart,
 * whoever asks, so a pass over many ids never bursts at the API.
 */
export interface ReadPacer {
  /** Resolves when the next read may start; rejects with the signal's reason when it aborts. */
  wait(signal: AbortSignal): Promise<void>;
}

/**
 * A pacer allowing `perSecond` starts per second (`Infinity`: no spacing).
 * Each start is spaced from the previous one's actual start, so a timer that
 * fires late never lets the next one come sooner.
 */
export function createReadPacer(
  perSecond: number,
  now: () => number = () => performance.now(),
): ReadPacer {
  const gapMs = perSecond === Number.POSITIVE_INFINITY ? 0 : 1000 / perSecond;
  let lastStart = Number.NEGATIVE_INFINITY;
  let queue: Promise<void> = Promise.resolve();
  return {
    wait(signal) {
      const turn = queue.then(async () => {
        // Timers may fire a fraction of a ms early: wait until the gap has really passed.
        for (let left = lastStart + gapMs - now(); left > 0; left = lastStart + gapMs - now()) {
          await sleep(Math.ceil(left), signal);
        }
        lastStart = now();
      });
      queue = turn.catch(() => undefined);
      return turn;
    },
  };
}

/** Waits `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (): void => {
      signal.removeEventListener('abort', aborted);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const aborted = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', aborted, { once: true });
  });
}

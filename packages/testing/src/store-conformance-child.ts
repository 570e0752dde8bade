/**
 * The program the store conformance suite runs in its child processes: built as
 * its own entry (`dist/store-conformance-child.js`) and spawned by URL. It
 * imports the store author's module (`C2P_CONFORMANCE_MODULE`), builds a store
 * from `C2P_CONFORMANCE_ARGS`, and runs the task in `C2P_CONFORMANCE_TASK`,
 * talking to the suite by lines on stdin and stdout.
 * @packageDocumentation
 */
import type { IdempotencyStore, TransactionalIdempotencyStore } from '@c2p/core';

/**
 * What a store's child module exports (the `crossProcess.module` option): an ES
 * module run by plain Node, so it imports the built packages.
 */
export interface StoreConformanceChildModule {
  /** Builds the store from the JSON arguments `crossProcess.args` made. */
  createStore(args: never): IdempotencyStore | Promise<IdempotencyStore>;
  /**
   * For a transactional store: writes business row `id` through its
   * transaction, as `transactional.write` does in the suite, so a child killed
   * inside `processOnce` dies holding an uncommitted write (and its locks).
   */
  write?(tx: never, id: string, args: never): Promise<void> | void;
}

/** What the suite asks a child to do. */
export type StoreConformanceChildTask =
  /** Claim keys `prefix:0` to `prefix:<count - 1>`, 16 at a time, after "go"; answer which it acquired. */
  | { readonly kind: 'race-claims'; readonly prefix: string; readonly count: number }
  /** Run `processOnce` on the same keys, writing `prefix:<i>` in each, after "go". */
  | { readonly kind: 'race-process'; readonly prefix: string; readonly count: number }
  /** Claim `key` for `leaseMs`, say "held", and wait to be killed. */
  | { readonly kind: 'hold-claim'; readonly key: string; readonly leaseMs: number }
  /** Enter `processOnce(key)`, write row `id` inside it, say "held", and wait to be killed. */
  | { readonly kind: 'hold-process'; readonly key: string; readonly id: string };

/** What a `race-claims` child answers. */
export interface RaceClaimsResult {
  readonly acquired: number[];
  readonly inProgress: number;
}

/** What a `race-process` child answers. */
export interface RaceProcessResult {
  readonly processed: number[];
  readonly duplicate: number;
  readonly inProgress: number;
  /** Messages of errors thrown by `processOnce`: any is a failure. */
  readonly errors: string[];
}

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set: this program is run by the suite`);
  return value;
};

const line = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

const waitForGo = (): Promise<void> =>
  new Promise((resolve) => {
    process.stdin.once('data', () => resolve());
  });

/** Runs `worker` 16 times at once over a shared counter up to `count`. */
const inParallel = async (count: number, each: (i: number) => Promise<void>): Promise<void> => {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await each(next++);
  };
  await Promise.all(Array.from({ length: 16 }, worker));
};

const forever = (): Promise<never> => new Promise(() => setInterval(() => undefined, 60_000));

async function main(): Promise<void> {
  const module = (await import(env('C2P_CONFORMANCE_MODULE'))) as StoreConformanceChildModule;
  const args = JSON.parse(env('C2P_CONFORMANCE_ARGS')) as never;
  const task = JSON.parse(env('C2P_CONFORMANCE_TASK')) as StoreConformanceChildTask;
  const store = await module.createStore(args);
  const write = async (tx: unknown, id: string): Promise<void> => {
    await module.write?.(tx as never, id, args);
  };
  const processOnce = (store as Partial<TransactionalIdempotencyStore<unknown>>).processOnce?.bind(
    store,
  );

  switch (task.kind) {
    case 'race-claims': {
      line('ready');
      await waitForGo();
      const acquired: number[] = [];
      let inProgress = 0;
      await inParallel(task.count, async (i) => {
        const result = await store.claim(`${task.prefix}:${i}`, 600_000);
        if (result.status === 'acquired') acquired.push(i);
        else if (result.status === 'in_progress') inProgress++;
        else throw new Error(`unexpected ${result.status} for key ${i}`);
      });
      line(JSON.stringify({ acquired, inProgress } satisfies RaceClaimsResult));
      break;
    }
    case 'race-process': {
      if (!processOnce) throw new Error('the store has no processOnce');
      line('ready');
      await waitForGo();
      const processed: number[] = [];
      const errors: string[] = [];
      let duplicate = 0;
      let inProgress = 0;
      await inParallel(task.count, async (i) => {
        try {
          const result = await processOnce(`${task.prefix}:${i}`, 600_000, async (tx) => {
            // A little time inside, so the two processes overlap on keys.
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
            await write(tx, `${task.prefix}:${i}`);
          });
          if (result === 'processed') processed.push(i);
          else if (result === 'duplicate') duplicate++;
          else inProgress++;
        } catch (error) {
          errors.push(`key ${i}: ${String(error)}`);
        }
      });
      line(
        JSON.stringify({ processed, duplicate, inProgress, errors } satisfies RaceProcessResult),
      );
      break;
    }
    case 'hold-claim': {
      const result = await store.claim(task.key, task.leaseMs);
      if (result.status !== 'acquired') throw new Error(`expected acquired, got ${result.status}`);
      line('held');
      await forever();
      break;
    }
    case 'hold-process': {
      if (!processOnce) throw new Error('the store has no processOnce');
      await processOnce(task.key, 600_000, async (tx) => {
        await write(tx, task.id);
        line('held');
        await forever();
      });
      break;
    }
  }
  await store.close?.();
  process.stdin.destroy();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

import { mergeConfig } from 'vitest/config';
import { quickFirst } from '../../stryker.quick-first.js';
import base from './vitest.config.js';

// The mutation run (stryker.config.mjs): every test file of the package, none left
// out. Each mutant runs the tests that reached it, one at a time, and stops at the
// first failure; vitest's own order (longest file first) put the 26 s run of three
// worker processes and the 11 s files with child processes and server restarts
// before the quick ones that kill most mutants. Here the files run quickest first,
// so a mutant is usually killed within a second, while one that survives still
// runs every test that reached it.
const order = [
  'postgres-store.boundaries.test.ts',
  'postgres-store.test.ts',
  'checkout.test.ts',
  'postgres-inbox.conformance.test.ts',
  'postgres-process-once.test.ts',
  'postgres-store.conformance.test.ts',
  'postgres-inbox.test.ts',
  'postgres-inbox.workers.test.ts',
];

export default mergeConfig(base, {
  test: { sequence: { sequencer: quickFirst(order) } },
});

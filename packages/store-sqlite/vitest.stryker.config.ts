import { mergeConfig } from 'vitest/config';
import { quickFirst } from '../../stryker.quick-first.js';
import base from './vitest.config.js';

// The mutation run (stryker.config.mjs): every test file of the package, none left
// out. Each mutant runs the tests that reached it, one at a time, and stops at the
// first failure; vitest's own order (longest file first) put the 3-5 s fault and
// child-process files before the quick ones that kill most mutants. Here the files
// run quickest first, so a mutant is usually killed within a second, while one that
// survives still runs every test that reached it.
//
// What cannot detect a mutant of src/ stays in, at no cost per mutant: the
// conformance race of 1,000 keys between two child processes runs the built
// dist/, never src/, so it reaches no mutant and runs only in the first pass.
const order = [
  'sqlite-boundaries.test.ts',
  'sqlite-store.test.ts',
  'sqlite-connection.test.ts',
  'sqlite-memory.test.ts',
  'sqlite-transaction.test.ts',
  'sqlite-inbox-edges.test.ts',
  'sqlite-commit-paths.test.ts',
  'sqlite-inbox.conformance.test.ts',
  'sqlite-store.conformance.test.ts',
  'sqlite-inbox.test.ts',
  'sqlite-faults.test.ts',
];

export default mergeConfig(base, {
  test: {
    sequence: { sequencer: quickFirst(order) },
  },
});

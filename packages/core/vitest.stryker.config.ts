import { mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The mutation run (stryker.config.mjs): core's tests without
// - the type tests, which a runtime mutant cannot change;
// - the Basic-auth timing test: its 150 million byte compares, each counted by
//   Stryker's instrumentation, outlast the run's 5-minute first pass on their own,
//   and what it guards (no early exit) is a timing, which no mutator changes.
export default mergeConfig(base, {
  test: {
    typecheck: { enabled: false },
    exclude: ['test/basic-auth-timing.test.ts', '**/node_modules/**'],
    // Instrumented code on a loaded machine (other runs and benchmarks beside it)
    // misses the 10 ms renewals of the 30 ms lease in create-webhooks.test.ts's
    // renewal test, which fails Stryker's first pass, and so the whole run. A
    // mutant that really breaks a test fails every attempt: still killed.
    retry: 2,
    setupFiles: ['../../stryker.vitest-setup.ts'],
  },
});

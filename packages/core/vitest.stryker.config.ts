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
    setupFiles: ['../../stryker.vitest-setup.ts'],
  },
});

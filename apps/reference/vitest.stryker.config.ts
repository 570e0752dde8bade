import { defineProject } from 'vitest/config';

// The mutation run (stryker.config.mjs): the tests that run the order logic in
// process. The others start the built app as a child process, which a mutant in
// this process cannot reach.
export default defineProject({
  test: {
    name: 'reference-order',
    include: ['test/order*.test.ts'],
    setupFiles: ['../../stryker.vitest-setup.ts'],
    testTimeout: 60000,
  },
});

import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'store-redis',
    include: ['test/**/*.test.ts'],
    // The conformance suite restarts this server mid-run: run these files after
    // every other project (group 1) and one at a time, so no other test sees it go.
    sequence: { groupOrder: 1 },
    fileParallelism: false,
  },
});

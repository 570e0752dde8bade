import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'testing',
    include: ['test/**/*.test.ts'],
    // These tests start child processes (the built `c2p` bin) and servers: on a loaded CI
    // machine one took 5.2 s against vitest's 5 s default, with nothing wrong.
    testTimeout: 20_000,
  },
});

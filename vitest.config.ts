import { defineConfig } from 'vitest/config';

// One project per package; each may add a vitest.config.ts of its own.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/reference'],
  },
});

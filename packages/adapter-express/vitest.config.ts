import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'adapter-express', include: ['test/**/*.test.ts'] },
});

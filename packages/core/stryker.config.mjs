// Mutation testing of @c2p/core: `npm run mutation` here, or from the root.
import { strykerConfig } from '../../stryker.shared.mjs';

export default strykerConfig({
  mutate: ['src/**/*.ts'],
  vitest: { configFile: 'vitest.stryker.config.ts' },
  // Core's tests import its sources; a build running meanwhile must not break the sandbox copy.
  ignorePatterns: ['dist', 'coverage', '.turbo', 'reports'],
});

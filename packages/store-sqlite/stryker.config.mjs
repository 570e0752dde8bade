// Mutation testing of @c2p/store-sqlite: `npm run mutation` here, or from the root.
// Mutates all of src/: the SQL of the store and the inbox and the logic around it
// (the shared connection's queue, write-lock waits and file checks, the options).
// The run's vitest config (vitest.stryker.config.ts) keeps every test and runs the
// quickest files first.
import { strykerConfig } from '../../stryker.shared.mjs';

export default strykerConfig({
  mutate: ['src/**/*.ts'],
  vitest: { configFile: 'vitest.stryker.config.ts' },
});

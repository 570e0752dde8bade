// Mutation testing of @c2p/store-postgres: `npm run mutation` here, or from the root.
// Needs the test servers: `node scripts/services.mjs start`, and C2P_TEST_POSTGRES_URL set.
// Mutates all of src/: the SQL of the store and the inbox and the logic around it
// (checking out clients, the STORE_UNAVAILABLE wrapping, rollback). The run's vitest
// config (vitest.stryker.config.ts) keeps every test and runs the quickest files first.
import { strykerConfig } from '../../stryker.shared.mjs';

export default strykerConfig({
  mutate: ['src/**/*.ts'],
  vitest: { configFile: 'vitest.stryker.config.ts' },
});

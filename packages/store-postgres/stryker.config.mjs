// Mutation testing of @c2p/store-postgres: `npm run mutation` here, or from the root.
// Needs the test servers: `node scripts/services.mjs start`, and C2P_TEST_POSTGRES_URL set.
import { strykerConfig } from '../../stryker.shared.mjs';

export default strykerConfig({
  mutate: ['src/**/*.ts'],
  vitest: { configFile: 'vitest.config.ts' },
});

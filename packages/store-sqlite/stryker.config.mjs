// Mutation testing of @c2p/store-sqlite: `npm run mutation` here, or from the root.
import { strykerConfig } from '../../stryker.shared.mjs';

export default strykerConfig({
  mutate: ['src/**/*.ts'],
  vitest: { configFile: 'vitest.config.ts' },
});

// Mutation testing of the reference app's order logic (the mapping from an event
// to an order state, and the transition): `npm run mutation` here, or from the root.
import { strykerConfig } from '../../stryker.shared.mjs';

export default strykerConfig({
  mutate: ['src/order.ts', 'src/order-handlers.ts'],
  vitest: { configFile: 'vitest.stryker.config.ts' },
  ignorePatterns: ['dist', 'coverage', '.turbo', 'reports', 'data'],
});

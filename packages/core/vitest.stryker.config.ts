import { mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The mutation run (stryker.config.mjs): core's tests without the type tests,
// which a runtime mutant cannot change. A retry keeps one flaky timing test
// (inbox-worker's sweep test fails about one run in four on a loaded machine)
// from aborting the run or counting a mutant as killed by chance.
export default mergeConfig(base, { test: { typecheck: { enabled: false }, retry: 2 } });

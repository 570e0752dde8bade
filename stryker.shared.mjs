// Shared StrykerJS options for the mutation runs of core, the stores and the
// reference app's order logic (`npm run mutation`; see the README's "Mutation testing").
// Each target's stryker.config.mjs adds what it mutates and which vitest config it runs.

/**
 * @param {import('@stryker-mutator/api/core').PartialStrykerOptions} target
 * @returns {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export function strykerConfig(target) {
  return {
    testRunner: 'vitest',
    plugins: ['@stryker-mutator/vitest-runner'],
    // Each mutant runs only the tests that reached it in the first (coverage) run.
    coverageAnalysis: 'perTest',
    // The machine is 2 cores shared with builds and other tests: one runner at a time.
    concurrency: 1,
    // A mutant that hangs a test is detected (a timeout), but a loaded machine must not
    // call a slow run a timeout: generous slack over the measured time of each test.
    timeoutMS: 15000,
    timeoutFactor: 2,
    // Module-level mutants (constant tables) cannot be traced to a test: each would
    // re-run the whole suite. They are counted as ignored, and the README says so.
    ignoreStatic: true,
    // A rerun tests only mutants whose code or tests changed (gitignored).
    incremental: true,
    incrementalFile: 'reports/mutation/stryker-incremental.json',
    reporters: ['clear-text', 'progress', 'html', 'json'],
    htmlReporter: { fileName: 'reports/mutation/index.html' },
    jsonReporter: { fileName: 'reports/mutation/mutation.json' },
    clearTextReporter: { allowColor: false, reportMutants: true, reportTests: false },
    // Sandboxes sit in .stryker-tmp/, two levels below the repository root as the
    // packages are, so a sandbox's tsconfig.json extends ../../tsconfig.base.json as
    // it is (Stryker's own rewrite assumes a sandbox inside the package: a
    // tsconfigFile that does not exist skips it), and tests that reach
    // ../../../scripts/services.mjs find it.
    tempDirName: '../../.stryker-tmp',
    tsconfigFile: 'no-tsconfig-rewrite.json',
    ignorePatterns: ['coverage', '.turbo', 'reports'],
    cleanTempDir: true,
    ...target,
  };
}

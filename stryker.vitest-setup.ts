import fc from 'fast-check';

// Mutation runs only (each target's vitest.stryker.config.ts): a property that a
// mutant breaks fails at its first counterexample, without shrinking it, since
// Stryker needs only the failure. Shrinking, repeated for each of hundreds of
// mutants, made most of a run's time.
fc.configureGlobal({ endOnFailure: true });

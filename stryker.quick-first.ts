import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Mutation runs only (a store's vitest.stryker.config.ts): a vitest sequencer that
 * runs the named test files in this order, the rest after them. Each mutant stops at
 * its first failing test, so the quick files that kill most mutants go first, before
 * the slow fault and child-process files vitest would otherwise start with.
 */
export function quickFirst(order: readonly string[]): typeof BaseSequencer {
  const rank = (file: TestSpecification): number => {
    const at = order.findIndex((name) => file.moduleId.endsWith(`/${name}`));
    return at === -1 ? order.length : at;
  };
  return class QuickFirst extends BaseSequencer {
    override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
      return [...files].sort((a, b) => rank(a) - rank(b));
    }
  };
}

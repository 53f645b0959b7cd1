import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import base from './vitest.config.ts';

/** Fast, focused files first: Stryker stops a mutant's run at its first failing test. */
const rank = (file: string): number => (file.includes('/test/unit/') ? 0 : 1) + (file.includes('.fuzz.') ? 2 : 0);

class FocusedFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => rank(a.moduleId) - rank(b.moduleId) || a.moduleId.localeCompare(b.moduleId));
  }
}

/**
 * Stryker's test run (stryker.config.json): the unit and integration tests, which exercise
 * functions/. The infra tests synthesize CDK and bundle with esbuild (~30 s) without running
 * the handlers' logic, so they would only slow every mutant down. (Not mergeConfig: it would
 * append to `include` rather than replace it.) Unit tests run first and the fuzz tests last,
 * so a mutant that a quick test kills does not wait for the slow ones.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    sequence: { sequencer: FocusedFirst },
  },
});

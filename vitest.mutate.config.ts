import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.ts';

/**
 * Stryker's test run (stryker.config.json): the unit and integration tests, which exercise
 * functions/. The infra tests synthesize CDK and bundle with esbuild (~30 s) without running
 * the handlers' logic, so they would only slow every mutant down.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: { include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'] },
  }),
);

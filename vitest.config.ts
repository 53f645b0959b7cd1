import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'functions/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' },
    // Only with --coverage (npm run coverage); `npm test` does not instrument.
    coverage: {
      provider: 'v8',
      include: ['functions/**/*.ts'],
      exclude: ['functions/**/*.d.ts', 'functions/**/*.test.ts'],
      reporter: ['text-summary', 'html'],
      reportsDirectory: 'coverage',
      // Just below what the suite measures (rounded down to 5): a drop fails `npm run coverage`.
      thresholds: { lines: 95, branches: 90, functions: 95, statements: 95 },
    },
  },
});

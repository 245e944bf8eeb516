import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file gets its own temporary folder (removed after it) and captured stderr (shown with failures only).
    setupFiles: ['test/setup.ts'],
    // tfjs keeps one global engine per process: isolate test files in forked processes.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

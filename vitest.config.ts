import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file gets its own temporary folder (removed after it) and captured stderr (shown with failures only).
    setupFiles: ['test/setup.ts'],
    // tfjs keeps one global engine per process: isolate test files in forked processes.
    pool: 'forks',
    // Says which backends the suite covers (native when `npm run native` built it, and wasm).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native-addon and network-namespace tests touch process-wide state (setns, taps);
    // forks keep each test file in its own process.
    pool: 'forks',
    testTimeout: 30_000,
  },
});

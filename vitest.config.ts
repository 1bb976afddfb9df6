import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Protocol suites start real daemons (ours, Dovecot); two cores, so keep forks few.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2 } },
  },
});

import { defineConfig } from 'vitest/config';

// Three projects: fast unit tests, database tests (each run on PGlite and PostgreSQL), and
// end-to-end tests that run the built `ispctl` binary against real services.
export default defineConfig({
  test: {
    globalSetup: ['./test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'db', include: ['test/db/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 120_000 } },
    ],
  },
});

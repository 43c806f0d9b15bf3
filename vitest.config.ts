import { defineConfig } from 'vitest/config';

// Four projects: fast unit tests that start nothing, database tests (each run on PGlite and
// PostgreSQL), end-to-end tests that run the built `ispctl` binary against real services, and
// the fault suite. Only the database, e2e and fault projects have the global setup (a
// PostgreSQL cluster, a migrated template database and a migrated PGlite snapshot), so
// `vitest run --project unit` starts no database.
const databaseSetup = ['./test/helpers/global-setup.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.{ts,tsx}'] } },
      { extends: true, test: { name: 'db', include: ['test/db/**/*.test.ts'], globalSetup: databaseSetup } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: databaseSetup, testTimeout: 120_000 } },
      // Kill -9, two daemons, a restarting PostgreSQL, misbehaving routers, a full disk. Short
      // here; full counts with `npm run test:faults` (ISPCTL_FAULTS_FULL=1).
      { extends: true, test: { name: 'faults', include: ['test/faults/**/*.test.ts'], globalSetup: databaseSetup, testTimeout: 600_000 } },
    ],
  },
});

import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/helpers/sequencer.js';

// Four projects: fast unit tests that start nothing, database tests (each run on PGlite and
// PostgreSQL), end-to-end tests that run the built `ispctl` binary against real services, and
// the fault suite. Only the database, e2e and fault projects have the global setup (a
// PostgreSQL cluster, a migrated template database and a migrated PGlite snapshot), so
// `vitest run --project unit` starts no database.
const databaseSetup = ['./test/helpers/global-setup.ts'];

export default defineConfig({
  test: {
    // Generous: a time limit only ends a test that would never pass, and a busy machine must not
    // fail one that would (what is fast enough is measured in bench/).
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // One file at a time, slow files first. Two at a time ran the suite in 480 s instead of
    // ~600 s, but three tests that restart PostgreSQL or read a streaming replica (pg-restart,
    // scale-out) failed when another file shared the machine and passed alone: until they do
    // not depend on that, files run one after another.
    pool: 'forks',
    maxWorkers: 1,
    minWorkers: 1,
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.{ts,tsx}'] } },
      { extends: true, test: { name: 'db', include: ['test/db/**/*.test.ts'], globalSetup: databaseSetup } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: databaseSetup, testTimeout: 240_000 } },
      // Kill -9, two daemons, a restarting PostgreSQL, misbehaving routers, a full disk. Short
      // here; full counts with `npm run test:faults` (ISPCTL_FAULTS_FULL=1).
      { extends: true, test: { name: 'faults', include: ['test/faults/**/*.test.ts'], globalSetup: databaseSetup, testTimeout: 600_000 } },
    ],
  },
});

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
    // Two files at a time, slow files first (test/helpers/sequencer.ts). Most of an end-to-end or
    // fault file's time is spent waiting on the processes it starts, so two files overlap well even
    // on a busy 2-core machine. The servers tests start take loopback ports from below the
    // ephemeral range (test/helpers/ports.ts), so no other process's connection can take one
    // between the check and the server's bind, nor while a PostgreSQL restarts on its port.
    // `--maxWorkers 1` runs one file at a time.
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      // The unit tests share no state (no module mocks, environment changes or fake timers), so
      // they run in one process per worker instead of a fresh process per file.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.{ts,tsx}'], isolate: false } },
      { extends: true, test: { name: 'db', include: ['test/db/**/*.test.ts'], globalSetup: databaseSetup } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: databaseSetup, testTimeout: 240_000 } },
      // Kill -9, two daemons, a restarting PostgreSQL, misbehaving routers, a full disk. Short
      // here; full counts with `npm run test:faults` (ISPCTL_FAULTS_FULL=1).
      { extends: true, test: { name: 'faults', include: ['test/faults/**/*.test.ts'], globalSetup: databaseSetup, testTimeout: 600_000 } },
    ],
  },
});

import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/helpers/sequencer.js';

// Three projects: fast unit tests that start nothing, database tests (each run on PGlite and
// PostgreSQL), and end-to-end and fault tests that run the built `ispctl` binary and real
// services. Only the database and e2e projects have the global setup (a
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
    // Each worker runs file after file in the process (or, for the unit and database projects,
    // the worker thread) it started with, with the modules it has loaded, instead of a fresh
    // process per file: no test file changes the environment, the working directory or
    // process-wide handlers without putting them back, mocks modules or fakes timers, and the
    // core's module state is caches of pure functions. Measured on the end-to-end and fault files:
    // 184 s and 218 s of CPU against 206 s and 250 s with a process per file. Isolation is a
    // per-pool setting (the projects' own `isolate` is not read for a pool).
    poolOptions: { threads: { isolate: false }, forks: { isolate: false } },
    maxWorkers: 2,
    minWorkers: 1,
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      // The unit and database tests share no state between files (no module mocks or fake timers;
      // each database file opens databases of its own; the one file that changes the environment
      // and process.exitCode puts them back), so each worker thread runs file after file with the
      // modules it has loaded: the core, knex and PGlite are imported once per worker instead of
      // once per file. They run after the end-to-end and fault files (groupOrder), still two files
      // at a time: those files are mostly waiting on processes and start in fresh processes.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.{ts,tsx}'], pool: 'threads', isolate: false, sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'db', include: ['test/db/**/*.test.ts'], globalSetup: databaseSetup, pool: 'threads', isolate: false, sequence: { groupOrder: 1 } } },
      // End-to-end files (test/e2e: the built binary against real services) and fault files
      // (test/faults: kill -9, two daemons, a restarting PostgreSQL, misbehaving routers, a full
      // disk; short here, full counts with `npm run test:faults`, ISPCTL_FAULTS_FULL=1) are one
      // project, so one queue: with workers that are not isolated, vitest runs each project's
      // files as a batch and starts the next project's only when the last file of the batch has
      // ended, so with two projects one worker sat idle while the other finished the end-to-end
      // project's last file. `vitest run --project e2e test/faults` runs the fault files alone.
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/faults/**/*.test.ts'],
          globalSetup: databaseSetup,
          testTimeout: process.env.ISPCTL_FAULTS_FULL === '1' ? 600_000 : 240_000,
        },
      },
    ],
  },
});

// Entry point of the embedded database server process (started detached by the first command
// that finds the embedded database free; see embedded-server.ts). Arguments: the data directory.
// Its stderr is embedded-server.log in the data directory: one dated, readable line per event.
import { describeError } from '../error-text.js';
import { embeddedIdleMs } from './embedded-client.js';
import { serveEmbedded } from './embedded-server.js';

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: embedded-server <data-dir>\n');
  process.exit(2);
}
try {
  // ISPCTL_EMBEDDED_VACUUM_IDLE (seconds; 0: never) overrides when it vacuums (tests).
  const vacuumIdle = Number(process.env.ISPCTL_EMBEDDED_VACUUM_IDLE ?? NaN);
  await serveEmbedded({ dataDir, idleMs: embeddedIdleMs(process.env), log, ...(Number.isFinite(vacuumIdle) && vacuumIdle >= 0 ? { maintenanceIdleMs: Math.round(vacuumIdle * 1000) } : {}) });
  process.exit(0);
} catch (err) {
  // Not everything thrown is an Error: PGlite's file system throws a bare ErrnoError object.
  log(`could not serve ${dataDir}: ${describeError(err)}`);
  if (process.env.DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
}

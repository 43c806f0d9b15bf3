// Entry point of the embedded database server process (started detached by the first command
// that finds the embedded database free; see embedded-server.ts). Arguments: the data directory.
import { embeddedIdleMs } from './embedded-client.js';
import { serveEmbedded } from './embedded-server.js';

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: embedded-server <data-dir>\n');
  process.exit(2);
}
try {
  await serveEmbedded({ dataDir, idleMs: embeddedIdleMs(process.env) });
  process.exit(0);
} catch (err) {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}

// Takes and releases a lock `count` times; inside, checks that nobody else is inside (an O_EXCL
// marker) and appends enter/exit lines to a shared log. Prints {"acquired":n,"overlaps":n}.
import { appendFileSync, closeSync, openSync, unlinkSync } from 'node:fs';
const [lockJs, lockPath, marker, log, count] = process.argv.slice(2);
const { acquireFileLock } = await import(lockJs);
let overlaps = 0;
for (let i = 0; i < Number(count); i++) {
  const l = await acquireFileLock(lockPath, { timeoutMs: 120_000, command: `lock-worker ${process.pid}`, pollMs: 2 });
  appendFileSync(log, `enter ${process.pid}\n`);
  let fd;
  try {
    fd = openSync(marker, 'wx');
  } catch {
    overlaps++;
  }
  if (i % 7 === 0) await new Promise((r) => setImmediate(r));
  if (fd !== undefined) {
    closeSync(fd);
    unlinkSync(marker);
  }
  appendFileSync(log, `exit ${process.pid}\n`);
  l.release();
}
process.stdout.write(JSON.stringify({ acquired: Number(count), overlaps }) + '\n');

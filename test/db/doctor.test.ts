// ispctl doctor's checks on a real PostgreSQL: database migrated, key file and its mode, no daemon,
// a router that does not answer (checked with a timeout), RADIUS mode without and with a
// FreeRADIUS that does not answer, the clock; the command exits 1 and carries every check.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FixedClock } from '../../src/core/clock.js';
import type { ServiceContext } from '../../src/core/context.js';
import { resolveTarget } from '../../src/core/db/config.js';
import { openDatabase, type Database } from '../../src/core/db/connection.js';
import { checkKeyFile, runDoctor } from '../../src/core/doctor.js';
import { addRouter } from '../../src/core/routers/service.js';
import { initialise } from '../../src/core/settings/init.js';
import { createPgDatabase } from '../helpers/db.js';

describe('doctor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ispctl-doctor-'));
  const env = { ISPCTL_CONFIG_DIR: dir, ISPCTL_SECRET_KEY: 'c5'.repeat(32) };
  let db: Database;
  let ctx: ServiceContext;
  let drop: () => Promise<void> = async () => undefined;
  let silent: Server;
  let silentPort = 0;

  beforeAll(async () => {
    const pg = await createPgDatabase('doctor', { migrated: true });
    drop = pg.drop;
    db = await openDatabase(resolveTarget({ databaseUrl: pg.url, env: {} }), { lockTimeoutMs: 5000, command: 'test' });
    ctx = { db: db.knex, engine: 'postgres', clock: new FixedClock('2026-12-01T00:00:00Z'), actor: { user: 'maria', command: 'ispctl test' }, env };
    await initialise(ctx, { values: { 'isp-name': 'Juan Net', currency: 'PHP', timezone: 'Asia/Manila' } });
    // A router whose API port accepts connections and never answers: the check must time out.
    silent = createServer(() => undefined).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    silentPort = (silent.address() as { port: number }).port;
    await addRouter(ctx, { name: 'core1', host: '127.0.0.1', apiPort: silentPort, apiUser: 'u', apiPassword: 'p' });
  }, 60_000);
  afterAll(async () => {
    silent?.close();
    await db?.close();
    await drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each check with its status and, when not ok, its fix', async () => {
    const checks = await runDoctor(ctx, 'the test database', { timeoutMs: 300 });
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(by.database).toMatchObject({ status: 'ok', message: expect.stringContaining('reachable and migrated (PostgreSQL)') });
    expect(by['key file']).toMatchObject({ status: 'ok', message: 'The secret key comes from ISPCTL_SECRET_KEY.' });
    expect(by.daemon).toMatchObject({ status: 'warn', fix: expect.stringContaining('ispctl daemon') });
    expect(by['router core1']).toMatchObject({ status: 'fail', message: expect.stringContaining(`Not reachable at 127.0.0.1:${silentPort}`), fix: expect.stringContaining('ispctl router check core1') });
    expect(by.FreeRADIUS).toMatchObject({ status: 'ok', message: 'Not used: no router is in RADIUS mode.' });
    expect(by.clock).toMatchObject({ status: 'ok' });
  });

  test('RADIUS mode: not asked without a secret; no answer is a failure', async () => {
    await addRouter(ctx, { name: 'tower', host: '127.0.0.2', mode: 'radius', apiUser: 'u', apiPassword: 'p' });
    const quiet = await runDoctor(ctx, 'db', { timeoutMs: 300 });
    expect(quiet.find((c) => c.name === 'FreeRADIUS')).toMatchObject({ status: 'warn', fix: expect.stringContaining('--radius-secret') });
    const asked = await runDoctor(ctx, 'db', { timeoutMs: 300, radiusSecret: 'testing123', radiusPort: silentPort });
    expect(asked.find((c) => c.name === 'FreeRADIUS')).toMatchObject({ status: 'fail', message: expect.stringContaining(`No answer from 127.0.0.1:${silentPort}`) });
  });

  test('the key file: missing, readable by others, 0600', () => {
    const fileEnv = { ISPCTL_CONFIG_DIR: dir };
    expect(checkKeyFile(fileEnv, true)).toMatchObject({ status: 'fail', message: expect.stringContaining('is missing') });
    expect(checkKeyFile(fileEnv, false).status).toBe('warn');
    const path = join(dir, 'secret.key');
    writeFileSync(path, 'c5'.repeat(32));
    chmodSync(path, 0o644);
    expect(checkKeyFile(fileEnv, true)).toMatchObject({ status: 'fail', message: `${path} has mode 0644: others can read the key.`, fix: `chmod 600 ${path}` });
    chmodSync(path, 0o600);
    expect(checkKeyFile(fileEnv, true)).toMatchObject({ status: 'ok' });
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { dataDir } from '../../core/db/config.js';
import { IspctlError, conflict, invalid } from '../../core/errors.js';
import { DEFAULT_VERSION, type LabRouter, startLabRouter } from '../../lab/index.js';
import { PRESETS, type PresetSummary, applyBrownfieldPreset, applyRadiusClient } from '../../lab/presets.js';
import {
  defaultLabStateFile,
  generateLabPassword,
  readRuntimeFile,
  removeRuntimeFile,
  routerAddLine,
  runtimeFileFor,
  writeRuntimeFile,
} from '../../lab/lab-config.js';
import { validateRadiusSecret } from '../../core/routers/validate.js';

const HOST = '127.0.0.1';

export default class LabStart extends BaseCommand<typeof LabStart> {
  static override summary = 'Run a simulated MikroTik router on this machine, to try ispctl without hardware.';
  static override description =
    'Starts the lab router on loopback (127.0.0.1 only; nothing outside this machine can reach it): the RouterOS API ' +
    '(and API-SSL with --tls-port), a PPPoE NAS that authenticates subscribers against its PPP secrets or a RADIUS ' +
    'server, sends RADIUS accounting and answers CoA/Disconnect on /radius incoming. It prints how to connect, with the ' +
    'exact `ispctl router add` line, and runs until interrupted (Ctrl+C, SIGINT or SIGTERM), then stops cleanly.\n\n' +
    'The configuration is kept in a state file (default: lab/router.json in the data directory) and survives restarts; ' +
    'sessions do not. The admin password is generated on first start and shown once; it is saved in the state file, ' +
    'where `ispctl lab dial` finds it. --admin-password sets it.\n\n' +
    'With --json, one JSON document with the connection details is printed once the router listens, and the command ' +
    'keeps running: read the document, then send SIGINT or SIGTERM to stop it.';
  static override examples = [
    '<%= config.bin %> lab start',
    '<%= config.bin %> lab start --port 18728 --identity edge-lab --radius-incoming-port 3799',
    '<%= config.bin %> lab start --port 0 --json --ephemeral',
    '<%= config.bin %> lab start --preset brownfield --ephemeral',
    '<%= config.bin %> lab start --radius --radius-server 127.0.0.1:1812 --radius-secret s3cret-shared-key',
  ];

  static override flags = {
    port: Flags.integer({ summary: 'API port on 127.0.0.1 (0 picks a free one).', default: 8728, min: 0, max: 65535 }),
    'tls-port': Flags.integer({ summary: 'Also serve API-SSL on this port (0 picks a free one); needs --tls-cert and --tls-key.', min: 0, max: 65535 }),
    'tls-cert': Flags.string({ summary: 'PEM certificate file for API-SSL.', dependsOn: ['tls-port', 'tls-key'] }),
    'tls-key': Flags.string({ summary: 'PEM private key file for API-SSL.', dependsOn: ['tls-port', 'tls-cert'] }),
    version: Flags.string({ summary: `RouterOS version to emulate, e.g. 7.18.2, 7.16, 6.49.17 (default ${DEFAULT_VERSION}, or the saved one).` }),
    identity: Flags.string({ summary: '/system identity of the router (default lab-router on a new router).' }),
    'admin-password': Flags.string({ summary: 'Password of the admin API user (default: generated on first start, then kept).' }),
    'state-file': Flags.string({ summary: 'Where the configuration is saved (default: lab/router.json in the data directory).', exclusive: ['ephemeral'] }),
    ephemeral: Flags.boolean({ summary: 'Keep the configuration in memory only; `lab dial` then needs --router-port and --api-password.' }),
    'radius-incoming-port': Flags.integer({ summary: 'Accept CoA and Disconnect-Request on this UDP port (sets /radius incoming accept=yes port=…).', min: 1, max: 65535 }),
    'nas-address': Flags.string({ summary: 'The NAS address RADIUS servers see (NAS-IP-Address, and the source address when on loopback).', default: '127.0.0.1' }),
    'accounting-on': Flags.boolean({ summary: 'Send RADIUS Accounting-On at start (FreeRADIUS then closes sessions left open by an earlier run).' }),
    preset: Flags.string({ summary: 'Fill a new router: brownfield = set up by hand (profiles, pools, cp1252 comments, duplicates, thousands of secrets, live sessions).', options: [...PRESETS] }),
    'preset-secrets': Flags.integer({ summary: 'With --preset brownfield: how many generated PPP secrets (default 3000).', min: 0, max: 100_000, dependsOn: ['preset'] }),
    radius: Flags.boolean({ summary: 'Come up as a RADIUS client: /radius entry, /ppp aaa use-radius=yes, /radius incoming accept=yes (port 3799 unless --radius-incoming-port).' }),
    'radius-server': Flags.string({ summary: 'With --radius: the RADIUS server as HOST or HOST:PORT (accounting on PORT+1).', default: '127.0.0.1:1812' }),
    'radius-secret': Flags.string({ summary: 'With --radius: the shared secret (default: generated, or the one the saved router has).', dependsOn: ['radius'] }),
    'require-address': Flags.boolean({ summary: 'Refuse a PPPoE session that gets no address (no Framed-IP/Framed-Pool, no remote-address), as RouterOS does.' }),
  };

  public async run(): Promise<void> {
    const f = this.flags;
    if (!isIPv4(f['nas-address'])) {
      throw invalid('INVALID_NAS_ADDRESS', `--nas-address ${f['nas-address']} is not an IPv4 address.`, ['Use a loopback address such as 127.0.0.1']);
    }
    if (f['tls-port'] !== undefined && (!f['tls-cert'] || !f['tls-key'])) {
      throw invalid('MISSING_TLS_FILES', 'API-SSL (--tls-port) needs a certificate and a key.', [
        'Pass --tls-cert cert.pem --tls-key key.pem (e.g. from: openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem -subj /CN=lab -addext subjectAltName=IP:127.0.0.1)',
      ]);
    }
    const stateFile = f.ephemeral ? undefined : (f['state-file'] ?? defaultLabStateFile(dataDir(this.env)));
    const runtimeFile = stateFile ? runtimeFileFor(stateFile) : undefined;
    if (runtimeFile) {
      const running = await readRuntimeFile(runtimeFile);
      if (running && running.pid !== process.pid) {
        throw conflict('LAB_ALREADY_RUNNING', `A lab router (process ${running.pid}) already runs on ${stateFile}, listening on ${running.host}:${running.port}.`, [
          `Stop it first (kill -INT ${running.pid}), or use another --state-file, or --ephemeral`,
        ]);
      }
    }
    const existing = stateFile !== undefined && existsSync(stateFile);
    if (f.preset && existing) {
      throw conflict('LAB_PRESET_ON_EXISTING', `--preset ${f.preset} fills a new router, but ${stateFile} already holds one.`, [
        'Use --ephemeral, or another --state-file, or move the state file away',
      ]);
    }
    const radiusServer = f.radius ? parseRadiusServer(f['radius-server']) : undefined;
    // The lab's secret goes into ispctl router add, so it follows the same rule.
    if (f['radius-secret'] !== undefined) validateRadiusSecret(f['radius-secret']);
    const password = f['admin-password'] ?? (existing ? undefined : generateLabPassword());
    const log = f.verbose ? (line: string) => process.stderr.write(`${line}\n`) : undefined;

    let router: LabRouter;
    try {
      router = await startLabRouter({
        host: HOST,
        port: f.port,
        ...(f['tls-port'] !== undefined ? { tls: { port: f['tls-port'], cert: readFileSync(f['tls-cert']!), key: readFileSync(f['tls-key']!) } } : {}),
        ...(f.version ? { version: f.version } : {}),
        identity: f.identity ?? 'lab-router',
        ...(password !== undefined ? { adminPassword: password } : {}),
        ...(stateFile ? { stateFile } : {}),
        nas: { nasAddress: f['nas-address'], sendAccountingOn: f['accounting-on'], requireAddress: f['require-address'], ...(log ? { log } : {}) },
        ...(log ? { log } : {}),
      });
    } catch (e) {
      throw startError(e, f.port, stateFile);
    }

    const state = router.state;
    if (existing) {
      // The saved router keeps its configuration; flags given explicitly still apply.
      if (f.identity !== undefined) state.singleton('/system/identity').set({ name: f.identity });
      if (f['admin-password'] !== undefined) {
        if (state.menu('/user').get('admin')) state.menu('/user').set('admin', { password: f['admin-password'] });
        else state.menu('/user').add({ name: 'admin', group: 'full', password: f['admin-password'] });
      }
    }
    let radiusSecret: string | undefined;
    if (radiusServer) {
      const saved = state.menu('/radius').find((r) => r.address === radiusServer.host)[0]?.secret;
      radiusSecret = f['radius-secret'] ?? saved ?? generateLabPassword(24);
      applyRadiusClient(state, {
        server: radiusServer.host,
        authPort: radiusServer.port,
        acctPort: radiusServer.port + 1,
        secret: radiusSecret,
        incomingPort: f['radius-incoming-port'] ?? 3799,
      });
    } else if (f['radius-incoming-port'] !== undefined) {
      state.singleton('/radius/incoming').set({ accept: true, port: f['radius-incoming-port'] });
    }
    let preset: PresetSummary | undefined;
    if (f.preset === 'brownfield') {
      preset = await applyBrownfieldPreset(state, { ...(f['preset-secrets'] !== undefined ? { secrets: f['preset-secrets'] } : {}) }, router.nas);
    }
    await router.nas!.settled();
    const incomingFailure = router.nas!.incomingFailure();
    if (incomingFailure) this.warnLine(`CoA/Disconnect listener not running: ${incomingFailure}`);
    await router.save();

    const identity = state.singleton('/system/identity').get().name;
    const incoming = state.singleton('/radius/incoming').get();
    const shownPassword = password;
    if (runtimeFile) {
      await writeRuntimeFile(runtimeFile, {
        format: 'ispctl-lab-runtime',
        formatVersion: 1,
        pid: process.pid,
        host: HOST,
        port: router.port,
        ...(router.tlsPort !== undefined ? { tlsPort: router.tlsPort } : {}),
        user: 'admin',
        identity,
        version: state.version.text,
        nasAddress: f['nas-address'],
        stateFile: stateFile!,
        startedAt: new Date().toISOString(),
      });
    }
    const addLine = routerAddLine({
      name: identity.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'lab-router',
      host: HOST,
      port: router.tlsPort ?? router.port,
      user: 'admin',
      ...(shownPassword !== undefined ? { password: shownPassword } : {}),
      tls: router.tlsPort !== undefined,
      ...(f['nas-address'] !== HOST ? { nasAddress: f['nas-address'] } : {}),
      ...(incoming.accept === 'true' ? { coaPort: Number(incoming.port) } : {}),
      ...(radiusServer ? { mode: 'radius' as const, ...(radiusSecret !== undefined ? { radiusSecret } : {}) } : {}),
    });
    const details = {
      host: HOST,
      port: router.port,
      tlsPort: router.tlsPort ?? null,
      user: 'admin',
      /** Shown when generated or given on this start; null when kept from the state file. */
      password: shownPassword ?? null,
      identity,
      version: state.version.text,
      nasAddress: f['nas-address'],
      radiusIncoming: { accept: incoming.accept === 'true', port: Number(incoming.port) },
      mode: radiusServer ? 'radius' : 'api',
      radius: radiusServer ? { server: radiusServer.host, authPort: radiusServer.port, acctPort: radiusServer.port + 1 } : null,
      preset: preset ?? null,
      stateFile: stateFile ?? null,
      runtimeFile: runtimeFile ?? null,
      pid: process.pid,
      loopbackOnly: true,
      routerAdd: addLine,
    };

    if (this.jsonEnabled()) {
      this.logJson(this.toSuccessJson(details));
    } else {
      const c = this.chalk;
      this.say(`${c.bold(`Lab router ${identity}`)} (RouterOS ${state.version.text}) is running on ${HOST}: loopback only, not reachable from other machines.`);
      this.say('');
      const pairs: Array<[string, unknown]> = [['API', `${HOST}:${router.port}`]];
      if (router.tlsPort !== undefined) pairs.push(['API-SSL', `${HOST}:${router.tlsPort}`]);
      pairs.push(['User', 'admin']);
      pairs.push([
        'Password',
        shownPassword !== undefined ? `${shownPassword}  ${c.dim(stateFile ? '(shown once; saved in the state file)' : '(shown once; not saved: --ephemeral)')}` : c.dim('unchanged (set when the lab router was first started; change it with --admin-password)'),
      ]);
      pairs.push(['NAS address', `${f['nas-address']} (RADIUS requests come from it)`]);
      if (radiusServer) pairs.push(['RADIUS', `${radiusServer.host} auth ${radiusServer.port}, acct ${radiusServer.port + 1} (/ppp aaa use-radius=yes)`]);
      if (preset) {
        pairs.push(['Preset', `${preset.preset}: ${preset.secrets} secrets (${preset.disabledSecrets} disabled), ${preset.profiles} profiles, ${preset.pools} pools, ${preset.queues} queues, ${preset.sessions} sessions`]);
      }
      pairs.push(['CoA/Disconnect', incoming.accept === 'true' ? `UDP ${HOST}:${incoming.port}` : `off (/radius incoming accept=no; --radius-incoming-port turns it on)`]);
      pairs.push(['State file', stateFile ?? 'none (--ephemeral)']);
      this.details(pairs);
      this.say('');
      this.say('Register it with ispctl:');
      this.essential(`  ${addLine}`);
      this.say('');
      this.say(`Dial a subscriber in:  ispctl lab dial --user NAME --password PASSWORD${f.ephemeral ? ` --router-port ${router.port} --api-password …` : ''}`);
      this.say(c.dim('Press Ctrl+C to stop.'));
    }

    await waitForStopSignal();
    this.note('Stopping the lab router...');
    await router.close();
    if (runtimeFile) await removeRuntimeFile(runtimeFile);
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** `host` or `host:port` of a RADIUS server (port default 1812). */
function parseRadiusServer(text: string): { host: string; port: number } {
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(text.trim());
  const port = m?.[2] !== undefined ? Number(m[2]) : 1812;
  if (!m || !isIPv4(m[1]!) || port < 1 || port > 65534) {
    throw invalid('INVALID_RADIUS_SERVER', `--radius-server ${text} is not an IPv4 address with an optional port (e.g. 127.0.0.1:1812).`, [
      'The lab router sends Access-Request to PORT and accounting to PORT+1',
    ]);
  }
  return { host: m[1]!, port };
}

function startError(e: unknown, port: number, stateFile: string | undefined): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new IspctlError('LAB_PORT_IN_USE', `Port ${port} on ${HOST} is already in use.`, {
      kind: 'conflict',
      cause: e,
      suggestions: ['Pick another port with --port (0 picks a free one)', 'Another lab router or a RouterOS API tunnel may be using it'],
    });
  }
  if (code === 'EACCES') {
    return new IspctlError('LAB_PORT_DENIED', `Not allowed to listen on port ${port}.`, { kind: 'failure', cause: e, suggestions: ['Use a port above 1023'] });
  }
  if (e instanceof Error && /state file/.test(e.message)) {
    return new IspctlError('LAB_BAD_STATE_FILE', e.message, {
      kind: 'invalid',
      cause: e,
      suggestions: [`Move ${stateFile ?? 'the state file'} away to start a new lab router, or pass --state-file`],
    });
  }
  if (e instanceof Error && /version/i.test(e.message)) return invalid('INVALID_VERSION', e.message, ['Use a version such as 7.18.2, 7.16 or 6.49.17']);
  return e;
}

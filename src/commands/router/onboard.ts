import { Args, Flags } from '@oclif/core';
import { confirm, input, select } from '@inquirer/prompts';
import { BaseCommand } from '../../cli/base-command.js';
import { reviewLines } from '../../cli/onboarding.js';
import { IspctlError, invalid } from '../../core/errors.js';
import { writeSecretFile } from '../../core/onboarding/files.js';
import { hubWireguardConfig, loadHubSettings } from '../../core/onboarding/hub.js';
import { inspectScript, installScript, reviewRouter, type ReviewResult } from '../../core/onboarding/service.js';
import { REGISTERING_ADVICE_AFTER_MS } from '../../core/onboarding/state.js';
import { checkRouter } from '../../core/routers/check.js';
import { addRouter, getRouter, ROUTER_MODES } from '../../core/routers/service.js';
import { setSettings } from '../../core/settings/service.js';
import { errors } from '../../core/error-catalogue.js';

export default class RouterOnboard extends BaseCommand<typeof RouterOnboard> {
  static override summary = 'Bring a MikroTik into service over WireGuard, guided: inspect script, pasted report, review, install script, registration.';
  static override description =
    'For a terminal. Each step is also a command for scripts: router add NAME (pending), router inspect-script, router review, ' +
    'router install-script, router check. Adds the router pending first when it does not exist. Waits for the router to register ' +
    'through the tunnel and says what to check when it does not.';
  static override examples = ['<%= config.bin %> router onboard tower-1', '<%= config.bin %> router onboard tower-1 --mode radius --hub-config /etc/wireguard/wg-ispctl.conf'];
  static override args = { name: Args.string({ required: true, description: 'Router name (added pending when it does not exist).' }) };
  static override flags = {
    mode: Flags.string({ summary: 'For a new router: radius or api (asked when omitted).', options: [...ROUTER_MODES] }),
    'hub-config': Flags.string({ summary: "Rewrite the hub's wg-quick file (mode 0600) once the install script is printed, so the peer can go live." }),
    'wait-timeout': Flags.integer({ summary: 'Seconds to wait for the router to register (0: do not wait).', default: 600, min: 0 }),
  };

  public async run() {
    if (!this.canPrompt()) {
      throw invalid('NOT_A_TERMINAL', 'router onboard asks questions, and this is not a terminal.', [
        `Use the steps: ispctl router add ${this.args.name}; ispctl router inspect-script ${this.args.name}; ispctl router review ${this.args.name} --report FILE; ispctl router install-script ${this.args.name} --out FILE`,
      ]);
    }
    const ctx = await this.ctx();
    const c = this.chalk;
    let router = await getRouter(ctx.db, this.args.name).catch((err) => {
      if (err instanceof IspctlError && err.code === 'ROUTER_NOT_FOUND') return undefined;
      throw err;
    });
    if (!router) {
      const mode = this.flags.mode ?? (await select({ message: `Router ${this.args.name} is new. How will it authenticate subscribers?`, choices: [
        { name: 'RADIUS (FreeRADIUS reads ispctl\'s database; needs PostgreSQL)', value: 'radius' },
        { name: 'API (ispctl writes PPP secrets to the router)', value: 'api' },
      ] }));
      router = await addRouter(ctx, { name: this.args.name, mode });
      this.say(`Added router ${router.name} (${router.mode} mode), pending.`);
    }
    const hub = await loadHubSettings(ctx.db);
    if (!hub.endpoint) {
      const endpoint = await input({ message: 'Public address (and UDP port) routers dial to reach this host, e.g. vpn.example.net:51820:' });
      await setSettings(ctx, { 'wireguard-endpoint': endpoint });
    }

    this.say('');
    this.say(c.bold('Step 1 of 4: inspect. Paste this into the router\'s terminal (Winbox: New Terminal, or SSH). It changes nothing.'));
    this.say('');
    process.stdout.write((await inspectScript(ctx, router.name)).script);
    this.say('');
    let review: ReviewResult | undefined;
    while (!review) {
      const pasted = await input({ message: 'Step 2 of 4: paste the line it printed (ISPCTL-REPORT v1 …):' });
      try {
        review = await reviewRouter(ctx, router.name, pasted);
      } catch (err) {
        if (!(err instanceof IspctlError) || err.code !== 'INVALID_REPORT') throw err;
        this.say(c.red(err.message));
        for (const s of err.suggestions) this.say(c.dim(`  → ${s}`));
      }
    }
    this.say('');
    for (const line of reviewLines(review, c)) this.say(line);
    this.say('');
    if (!review.wireguard) {
      throw errors.routerOsWithoutWireGuard(router.name, review.routerOs.version);
    }
    if (!(await confirm({ message: 'Step 3 of 4: print the install script with these changes?', default: true }))) {
      this.say(c.dim(`Nothing changed. Print it later with: ispctl router install-script ${router.name}`));
      return { router: router.name, status: router.status, review };
    }
    const install = await installScript(ctx, router.name);
    if (router.mode === 'radius') await this.reloadRadius(router.name, `router onboard ${router.name}`);
    this.say('');
    this.say(c.bold('Paste this into the router\'s terminal. It holds secrets: do not save it. Pasting it twice changes nothing.'));
    this.say('');
    process.stdout.write(install.script);
    this.say('');
    const hubConfig = await hubWireguardConfig(ctx);
    if (this.flags['hub-config']) {
      const path = writeSecretFile(this.flags['hub-config'], hubConfig.config);
      this.say(`Wrote the hub configuration to ${path}. ${c.dim(`If no systemd path unit applies it: wg syncconf ${hubConfig.interfaceName} <(wg-quick strip ${path})`)}`);
    } else {
      this.say(c.yellow(`Add the router to the hub: ispctl wireguard config --out /etc/wireguard/${hubConfig.interfaceName}.conf, then wg syncconf ${hubConfig.interfaceName} <(wg-quick strip /etc/wireguard/${hubConfig.interfaceName}.conf)`));
    }
    const waitMs = this.flags['wait-timeout'] * 1000;
    if (waitMs === 0) return { router: router.name, status: install.status, host: install.host, review };

    this.say('');
    this.say(c.bold(`Step 4 of 4: waiting for ${router.name} to register at ${install.host} (Ctrl+C stops waiting; the daemon keeps checking).`));
    const started = Date.now();
    let advised = false;
    for (;;) {
      const result = await checkRouter(ctx, router.name, { timeoutMs: 4000 });
      const waited = Math.round((Date.now() - started) / 1000);
      if (result.ok) {
        process.stderr.write('\n');
        this.say(`${c.green('✓')} ${router.name} is online through the tunnel: ${result.identity}, RouterOS ${result.version} on ${result.board}.`);
        this.say(c.dim(`Next: ispctl router snapshot ${router.name} --out ${router.name}.yaml to review what the router already serves.`));
        return { router: router.name, status: 'online', host: install.host, review };
      }
      process.stderr.write(`\r  ${result.status} for ${waited}s: ${(result.error ?? '').split('\n')[0]!.slice(0, 100)}`.padEnd(120));
      if (!advised && Date.now() - started >= REGISTERING_ADVICE_AFTER_MS) {
        advised = true;
        const shown = await import('../../core/routers/service.js').then((m) => m.showRouter(ctx, router!.name));
        if (shown.onboarding?.advice) this.say('\n' + c.yellow(shown.onboarding.advice));
      }
      if (Date.now() - started >= waitMs) {
        process.stderr.write('\n');
        this.markPartial(`${router.name} has not registered yet; it stays registering and the daemon keeps checking (ispctl router show ${router.name} says what to check).`);
        return { router: router.name, status: result.status, host: install.host, review };
      }
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
}

import { Flags } from '@oclif/core';
import { confirm } from '@inquirer/prompts';
import { BaseCommand } from '../cli/base-command.js';
import type { CreateOp, FieldChange, RouterPlan, UpdateOp } from '../core/provisioning/routeros/diff.js';
import { applySync, planSync, type RouterSyncOutcome, type RouterSyncPlan } from '../core/provisioning/routeros/sync.js';
import { errors } from '../core/error-catalogue.js';

const HIDDEN = '(hidden)';
/** Lines shown per section of a plan unless --verbose. */
const SHOWN = 50;

function maskFields(kind: string, fields: Record<string, string>): Record<string, string> {
  return kind === 'secret' && 'password' in fields ? { ...fields, password: HIDDEN } : fields;
}

function maskChange(c: FieldChange): FieldChange {
  if (c.field !== 'password') return c;
  return { field: c.field, ...(c.from !== undefined ? { from: HIDDEN } : {}), ...(c.to !== undefined ? { to: HIDDEN } : {}) };
}

/** The plan as --json shows it: PPPoE passwords never appear. */
function maskPlan(plan: RouterPlan): RouterPlan {
  return {
    ...plan,
    create: plan.create.map((c) => ({ ...c, fields: maskFields(c.kind, c.fields) })),
    update: plan.update.map((u) => ({ ...u, changes: u.changes.map(maskChange) })),
  };
}

/** One router in the --json result. */
interface RouterSyncResult {
  router: string;
  mode: RouterSyncPlan['router']['mode'];
  status: RouterSyncPlan['status'];
  reason?: string;
  counts?: RouterSyncPlan['counts'];
  plan?: RouterPlan;
  outcome?: RouterSyncOutcome;
}

function quote(v: string): string {
  return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export default class Sync extends BaseCommand<typeof Sync> {
  static override summary = 'Make API-mode routers hold exactly what ispctl wants: show the plan, then apply it.';
  static override description =
    'Reads each API-mode router (PPP profiles, PPP secrets, simple queues, live sessions), compares it with the desired state in the database ' +
    'and prints the plan: + create, ~ update (field: old → new), - remove, ! left alone because ispctl does not manage it. Then it applies the ' +
    'plan, unless --dry-run. Objects are matched by the ispctl marker in their comment, never by name alone; objects without a marker are ' +
    'never touched unless --prune (remove them) or --adopt (take over those that hold a name ispctl needs). Running it again shows nothing ' +
    'to do. A router that cannot be reached is reported and the others are still synced (exit 3). RADIUS-mode routers are skipped: ' +
    'FreeRADIUS reads the database directly.';
  static override examples = [
    '<%= config.bin %> sync --dry-run',
    '<%= config.bin %> sync --router core1',
    '<%= config.bin %> sync --router core1 --prune --yes',
    '<%= config.bin %> sync --json --yes',
  ];
  static override flags = {
    router: Flags.string({ summary: 'Only this router.' }),
    'dry-run': Flags.boolean({ summary: 'Show the plan and change nothing.' }),
    prune: Flags.boolean({ summary: 'Also remove PPP secrets, queues and profiles ispctl does not manage (never built-in profiles).' }),
    adopt: Flags.boolean({ summary: 'Take over unmanaged objects that hold the name of one ispctl wants (instead of reporting a conflict).' }),
    yes: Flags.boolean({ char: 'y', summary: 'Apply without asking, even when the plan removes something.' }),
    timeout: Flags.integer({ summary: 'Seconds to wait for each router command (sync is not bounded by --router-timeout).', default: 30, min: 1 }),
  };

  public async run() {
    const f = this.flags;
    const ctx = await this.ctx();
    const opts = { router: f.router, prune: f.prune, adopt: f.adopt, timeoutMs: f.timeout * 1000 };
    const plans = await this.withProgress((onProgress) => planSync(ctx, { ...opts, onProgress }));
    for (const p of plans) this.renderPlan(p);

    const planned = plans.filter((p) => p.status === 'planned');
    const unreachable = plans.filter((p) => p.status === 'unreachable' || p.status === 'failed');
    const totals = planned.reduce(
      (t, p) => ({ changes: t.changes + (p.changes ? 1 : 0), removes: t.removes + (p.counts?.remove ?? 0) }),
      { changes: 0, removes: 0 },
    );
    const result = {
      dryRun: f['dry-run'],
      routers: plans.map((p): RouterSyncResult => ({
        router: p.router.name,
        mode: p.router.mode,
        status: p.status,
        ...(p.reason ? { reason: p.reason } : {}),
        ...(p.counts ? { counts: p.counts } : {}),
        ...(p.plan ? { plan: maskPlan(p.plan) } : {}),
      })),
    };
    if (unreachable.length) {
      this.markPartial(`${plural(unreachable.length, 'router')} could not be read: ${unreachable.map((p) => `${p.router.name} (${p.reason})`).join('; ')}`);
    }
    if (f['dry-run']) {
      if (planned.length) this.say(this.chalk.dim(totals.changes ? 'Dry run: nothing was changed. Run without --dry-run to apply.' : 'Nothing to do.'));
      return result;
    }
    if (totals.changes === 0) {
      if (planned.length) this.say('Nothing to do: the routers already hold the desired state.');
    } else if (totals.removes > 0 && !f.yes) {
      if (!this.canPrompt()) {
        throw errors.confirmationRequired('Applying the plan', `it removes ${plural(totals.removes, 'object')} from routers`, ['Review it with ispctl sync --dry-run']);
      }
      if (!(await confirm({ message: `Apply the plan, removing ${plural(totals.removes, 'object')}?`, default: false }))) {
        this.say('Nothing changed.');
        return result;
      }
    }
    const outcomes = await this.withProgress((onProgress) => applySync(ctx, planned, { ...opts, onProgress }));
    for (const o of outcomes) this.renderOutcome(o);
    const bad = outcomes.filter((o) => o.status === 'failed' || o.status === 'unreachable');
    if (bad.length) this.markPartial(`Some changes could not be applied on ${bad.map((o) => o.router).join(', ')}; run ispctl sync again.`);
    const byRouter = new Map(outcomes.map((o) => [o.router, o]));
    for (const r of result.routers) {
      const o = byRouter.get(r.router);
      if (o) r.outcome = o;
    }
    return result;
  }

  private renderPlan(p: RouterSyncPlan): void {
    const c = this.chalk;
    const head = `${c.bold(p.router.name)} ${c.dim(`(${p.router.host}:${p.router.port}, ${p.router.mode} mode${p.router.mode === 'api' ? `, shaping by ${p.router.shaping}` : ''})`)}`;
    this.say(head);
    if (p.status === 'skipped') {
      this.say(`  ${c.dim(`skipped: ${p.reason}`)}`);
      this.say();
      return;
    }
    if (p.status !== 'planned' || !p.plan) {
      this.say(`  ${c.red(`could not be read: ${p.reason}`)}`);
      this.say();
      return;
    }
    const plan = p.plan;
    const limit = this.flags.verbose ? Infinity : SHOWN;
    const section = <T>(items: T[], line: (item: T) => string[]) => {
      for (const item of items.slice(0, limit)) for (const l of line(item)) this.say(l);
      if (items.length > limit) this.say(c.dim(`    … and ${items.length - limit} more (--verbose or --json shows all)`));
    };
    const create = (op: CreateOp) => {
      const fields = Object.entries(maskFields(op.kind, op.fields))
        .filter(([k]) => k !== 'name')
        .map(([k, v]) => `${k}=${quote(v)}`)
        .join(' ');
      return [c.green(`  + ${op.kind} ${op.name}`) + c.dim(`  ${fields}`)];
    };
    const update = (op: UpdateOp) => [
      c.yellow(`  ~ ${op.kind} ${op.name}`) + c.dim(` (${op.id})${op.adopted ? ' adopted' : ''}`),
      ...op.changes.map(maskChange).map((ch) => `      ${ch.field}: ${ch.from === undefined ? c.dim('(unset)') : quote(ch.from)} → ${ch.to === undefined ? c.dim('(unset)') : quote(ch.to)}`),
    ];
    section(plan.create, create);
    section(plan.update, update);
    section(plan.remove, (r) => [
      c.red(`  - ${r.kind} ${r.name}`) + c.dim(` (${r.id}) ${r.reason === 'prune' ? 'not managed by ispctl, --prune' : r.reason === 'duplicate' ? `duplicate of ${r.key}` : `no longer wanted (${r.key})`}`),
    ]);
    section(plan.sessions, (s) => [c.red(`  - session ${s.name}`) + c.dim(` ${s.reason}${s.ids && s.ids.length > 1 ? ` (${s.ids.length} sessions)` : ''}`)]);
    for (const prof of plan.sessionProfiles) this.say(c.red(`  - sessions on ${prof}`) + c.dim(' speed changed'));
    section(plan.unmanaged, (u) => [
      c.cyan(`  ! ${u.kind} ${u.name}`) +
        c.dim(` (${u.id}) ${u.conflictKey ? `not managed by ispctl and holds the name ${u.conflictKey} needs: left alone (--adopt takes it over, --prune replaces it)` : 'not managed by ispctl: left alone'}`),
    ]);
    const conflicted = new Set(plan.unmanaged.map((u) => u.conflictKey).filter(Boolean));
    section(
      plan.invalid.filter((i) => !conflicted.has(i.key)),
      (i) => [c.red(`  x ${i.key}`) + c.dim(` ${i.error}`)],
    );
    for (const w of plan.warnings) this.warnLine(w);
    const n = p.counts!;
    const parts = [`${n.create} to create`, `${n.update} to update`, `${n.remove} to remove`, `${n.unmanaged} unmanaged left alone`];
    if (n.sessions) parts.push(`${plural(n.sessions, 'session')} to drop`);
    if (plan.sessionProfiles.length) parts.push(`sessions on ${plural(plan.sessionProfiles.length, 'profile')} to drop`);
    if (n.invalid) parts.push(`${n.invalid} not writable`);
    this.say(p.changes ? `  Plan: ${parts.join(', ')}.` : `  No changes.${n.unmanaged ? ` ${n.unmanaged} unmanaged left alone.` : ''}`);
    this.say();
  }

  private renderOutcome(o: RouterSyncOutcome): void {
    const c = this.chalk;
    if (o.status === 'unchanged' || o.status === 'skipped') {
      if (o.jobs && (o.jobs.done || o.jobs.failed)) this.say(`${o.router}: ran ${plural(o.jobs.done + o.jobs.failed, 'queued job')} (${o.jobs.done} done${o.jobs.failed ? `, ${o.jobs.failed} failed` : ''}).`);
      return;
    }
    if (o.status === 'unreachable') {
      this.say(`${o.router}: ${c.red(`could not apply: ${o.error}`)}`);
      return;
    }
    const n = o.counts!;
    const done = [`${n.created} created`, `${n.updated} updated`, `${n.removed} removed`];
    if (n.dropped) done.push(`${plural(n.dropped, 'session')} dropped`);
    this.say(`${o.router}: ${o.status === 'applied' ? c.green('applied') : c.red('applied in part')}: ${done.join(', ')}${n.failed ? c.red(`, ${n.failed} failed`) : ''}.`);
    for (const fail of o.failures ?? []) this.say(`  ${c.red('x')} ${fail.error}`);
    if (o.jobs && (o.jobs.done || o.jobs.failed)) this.say(c.dim(`  then ran ${plural(o.jobs.done + o.jobs.failed, 'queued job')} (${o.jobs.done} done${o.jobs.failed ? `, ${o.jobs.failed} failed` : ''})`));
  }
}

import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { BILLING_TYPES, editPlan } from '../../core/plans/service.js';
import { burstFlags } from './create.js';
import { yesFlag } from '../../cli/flags.js';
import { speedChangeImpact } from '../../core/plans/impact.js';

const FIELD_NAMES: Record<string, string> = {
  name: 'name',
  priceMinor: 'price',
  downloadKbps: 'download',
  uploadKbps: 'upload',
  billingType: 'billing type',
  burst: 'burst',
  throttleDownloadKbps: 'throttle download',
  throttleUploadKbps: 'throttle upload',
  localAddress: 'local address',
  poolRanges: 'address pool',
  suspensionAction: 'suspension action',
};

export default class PlanEdit extends BaseCommand<typeof PlanEdit> {
  static override summary = 'Change a plan. A new price applies to invoices from now on; new speeds to every subscriber on the plan.';
  static override examples = [
    '<%= config.bin %> plan edit "Fiber 50" --download 60M --upload 12M',
    '<%= config.bin %> plan edit "Fiber 50" --price 1,650',
    '<%= config.bin %> plan edit "Fiber 50" --no-burst --throttle-download default',
  ];
  static override ask = { name: 'plan' as const };
  static override args = { name: Args.string({ required: true, description: 'Plan name.' }) };
  static override flags = {
    'new-name': Flags.string({ summary: 'Rename the plan.' }),
    price: Flags.string({ summary: 'Monthly price in the plan currency.' }),
    download: Flags.string({ summary: 'Download speed, e.g. 50M.' }),
    upload: Flags.string({ summary: 'Upload speed, e.g. 10M.' }),
    'billing-type': Flags.string({ summary: 'postpaid or prepaid.', options: [...BILLING_TYPES] }),
    ...burstFlags,
    'no-burst': Flags.boolean({ summary: 'Remove the burst.', helpGroup: 'BURST' }),
    'throttle-download': Flags.string({ summary: 'Download speed when throttled ("default" for the setting).' }),
    'throttle-upload': Flags.string({ summary: 'Upload speed when throttled ("default" for the setting).' }),
    'suspension-action': Flags.string({ summary: 'block, throttle, or default (the setting).', options: ['block', 'throttle', 'default'] }),
    'local-address': Flags.string({ summary: 'PPP profile local-address ("default" for the router\'s).', helpGroup: 'ADDRESSING' }),
    pool: Flags.string({ summary: 'Remote address pool, e.g. 10.10.0.2-10.10.3.254 ("default" for the router\'s pool).', helpGroup: 'ADDRESSING' }),
    yes: yesFlag,
  };

  public async run() {
    const f = this.flags;
    const ctx = await this.ctx();
    if (!f.yes) {
      const burstChanges = f['no-burst'] || [f['burst-download'], f['burst-upload'], f['burst-threshold-download'], f['burst-threshold-upload'], f['burst-time']].some((x) => x !== undefined);
      const impact = await speedChangeImpact(ctx.db, this.args.name, { download: f.download, upload: f.upload, burstChanges });
      if (impact.servicesDropped > 0) {
        const who = `${impact.servicesDropped} subscriber${impact.servicesDropped === 1 ? '' : 's'} on ${impact.routers.join(', ')}`;
        await this.confirmOrAbort(
          `Changing the speed of ${this.args.name} drops the live sessions of up to ${who}; they reconnect at the new speed within seconds. Go ahead?`,
          `Changing the speed of ${this.args.name} drops the live sessions of up to ${who}.`,
        );
      }
    }
    const result = await editPlan(ctx, this.args.name, {
      name: f['new-name'],
      price: f.price,
      download: f.download,
      upload: f.upload,
      billingType: f['billing-type'],
      burstDownload: f['burst-download'],
      burstUpload: f['burst-upload'],
      burstThresholdDownload: f['burst-threshold-download'],
      burstThresholdUpload: f['burst-threshold-upload'],
      burstTime: f['burst-time'],
      clearBurst: f['no-burst'],
      throttleDownload: f['throttle-download'],
      throttleUpload: f['throttle-upload'],
      suspensionAction: f['suspension-action'],
      localAddress: f['local-address'],
      pool: f.pool,
    });
    if (result.changed.length === 0) {
      this.say(`Plan ${result.plan.name} already looks like that; nothing changed.`);
    } else {
      this.say(`Updated plan ${result.plan.name}: ${result.changed.map((c) => FIELD_NAMES[c] ?? c).join(', ')}.`);
      if (result.accessChanged) this.say(`${result.affectedServiceIds.length} current service${result.affectedServiceIds.length === 1 ? '' : 's'} on the plan get the new speed (rate limit ${result.plan.rateLimit}).`);
      if (result.changed.includes('priceMinor')) this.say(this.chalk.dim('The new price applies to invoices generated from now on.'));
    }
    const routerJobs = await this.applyNow(result.jobIds);
    return routerJobs.status === 'none' ? result : { ...result, routerJobs };
  }
}

import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { BILLING_TYPES, createPlan } from '../../core/plans/service.js';
import { formatMoney } from '../../core/money.js';
import { formatSpeed } from '../../core/speed.js';

export const burstFlags = {
  'burst-download': Flags.string({ summary: 'Burst download rate, faster than --download.', helpGroup: 'BURST' }),
  'burst-upload': Flags.string({ summary: 'Burst upload rate, faster than --upload.', helpGroup: 'BURST' }),
  'burst-threshold-download': Flags.string({ summary: 'Average download rate below which bursting is allowed (default 3/4 of --download).', helpGroup: 'BURST' }),
  'burst-threshold-upload': Flags.string({ summary: 'Average upload rate below which bursting is allowed (default 3/4 of --upload).', helpGroup: 'BURST' }),
  'burst-time': Flags.string({ summary: 'Seconds over which the average is taken (default 8).', helpGroup: 'BURST' }),
};

export const addressingFlags = {
  'local-address': Flags.string({ summary: "PPP profile local-address: the router's side of the PPP links, e.g. 10.10.0.1 (default: the router's).", helpGroup: 'ADDRESSING' }),
  pool: Flags.string({
    summary: "Remote address pool dynamic subscribers get an address from: 10.10.0.2-10.10.3.254, several comma-separated, or 10.10.0.0/22 (default: the router's pool). Never overlaps another pool or a static IP on the same router.",
    helpGroup: 'ADDRESSING',
  }),
};

export default class PlanCreate extends BaseCommand<typeof PlanCreate> {
  static override summary = 'Create a plan: monthly price in the ISP currency, download and upload speed, billing type, optional burst.';
  static override description =
    'Speeds accept 50M, 50Mbps, "50 Mbit/s", 512k, 1.5G (1M = 1000k, as RouterOS counts); a bare number is refused. ' +
    'When a subscriber is suspended for non-payment, the plan\'s suspension action (or the setting suspension-action) blocks or throttles them ' +
    'to the plan\'s throttle speeds (or the settings throttle-download and throttle-upload).';
  static override examples = [
    '<%= config.bin %> plan create "Fiber 50" --price 1500 --download 50M --upload 10M',
    '<%= config.bin %> plan create home-25 --price 999 --download 25Mbps --upload 5Mbps --billing-type prepaid --burst-download 40M --burst-upload 8M',
    '<%= config.bin %> plan create "Fiber 100" --price 2500 --download 100M --upload 20M --local-address 10.20.0.1 --pool 10.20.0.2-10.20.3.254',
    '<%= config.bin %> plan create biz-100 --price 4,500.00 --download 100M --upload 100M --suspension-action throttle --throttle-download 2M --throttle-upload 2M',
  ];
  static override args = { name: Args.string({ required: true, description: 'Plan name, e.g. "Fiber 50".' }) };
  static override flags = {
    price: Flags.string({ required: true, summary: 'Monthly price in the ISP currency, e.g. 1500 or 1,500.00.' }),
    download: Flags.string({ required: true, summary: 'Download speed, e.g. 50M.' }),
    upload: Flags.string({ required: true, summary: 'Upload speed, e.g. 10M.' }),
    'billing-type': Flags.string({ summary: 'postpaid (billed after the period) or prepaid.', options: [...BILLING_TYPES], default: 'postpaid' }),
    ...burstFlags,
    'throttle-download': Flags.string({ summary: 'Download speed when throttled for non-payment (default: setting throttle-download).' }),
    'throttle-upload': Flags.string({ summary: 'Upload speed when throttled for non-payment (default: setting throttle-upload).' }),
    'suspension-action': Flags.string({ summary: 'What suspension for non-payment does (default: setting suspension-action).', options: ['block', 'throttle', 'default'] }),
    ...addressingFlags,
  };

  public async run() {
    const f = this.flags;
    const ctx = await this.ctx();
    const plan = await createPlan(ctx, {
      name: this.args.name,
      price: f.price,
      download: f.download,
      upload: f.upload,
      billingType: f['billing-type'],
      burstDownload: f['burst-download'],
      burstUpload: f['burst-upload'],
      burstThresholdDownload: f['burst-threshold-download'],
      burstThresholdUpload: f['burst-threshold-upload'],
      burstTime: f['burst-time'],
      throttleDownload: f['throttle-download'],
      throttleUpload: f['throttle-upload'],
      suspensionAction: f['suspension-action'],
      localAddress: f['local-address'],
      pool: f.pool,
    });
    this.say(`Created plan ${plan.name}: ${formatMoney(plan.priceMinor, plan.currency)} a month, ${formatSpeed(plan.downloadKbps)} down / ${formatSpeed(plan.uploadKbps)} up, ${plan.billingType}.`);
    this.say(this.chalk.dim(`MikroTik rate limit (upload/download): ${plan.rateLimit}`));
    if (plan.poolRanges) this.say(this.chalk.dim(`Address pool ${plan.poolName}: ${plan.poolRanges}${plan.localAddress ? `, local address ${plan.localAddress}` : ''}`));
    this.essential(plan.name);
    return plan;
  }
}

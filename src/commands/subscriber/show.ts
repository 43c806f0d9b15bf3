import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { formatDate } from '../../cli/format.js';
import { formatSpeed } from '../../core/speed.js';
import { showSubscriber } from '../../core/subscribers/service.js';

export default class SubscriberShow extends BaseCommand<typeof SubscriberShow> {
  protected override readsOnly = true;
  static override summary = 'Show a subscriber and their services: plan, router, price today, access. The PPPoE password is masked.';
  static override examples = ['<%= config.bin %> subscriber show S-000123', '<%= config.bin %> subscriber show juan.dc --show-password'];
  static override ask = { ref: 'subscriber' as const };
  static override args = { ref: Args.string({ required: true, description: 'Account number (S-000123) or PPPoE username.' }) };
  static override flags = { 'show-password': Flags.boolean({ summary: 'Print the PPPoE password in clear.' }) };

  public async run() {
    const ctx = await this.ctx();
    const { timezone: tz } = await this.formats();
    const d = await showSubscriber(ctx, this.args.ref, { showPassword: this.flags['show-password'] });
    const s = d.subscriber;
    this.details([
      ['account', s.accountNo],
      ['name', s.fullName],
      ['email', s.email ?? ''],
      ['phone', s.phone ?? ''],
      ['address', s.address ?? ''],
      ['notes', s.notes ?? ''],
      ...(d.collectionsHold ? [['extension', `not suspended by collections until ${d.collectionsHold.until}${d.collectionsHold.reason ? `: ${d.collectionsHold.reason}` : ''}`] as [string, string]] : []),
    ]);
    for (const svc of d.services) {
      const a = svc.access;
      const p = svc.price;
      this.say('');
      this.details([
        ['service', `${svc.username}${svc.endedOn ? ` (ended ${svc.endedOn})` : ''}`],
        ['password', svc.password],
        ['plan', svc.plan],
        ['router', svc.router ?? '(removed)'],
        ['static ip', svc.staticIp ?? ''],
        ['price', `${p.amount} ${p.currency} a month${p.individual ? ' (individual price)' : ''}${p.discount ? `, ${p.base} less ${p.discount}${p.discountUntil ? ` until ${p.discountUntil}` : ''}${p.discountActive ? '' : ' (expired)'}` : ''}`],
        ['admin status', svc.adminStatus === 'suspended' ? `suspended since ${svc.adminSuspendedAt ? formatDate(svc.adminSuspendedAt, tz) : '?'}: ${svc.adminReason}` : 'active'],
        ['collection', svc.collectionStatus],
        ['access', a.state === 'blocked' ? `blocked: ${a.detail}` : `${a.state} at ${formatSpeed(a.downloadKbps!)} down / ${formatSpeed(a.uploadKbps!)} up (rate limit ${a.rateLimit})`],
        ['started', svc.startedOn],
      ]);
    }
    return d;
  }
}

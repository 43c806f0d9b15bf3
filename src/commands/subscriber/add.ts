import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { checkSubscriberInput } from '../../core/subscribers/create.js';
import type { SubscriberInput } from '../../core/subscribers/prepare.js';
import { addSubscriber } from '../../core/subscribers/service.js';

export default class SubscriberAdd extends BaseCommand<typeof SubscriberAdd> {
  static override summary = 'Add a subscriber with their PPPoE service: credentials, plan, router, optional static IP and billing terms.';
  static override description =
    'A strong password is generated when --password is omitted and shown once. An individual --price replaces the plan price; ' +
    '--discount (an amount, or a percentage like 10%) applies after it, until --discount-until if given.';
  static override examples = [
    '<%= config.bin %> subscriber add --name "Juan Dela Cruz" --username juan.dc --plan "Fiber 50" --router core1',
    '<%= config.bin %> subscriber add --name "Ana Reyes" --phone "0917 123 4567" --username ana --plan "Fiber 50" --router core1 --static-ip 10.20.0.15 --discount 10% --discount-until 2027-01-31',
  ];
  static override ask = { plan: 'plan' as const, router: 'router' as const };
  static override flags = {
    name: Flags.string({ required: true, summary: 'Full name of the person or company.' }),
    email: Flags.string({ summary: 'Email address.' }),
    phone: Flags.string({ summary: 'Phone number (7 to 15 digits, optional +).' }),
    address: Flags.string({ summary: 'Service address.' }),
    notes: Flags.string({ summary: 'Free text.' }),
    username: Flags.string({ required: true, summary: 'PPPoE username: letters, digits and . _ - @ +, up to 64.' }),
    password: Flags.string({ summary: 'PPPoE password (generated when omitted).' }),
    plan: Flags.string({ required: true, summary: 'Plan name.' }),
    router: Flags.string({ required: true, summary: 'Router the subscriber dials in through.' }),
    'static-ip': Flags.string({ summary: 'Fixed IPv4 address.' }),
    price: Flags.string({ summary: 'Individual monthly price replacing the plan price.' }),
    discount: Flags.string({ summary: 'Discount after the price: an amount (100) or a percentage (10%).' }),
    'discount-until': Flags.string({ summary: 'Last day of the discount, YYYY-MM-DD.' }),
    'start-date': Flags.string({ summary: 'First day of service, YYYY-MM-DD (default today).' }),
  };

  /** The values themselves (names, contact, credentials, address, money, dates), checked before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    checkSubscriberInput(this.input(), (await this.inputFormats()).currency);
  }

  private input(): SubscriberInput {
    const f = this.flags;
    return {
      fullName: f.name,
      email: f.email,
      phone: f.phone,
      address: f.address,
      notes: f.notes,
      username: f.username,
      password: f.password,
      plan: f.plan,
      router: f.router,
      staticIp: f['static-ip'],
      price: f.price,
      discount: f.discount,
      discountUntil: f['discount-until'],
      startDate: f['start-date'],
    };
  }

  public async run() {
    const ctx = await this.ctx();
    const result = await addSubscriber(ctx, this.input());
    const { subscriber: s, service } = result;
    this.say(`Added ${s.accountNo} ${s.fullName}: PPPoE user ${service.username} on ${result.plan} via ${result.router}${service.staticIp ? ` at ${service.staticIp}` : ''}.`);
    if (result.generatedPassword) this.say(`PPPoE password (shown once; ispctl subscriber show ${s.accountNo} --show-password reveals it later): ${result.generatedPassword}`);
    this.essential(s.accountNo);
    const routerJobs = await this.applyNow(result.jobIds);
    return routerJobs.status === 'none' ? result : { ...result, routerJobs };
  }
}

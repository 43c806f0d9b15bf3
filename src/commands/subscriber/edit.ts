import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { checkSubscriberChanges } from '../../core/subscribers/edit.js';
import { editSubscriber, type SubscriberChanges } from '../../core/subscribers/service.js';

export default class SubscriberEdit extends BaseCommand<typeof SubscriberEdit> {
  static override summary = 'Change a subscriber or their service: contact details, credentials, plan, router, static IP, price, discount.';
  static override description = 'Give "none" (or "") to clear an optional value: --email none, --static-ip none, --price none (back to the plan price), --discount none.';
  static override examples = [
    '<%= config.bin %> subscriber edit S-000123 --plan "Fiber 100"',
    '<%= config.bin %> subscriber edit juan.dc --static-ip 10.20.0.16 --phone "+63 917 000 1111"',
    '<%= config.bin %> subscriber edit juan.dc --generate-password',
  ];
  static override ask = { ref: 'subscriber' as const };
  static override args = { ref: Args.string({ required: true, description: 'Account number (S-000123) or PPPoE username.' }) };
  static override flags = {
    name: Flags.string({ summary: 'Full name.' }),
    email: Flags.string({ summary: 'Email address (none clears it).' }),
    phone: Flags.string({ summary: 'Phone number (none clears it).' }),
    address: Flags.string({ summary: 'Service address (none clears it).' }),
    notes: Flags.string({ summary: 'Free text (none clears it).' }),
    username: Flags.string({ summary: 'New PPPoE username.' }),
    password: Flags.string({ summary: 'New PPPoE password.' }),
    'generate-password': Flags.boolean({ summary: 'Replace the PPPoE password with a generated one (shown once).' }),
    plan: Flags.string({ summary: 'Move to this plan.' }),
    router: Flags.string({ summary: 'Move to this router.' }),
    'static-ip': Flags.string({ summary: 'Fixed IPv4 address (none removes it).' }),
    price: Flags.string({ summary: 'Individual monthly price (none: the plan price).' }),
    discount: Flags.string({ summary: 'Discount: an amount or a percentage like 10% (none removes it).' }),
    'discount-until': Flags.string({ summary: 'Last day of the discount, YYYY-MM-DD (none: no end).' }),
  };

  /** The new values themselves, checked before the database is opened or migrated. */
  protected override async checkInput(): Promise<void> {
    checkSubscriberChanges(this.changes(), (await this.inputFormats()).currency);
  }

  private changes(): SubscriberChanges {
    const f = this.flags;
    return {
      fullName: f.name,
      email: f.email,
      phone: f.phone,
      address: f.address,
      notes: f.notes,
      username: f.username,
      password: f.password,
      generatePassword: f['generate-password'],
      plan: f.plan,
      router: f.router,
      staticIp: f['static-ip'],
      price: f.price,
      discount: f.discount,
      discountUntil: f['discount-until'],
    };
  }

  public async run() {
    const ctx = await this.ctx();
    const result = await editSubscriber(ctx, this.args.ref, this.changes());
    const who = `${result.subscriber.accountNo}${result.service ? ` (${result.service.username})` : ''}`;
    if (result.changed.length === 0) this.say(`${who} already looks like that; nothing changed.`);
    else this.say(`Updated ${who}: ${result.changed.join(', ')}.`);
    if (result.generatedPassword) this.say(`New PPPoE password (shown once): ${result.generatedPassword}`);
    const routerJobs = await this.applyNow(result.jobIds);
    return routerJobs.status === 'none' ? result : { ...result, routerJobs };
  }
}

// The subscriber's personal payment page: what they owe, their open invoices with a PDF of
// each, how to pay, and a button to the gateway's checkout. Rendered from an Eta template with
// HTML escaping; every value in the checkout link is URL-encoded.
import type { ServiceContext } from '../context.js';
import { creditBySubscriber, openInvoices } from '../ledger/read-model.js';
import { loadDocumentSettings } from '../documents/model.js';
import { builtinDocumentsDir } from '../documents/render.js';
import { formatMoney, toDecimalString } from '../money.js';
import { listSettings } from '../settings/service.js';
import { Eta } from 'eta';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface PayPageInvoice {
  number: string;
  period: string;
  dueDate: string;
  balance: string;
  overdue: boolean;
  pdfPath: string;
}

export interface PayPage {
  isp: { name: string; addressLines: string[] };
  name: string;
  accountNo: string;
  amountDue: string;
  amountDueMinor: bigint;
  credit: string | null;
  invoices: PayPageInvoice[];
  checkoutUrl: string | null;
  gcash: string | null;
  bankLines: string[];
  expiresOn: string;
}

/** Fills the checkout URL template; each value URL-encoded. */
export function checkoutUrl(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_m, k: string) => encodeURIComponent(values[k] ?? ''));
}

export async function payPage(ctx: Pick<ServiceContext, 'db' | 'clock'>, opts: { accountNo: string; token: string; expiresAt: Date }): Promise<PayPage | null> {
  const db = ctx.db;
  const sub = await db('subscribers').where({ account_no: opts.accountNo }).first('id', 'account_no', 'full_name');
  if (!sub) return null;
  const doc = await loadDocumentSettings(db);
  const settings = new Map((await listSettings(db)).map((s) => [s.key, s.value]));
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: doc.timezone }).format(ctx.clock.now());
  const invoices = (await openInvoices(db, [Number(sub.id)], today)).get(Number(sub.id)) ?? [];
  const credit = (await creditBySubscriber(db, [Number(sub.id)])).get(Number(sub.id)) ?? 0n;
  const money = (m: bigint) => formatMoney(m, doc.currency);
  const owed = invoices.reduce((t, i) => t + i.balanceMinor, 0n);
  const due = owed - credit > 0n ? owed - credit : 0n;
  const template = settings.get('checkout-url-template');
  const first = invoices[0];
  return {
    isp: { name: doc.ispName, addressLines: doc.address ? doc.address.split('\n') : [] },
    name: String(sub.full_name),
    accountNo: String(sub.account_no),
    amountDue: money(due),
    amountDueMinor: due,
    credit: credit > 0n ? money(credit) : null,
    invoices: invoices.map((i) => ({
      number: i.number,
      period: i.periodKey,
      dueDate: i.dueDate,
      balance: money(i.balanceMinor),
      overdue: i.overdue,
      pdfPath: `/pay/${opts.token}/invoices/${encodeURIComponent(i.number)}.pdf`,
    })),
    checkoutUrl:
      template && due > 0n
        ? checkoutUrl(String(template), {
            account: String(sub.account_no),
            invoice: first ? first.number : '',
            amount: toDecimalString(due, doc.currency),
            amount_minor: due.toString(),
            name: String(sub.full_name),
          })
        : null,
    gcash: doc.gcashNumber ? `${doc.gcashNumber}${doc.gcashName ? ` (${doc.gcashName})` : ''}` : null,
    bankLines: doc.bankDetails ? doc.bankDetails.split('\n') : [],
    expiresOn: new Intl.DateTimeFormat('en-CA', { timeZone: doc.timezone }).format(opts.expiresAt),
  };
}

export async function renderPayPage(page: PayPage, templatesDir: string | null): Promise<string> {
  const file = [templatesDir ? join(resolve(templatesDir), 'pay.html.eta') : null, join(builtinDocumentsDir(), 'pay.html.eta')].find((f) => f && existsSync(f))!;
  const eta = new Eta({ autoEscape: true, autoTrim: false, useWith: false, cache: false });
  return eta.renderString(readFileSync(file, 'utf8'), { page });
}

/** A short page for a link that is expired, forged or unknown: no detail of which. */
export function linkProblemPage(ispName: string, reason: 'expired' | 'invalid'): string {
  const e = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const text = reason === 'expired' ? 'This payment link has expired. Ask us for a new one, or use the link in your latest message.' : 'This payment link is not valid.';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${e(ispName)}</title></head><body><h1>${e(ispName)}</h1><p>${e(text)}</p></body></html>`;
}

// The catalogue of errors that several places raise: one code, one message shape and one set
// of suggestions each, so `ispctl` says the same thing about the same mistake wherever it is
// made. Codes are stable (scripts match on them); add an entry here rather than writing a
// second message for an existing code.
import { IspctlError, invalid, notFound } from './errors.js';

const NAME_LIKE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export const errors = {
  /** A plan named by a flag or an import row does not exist. */
  planNotFound: (name: string): IspctlError =>
    notFound('PLAN_NOT_FOUND', `There is no plan called ${JSON.stringify(name)}.`, ['ispctl plan list shows the plans', 'ispctl plan create … adds one (ispctl never invents a price)']),

  /** A router named by a flag does not exist. */
  routerNotFound: (name: string): IspctlError =>
    notFound('ROUTER_NOT_FOUND', `There is no router called ${JSON.stringify(name)}.`, ['ispctl router list shows the routers', `ispctl router add ${NAME_LIKE.test(name) ? name : 'NAME'} --host … to register it`]),

  /** An account number or PPPoE username names no subscriber. */
  subscriberNotFound: (ref: string): IspctlError =>
    notFound('SUBSCRIBER_NOT_FOUND', `There is no subscriber with account number or username ${JSON.stringify(ref)}.`, [`ispctl subscriber list --search ${JSON.stringify(ref)}`]),

  /** A payment id (P-12) names no payment. */
  paymentNotFound: (id: number): IspctlError => notFound('PAYMENT_NOT_FOUND', `There is no payment P-${id}.`, ['ispctl payment list shows recent payments']),

  /** An invoice number names no invoice. */
  invoiceNotFound: (number: string): IspctlError => notFound('INVOICE_NOT_FOUND', `There is no invoice numbered ${JSON.stringify(number)}.`, ['ispctl invoice list shows recent invoices']),

  /** A destructive command run without a person to ask and without --yes. `what`: "Voiding invoice INV-…". */
  confirmationRequired: (what: string, why?: string): IspctlError =>
    invalid('CONFIRMATION_REQUIRED', `${what} needs confirmation${why ? `: ${why}` : ''}.`, ['Add --yes to confirm']),
} as const;

// The catalogue of errors that more than one place raises: one code, one kind (so one exit
// code), one message shape and one set of suggestions each, so `ispctl` says the same thing
// about the same mistake wherever it is made. Codes are stable (scripts match on them).
//
// The rule, checked by test/unit/error-catalogue.test.ts: every code is raised from exactly one
// place in the source. A code that a second place needs moves here, and both places call the
// entry; a code raised from one place only keeps its message beside the check that raises it.
import { IspctlError, conflict, invalid, notFound } from './errors.js';

const NAME_LIKE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Free-text fields (reasons, references, keys): one line, no control characters. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** After a failure that rolled back: safe to run the same command again. */
export const SAFE_TO_REPEAT = 'Nothing was half-done: what did not commit was rolled back, so run the same command again once this is fixed';
const DATABASE_URL_FORM = 'Use the form postgres://user:password@host:5432/database';
const SMTP_SUGGESTIONS = ['ispctl settings set smtp-url smtp://user:password@mail.example.net:587', 'ispctl settings set mail-from "Example ISP <billing@example.net>"'];
const SMS_SUGGESTIONS = ['ispctl settings set sms-url https://sms.example.net/api/send', `ispctl settings set sms-body-template '{"to":"{{to}}","text":"{{text}}"}'`];

export const errors = {
  // ---- things named that do not exist ---------------------------------------------------------

  /** A plan named by a flag or an import row does not exist. */
  planNotFound: (name: string): IspctlError =>
    notFound('PLAN_NOT_FOUND', `There is no plan called ${JSON.stringify(name)}.`, ['ispctl plan list shows the plans', 'ispctl plan create … adds one (ispctl never invents a price)']),

  /** A router named by a flag does not exist. `role`: what it was named for ("to move the services to"). */
  routerNotFound: (name: string, role?: string): IspctlError =>
    notFound('ROUTER_NOT_FOUND', `There is no router called ${JSON.stringify(name)}${role ? ` ${role}` : ''}.`, ['ispctl router list shows the routers', `ispctl router add ${NAME_LIKE.test(name) ? name : 'NAME'} --host … to register it`]),

  /** An account number or PPPoE username (or an internal id) names no subscriber. */
  subscriberNotFound: (ref: string | number): IspctlError =>
    typeof ref === 'number'
      ? notFound('SUBSCRIBER_NOT_FOUND', `There is no subscriber with id ${ref}.`, ['ispctl subscriber list shows the subscribers'])
      : notFound('SUBSCRIBER_NOT_FOUND', `There is no subscriber with account number or username ${JSON.stringify(ref)}.`, [`ispctl subscriber list --search ${JSON.stringify(ref)}`]),

  /** A payment id (P-12) names no payment. */
  paymentNotFound: (id: number): IspctlError => notFound('PAYMENT_NOT_FOUND', `There is no payment P-${id}.`, ['ispctl payment list shows recent payments']),

  /** An invoice number names no invoice. */
  invoiceNotFound: (number: string): IspctlError => notFound('INVOICE_NOT_FOUND', `There is no invoice numbered ${JSON.stringify(number)}.`, ['ispctl invoice list shows recent invoices']),

  // ---- how a command was called ---------------------------------------------------------------

  /** A destructive command run without a person to ask and without --yes. `what`: "Voiding invoice INV-…". */
  confirmationRequired: (what: string, why?: string, suggestions: string[] = []): IspctlError =>
    invalid('CONFIRMATION_REQUIRED', `${what} needs confirmation${why ? ` (${why})` : ''}. Pass --yes to go ahead; nothing was changed.`, [...suggestions, 'Add --yes to confirm (ispctl does not ask in scripts)']),

  /**
   * Something the command needs was not given. `message` says what ("Missing --allow-from: the
   * address ispctl connects from"); the suggestions show the command with it.
   */
  missingFlags: (message: string, suggestions: string[], details?: Record<string, unknown>): IspctlError => invalid('MISSING_FLAGS', message, suggestions, details),

  /** Two flags that cannot go together. `message`: "Give a new password or ask for a generated one, not both." */
  conflictingFlags: (message: string, suggestion: string): IspctlError => invalid('CONFLICTING_FLAGS', message, [suggestion]),

  /** `--out -` asks for stdout, which --json needs for its document. */
  stdoutTakenByJson: (): IspctlError => invalid('INVALID_USAGE', '--out - writes the document to stdout, which --json needs for itself.', ['--out FILE']),

  /** A flag combination or value oclif's parser refused (its reason as the message). */
  invalidUsage: (message: string, cause?: unknown): IspctlError =>
    new IspctlError('INVALID_USAGE', message, { kind: 'invalid', cause, suggestions: ["Add --help to see the command's flags"] }),

  /** A date that is not one, or not one allowed here. `why`: "is not a real calendar date". */
  invalidDate: (field: string, input: unknown, why: string, suggestion = 'Use YYYY-MM-DD, e.g. 2026-11-24'): IspctlError =>
    invalid('INVALID_DATE', `${field.charAt(0).toUpperCase()}${field.slice(1)} ${JSON.stringify(String(input))} ${why}.`, [suggestion], { field, input }),

  /** A date range whose end is before its start. */
  dateRangeReversed: (from: string, to: string): IspctlError => invalid('INVALID_DATE_RANGE', `--to ${to} is before --from ${from}.`, [`--from ${to} --to ${from}`]),

  // ---- free text --------------------------------------------------------------------------------

  /**
   * A reason (suspension, void, adjustment, collections pause): required, one line, at most 500
   * characters. `action`: what it is the reason for ("voiding the invoice"); `example`: a reason.
   */
  checkReason: (raw: string | undefined, action: string, example: string): string => {
    const r = (raw ?? '').trim();
    if (r === '') throw invalid('MISSING_REASON', `Give a reason for ${action}; it is kept with it and in the audit log.`, [`--reason ${JSON.stringify(example)}`]);
    if (r.length > 500 || CONTROL.test(r)) {
      throw invalid('INVALID_REASON', `The reason must be one line of at most 500 characters${r.length > 500 ? `; it is ${r.length} characters long` : '; it contains control characters'}.`, ['Shorten it to one line']);
    }
    return r;
  },

  /**
   * A short free-text value (a payment reference, an idempotency key): at most `max`
   * characters, no control characters. Returns the trimmed value.
   */
  checkText: (code: 'INVALID_REFERENCE' | 'INVALID_IDEMPOTENCY_KEY', label: string, raw: string, max: number): string => {
    const s = raw.trim();
    if (s.length > max) throw invalid(code, `The ${label} is ${s.length} characters long; the limit is ${max}.`);
    if (CONTROL.test(s)) throw invalid(code, `The ${label} contains control characters.`, ['Give it on one line']);
    return s;
  },

  /** A CSV file ispctl cannot read as the table it expects. `problem`: "is empty", "is malformed on line 3: …". */
  invalidCsv: (problem: string, suggestions: string[] = [], details?: Record<string, unknown>): IspctlError =>
    invalid('INVALID_CSV', `The CSV file ${problem}.`, suggestions, details),

  // ---- settings ---------------------------------------------------------------------------------

  /**
   * A setting value that is not allowed: "`key` must be `expected`, got "raw"." `example`: a
   * value that works, shown as the command to set it.
   */
  settingValue: (key: string, expected: string, raw?: unknown, example?: string | string[]): IspctlError =>
    invalid(
      'INVALID_SETTING_VALUE',
      `${key} must be ${expected}${raw === undefined ? '' : `, got ${JSON.stringify(String(raw))}`}.`,
      (Array.isArray(example) ? example : example === undefined ? [] : [example]).map((e) => `ispctl settings set ${key} ${e}`),
    ),

  // ---- the database -----------------------------------------------------------------------------

  /** Exit 1: the database has no ispctl settings yet (a read command, or a service before init). */
  notInitialised: (location?: string, doing: 'read' | 'write' = 'read'): IspctlError =>
    new IspctlError('NOT_INITIALISED', `The database${location ? ` at ${location}` : ''} has not been initialised: ${doing === 'read' ? 'there is nothing to show yet' : 'nothing was changed'}.`, {
      kind: 'failure',
      suggestions: [
        'Run `ispctl init` first (it asks for the ISP name, currency and time zone)',
        'Or point ISPCTL_DATABASE_URL (or --database-url) at the database you initialised',
      ],
    }),

  /** The PostgreSQL server did not answer (`where`: " at host:5432/db"). */
  databaseUnreachable: (where: string, why: string, cause: unknown): IspctlError =>
    new IspctlError('DATABASE_UNREACHABLE', `Cannot reach PostgreSQL${where}: ${why.replace(/\.$/, '')}.`, {
      kind: 'failure',
      cause,
      suggestions: ['Check that the server is running and the URL (host, port, user, password, database) is right', 'Unset ISPCTL_DATABASE_URL and DATABASE_URL to use the embedded database', SAFE_TO_REPEAT],
      details: { cause: 'unreachable', safeToRepeat: true },
    }),

  /** A database URL that is not a postgres:// URL with what ispctl (or FreeRADIUS) needs. */
  databaseUrl: (code: 'INVALID_DATABASE_URL' | 'RADIUS_DB_URL', shownUrl: string, why: string): IspctlError =>
    invalid(code, `The database URL ${shownUrl} ${why}.`, [DATABASE_URL_FORM, ...(code === 'INVALID_DATABASE_URL' ? ['Unset ISPCTL_DATABASE_URL and DATABASE_URL to use the embedded database'] : [])]),

  /**
   * The embedded database stayed in use past the lock timeout. `who`: "process 123 (billing
   * generate, since …)"; `hint`: how to clear a stale lock on this platform.
   */
  databaseLocked: (who: string, timeoutMs: number, hint: string, details: Record<string, unknown>): IspctlError =>
    new IspctlError('DATABASE_LOCKED', `The embedded database is in use by ${who}; gave up after ${Math.round(timeoutMs / 1000)} s.`, {
      kind: 'failure',
      suggestions: [
        'Wait for that command to finish and try again',
        'Raise the wait with --lock-timeout <seconds> or ISPCTL_LOCK_TIMEOUT',
        hint,
        'Use PostgreSQL (ISPCTL_DATABASE_URL) to run several processes at once',
      ],
      details,
    }),

  /** A row another process changed or removed between our read and our conditional update. */
  changedConcurrently: (what: string, cause?: unknown): IspctlError =>
    new IspctlError('CONFLICT', `${what} was changed by another process at the same time; nothing was changed.`, { kind: 'conflict', cause, suggestions: ['Run the command again'] }),

  /** A unique constraint the checks before it could not see (a concurrent insert). */
  alreadyExists: (detail: string, cause?: unknown): IspctlError =>
    new IspctlError('CONFLICT', `That already exists (${detail}); nothing was changed.`, { kind: 'conflict', cause, suggestions: ['Run the command again to see which one'] }),

  /** A subscriber whose services have all ended. `detail`: " to suspend", " under \"ana\"". */
  serviceEnded: (accountNo: string, detail = ''): IspctlError =>
    conflict('SERVICE_ENDED', `Subscriber ${accountNo} has no current service${detail}; it ended.`, [`ispctl subscriber show ${accountNo}`]),

  /** A FreeRADIUS configuration path ispctl will not use. `what`: "The target directory". */
  freeRadiusPath: (what: string, path: string, why: string): IspctlError => invalid('FREERADIUS_BAD_PATH', `${what} ${JSON.stringify(path)} ${why}.`, ['Give absolute paths: --source the packaged configuration, --target a new directory outside it']),

  // ---- routers ----------------------------------------------------------------------------------

  /** Two routers cannot share a NAS address: FreeRADIUS tells routers apart by it. */
  nasAddressTaken: (address: string | undefined, owner?: string): IspctlError =>
    conflict('NAS_ADDRESS_TAKEN', `The NAS address ${address ?? 'given'} is already used by ${owner ? `router ${JSON.stringify(owner)}` : 'another router'}; FreeRADIUS tells routers apart by it.`, [
      'Give each router its own source address towards FreeRADIUS (e.g. its WireGuard address)',
      'ispctl router list',
    ]),

  /** A router name already registered. */
  routerExists: (name?: string): IspctlError =>
    conflict('ROUTER_EXISTS', name ? `A router called ${JSON.stringify(name)} already exists.` : 'A router with that name already exists (added at the same time by another process).', [
      ...(name ? [`ispctl router show ${name}`] : ['ispctl router list']),
      'Choose another name',
    ]),

  /** The RADIUS shared secret ispctl accepts (it is written into FreeRADIUS and RouterOS). */
  radiusSecretInvalid: (): IspctlError =>
    invalid('INVALID_RADIUS_SECRET', 'The RADIUS secret must be 16 to 128 printable characters without spaces, quotes or backslashes.', ['Leave it out and ispctl generates a strong one']),

  /** ispctl could not reach a router's API. `message` names the router, address and what happened. */
  routerUnreachable: (message: string, suggestions: string[], details?: Record<string, unknown>): IspctlError =>
    new IspctlError('ROUTER_UNREACHABLE', message, {
      kind: 'failure',
      suggestions: [...suggestions, "Check the address and port, that /ip service api (or api-ssl) is enabled and allows ispctl's address, and the API user and password"],
      details,
    }),

  /** An IPv4/IPv6 address that is not one. `why`: "is not an IPv4 address". */
  invalidAddress: (field: string, input: unknown, why: string, suggestions: string[] = []): IspctlError =>
    invalid('INVALID_ADDRESS', `The ${field} ${JSON.stringify(String(input ?? ''))} ${why}.`, suggestions, { field, input }),

  /** The lab NAS refused a dial (bad password, secret disabled, …). */
  labDialRejected: (message: string, details: Record<string, unknown>, cause?: unknown): IspctlError =>
    new IspctlError('LAB_DIAL_REJECTED', message, { kind: 'failure', cause, details, suggestions: ['ispctl lab sessions shows who is connected', 'ispctl subscriber show USER shows why a subscriber may be refused'] }),

  /** RouterOS 6 has no WireGuard, so the management tunnel cannot be used. */
  routerOsWithoutWireGuard: (router: string, version: string): IspctlError =>
    new IspctlError('ROUTEROS_WITHOUT_WIREGUARD', `Router ${router} runs RouterOS ${version}, which has no WireGuard (it arrived in RouterOS 7).`, {
      kind: 'conflict',
      suggestions: [
        `Upgrade the router to RouterOS 7 and run ispctl router onboard ${router} again`,
        `Or onboard it with a management address ispctl can reach: ispctl router install-script ${router} --management-address ROUTER-IP --allow-from ISPCTL-IP`,
      ],
    }),

  // ---- invoices, payments, messages -------------------------------------------------------------

  /** A draft invoice is not the customer's yet: it cannot be sent, rendered or paid. */
  invoiceDraft: (number: string): IspctlError => conflict('INVOICE_DRAFT', `Invoice ${number} is a draft; issue it before sending it to the customer.`, [`ispctl invoice show ${number}`]),

  /** A void invoice cannot be sent or paid. */
  invoiceVoid: (number: string, doing: string): IspctlError => conflict('INVOICE_VOID', `Invoice ${number} is void; it cannot be ${doing}.`, [`ispctl invoice show ${number}`]),

  /**
   * Voiding what is void already: `record` is what the row says (when, why), or undefined when
   * another process voided it between our read and our conditional update.
   */
  alreadyVoid: (code: 'INVOICE_ALREADY_VOID' | 'PAYMENT_ALREADY_VOID', what: string, show: string, record?: { voidedAt: Date | null; voidReason: string | null }): IspctlError =>
    conflict(
      code,
      record
        ? `${what} was voided already${record.voidedAt ? ` on ${record.voidedAt.toISOString().slice(0, 10)}` : ''} (${record.voidReason ?? 'no reason'}).`
        : `${what} was voided by another process at the same time.`,
      [show],
    ),

  /** No invoice named where one is needed. */
  missingInvoice: (suggestions: string[]): IspctlError => invalid('MISSING_INVOICE', 'Name an invoice by its number, e.g. INV-2026-000123.', suggestions),

  /** A payment method ispctl does not know. */
  paymentMethod: (input: unknown, methods: readonly string[]): IspctlError =>
    invalid('INVALID_PAYMENT_METHOD', `Payment method ${JSON.stringify(String(input))} is not one of ${methods.join(', ')}.`, [`--method ${methods.join('|')}`]),

  /** Email needs smtp-url and mail-from. `missing`: which of them, when known. */
  emailNotSetUp: (missing?: string): IspctlError => invalid('EMAIL_NOT_SET_UP', `Email is not set up${missing ? `: ${missing} is not set` : ''}.`, SMTP_SUGGESTIONS),

  /** SMS needs sms-url (and a body template). */
  smsNotSetUp: (alternative?: string): IspctlError => invalid('SMS_NOT_SET_UP', 'SMS is not set up: sms-url is not set.', [...SMS_SUGGESTIONS, ...(alternative ? [alternative] : [])]),

  /** Payment links (pay pages, SMS links) need public-url. `what`: "An invoice SMS carries a link to the payment page". */
  publicUrlNotSet: (what: string, alternative?: string): IspctlError =>
    invalid('PUBLIC_URL_NOT_SET', `${what}, and public-url (the address customers reach the daemon's pay pages at) is not set.`, [
      'ispctl settings set public-url https://pay.example.net',
      'ispctl settings set intake-listen 127.0.0.1:8470',
      ...(alternative ? [alternative] : []),
    ]),

  /** A month that is not YYYY-MM. `field`: "--period" or "Billing period". */
  period: (field: string, input: unknown): IspctlError =>
    invalid('INVALID_PERIOD', `${field} ${JSON.stringify(String(input))} is not a month in the form YYYY-MM.`, ['Use YYYY-MM, e.g. 2026-11'], { input }),
} as const;

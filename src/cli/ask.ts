// Asking people for what a command needs: missing required flags and arguments on a terminal
// (a plan or router from a list, a subscriber by search, passwords masked), and confirmations of
// destructive changes. Loaded only when there is something to ask, so start-up stays fast.
// Scripts are never asked anything: the base command turns what is missing into one error.
import type { Knex } from 'knex';

type Db = Knex;

/** How to ask for one flag or argument. */
export type AskKind = 'text' | 'password' | 'plan' | 'router' | 'subscriber' | 'choice';

export interface Missing {
  /** Flag name (`plan`) or argument name (`ref`). */
  name: string;
  kind: 'flag' | 'arg';
  /** What the flag is for (its summary or the argument's description). */
  label: string;
  /** The flag's options, if it has a fixed list. */
  options?: readonly string[];
  ask: AskKind;
}

/** `--name`, `--plan` and `REF`, for messages. */
export function missingLabel(m: Pick<Missing, 'name' | 'kind'>): string {
  return m.kind === 'flag' ? `--${m.name}` : m.name.toUpperCase();
}

export function listWords(words: string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

/** What to ask for a flag whose command says nothing about it. */
export function defaultAskKind(name: string, options?: readonly string[]): AskKind {
  if (options?.length) return 'choice';
  if (/password|secret/.test(name)) return 'password';
  return 'text';
}

function message(m: Missing): string {
  const what: Partial<Record<AskKind, string>> = { plan: 'Plan', router: 'Router', subscriber: 'Subscriber (type a name, account number or username)' };
  return what[m.ask] ?? `${missingLabel(m)}: ${m.label.replace(/\.$/, '')}`;
}

/** Asks for one missing value on the terminal. `db` opens the database when a list is needed. */
export async function askFor(m: Missing, db: () => Promise<Db>): Promise<string> {
  const prompts = await import('@inquirer/prompts');
  const required = (v: string) => (v.trim() === '' ? 'Required' : true);
  switch (m.ask) {
    case 'password':
      return prompts.password({ message: message(m), mask: '*', validate: required });
    case 'choice':
      return prompts.select({ message: message(m), choices: (m.options ?? []).map((o) => ({ value: o, name: o })) });
    case 'plan': {
      const { listPlans } = await import('../core/plans/service.js');
      const { formatMoney } = await import('../core/money.js');
      const { formatSpeed } = await import('../core/speed.js');
      const plans = await listPlans(await db());
      if (!plans.length) return prompts.input({ message: message(m), validate: required });
      return prompts.select({
        message: message(m),
        choices: plans.map((p) => ({
          value: p.name,
          name: `${p.name}  ${formatMoney(p.priceMinor, p.currency)}  download ${formatSpeed(p.downloadKbps)} / upload ${formatSpeed(p.uploadKbps)}`,
        })),
      });
    }
    case 'router': {
      const { listRouters } = await import('../core/routers/service.js');
      const routers = await listRouters(await db());
      if (!routers.length) return prompts.input({ message: message(m), validate: required });
      return prompts.select({ message: message(m), choices: routers.map((r) => ({ value: r.name, name: `${r.name}  ${r.mode} mode  ${r.host}` })) });
    }
    case 'subscriber': {
      const { listSubscribers } = await import('../core/subscribers/service.js');
      const conn = await db();
      return prompts.search({
        message: message(m),
        source: async (term) => {
          const rows = await listSubscribers(conn, { search: term?.trim() || undefined, limit: 10 });
          return rows.map((r) => ({ value: r.accountNo, name: `${r.accountNo}  ${r.fullName}  ${r.username}`, description: `${r.plan} via ${r.router ?? '?'}` }));
        },
      });
    }
    default:
      return prompts.input({ message: message(m), validate: required });
  }
}

/** Asks yes or no; the default is no. */
export async function askConfirm(question: string): Promise<boolean> {
  const { confirm } = await import('@inquirer/prompts');
  return confirm({ message: question, default: false });
}

/** Ctrl-C at a prompt (inquirer's ExitPromptError). */
export function isPromptExit(err: unknown): boolean {
  return err instanceof Error && err.name === 'ExitPromptError';
}

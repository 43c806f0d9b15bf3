// Asking people for what a command needs: missing required flags and arguments on a terminal
// (a plan or router from a list, a subscriber by search, passwords masked), and confirmations of
// destructive changes. Loaded only when there is something to ask, so start-up stays fast.
// Scripts are never asked anything: the base command turns what is missing into one error.
import type { ServiceContext } from '../core/context.js';

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

/** Asks for one missing value on the terminal. `ctx` opens the database when a list is needed. */
export async function askFor(m: Missing, ctx: () => Promise<ServiceContext>): Promise<string> {
  const prompts = await import('@inquirer/prompts');
  const required = (v: string) => (v.trim() === '' ? 'Required' : true);
  switch (m.ask) {
    case 'password':
      return prompts.password({ message: message(m), mask: '*', validate: required });
    case 'choice':
      return prompts.select({ message: message(m), choices: (m.options ?? []).map((o) => ({ value: o, name: o })) });
    case 'plan':
    case 'router': {
      const { planChoices, routerChoices } = await import('../core/choices.js');
      const choices = await (m.ask === 'plan' ? planChoices : routerChoices)(await ctx());
      if (!choices.length) return prompts.input({ message: message(m), validate: required });
      return prompts.select({ message: message(m), choices });
    }
    case 'subscriber': {
      const { subscriberChoices } = await import('../core/choices.js');
      const c = await ctx();
      return prompts.search({ message: message(m), source: (term) => subscriberChoices(c, term) });
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

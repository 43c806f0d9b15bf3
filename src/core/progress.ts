// How long work tells its caller how far it is: the core calls `onProgress` with the phase it
// is in and, where it knows them, how many of how many are done. It never prints; the command
// line draws it (src/cli/progress.ts), the daemon and the dashboard ignore it.

export interface ProgressEvent {
  /** What is being done, for people: `Checking rows`, `Writing invoices`. */
  phase: string;
  done?: number;
  total?: number;
}

export type OnProgress = (p: ProgressEvent) => void;

/** Calls `onProgress` when given; for core functions whose callers may not want progress. */
export function reporter(onProgress: OnProgress | undefined): OnProgress {
  return onProgress ?? (() => undefined);
}

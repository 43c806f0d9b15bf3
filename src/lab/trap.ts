// The error a lab router operation fails with. The API layer turns it into `!trap` with the same
// message and category; programmatic callers (tests, the lab NAS) catch it like any error.

/** Trap categories as MikroTik documents them. */
export const TrapCategory = {
  missingItemOrCommand: 0,
  badArgument: 1,
  interrupted: 2,
  scripting: 3,
  general: 4,
  api: 5,
} as const;

export class RouterTrap extends Error {
  /** Trap category, or undefined for the plain `failure: …` traps RouterOS sends without one. */
  readonly category: number | undefined;
  constructor(message: string, category?: number) {
    super(message);
    this.name = 'RouterTrap';
    this.category = category;
  }
}

/** `no such item` (category 0). */
export function noSuchItem(): RouterTrap {
  return new RouterTrap('no such item', TrapCategory.missingItemOrCommand);
}

/** A bad argument (category 1). */
export function badArgument(message: string): RouterTrap {
  return new RouterTrap(message, TrapCategory.badArgument);
}

/** A `failure: …` trap, sent without a category as RouterOS does (duplicates, dynamic entries). */
export function failure(message: string): RouterTrap {
  return new RouterTrap(`failure: ${message}`);
}

// Fault switches of the lab router, for testing how clients cope with a misbehaving router.
// A plain object: flip a field at any time and new connections and commands follow it.

export interface Faults {
  /** Close every new connection as soon as it is accepted. */
  refuseConnections: boolean;
  /** Accept commands and never answer them (a hung router). */
  stallReplies: boolean;
  /** Answer each command this many milliseconds late (0 = at once). */
  delayMs: number;
  /**
   * Drop a connection (without a reply) when a command arrives after this many commands on it
   * (`/login` not counted); null = never. 0 drops on the first command after login.
   */
  dropAfterCommands: number | null;
  /**
   * Answer this many commands on a connection (`/login` not counted), then accept the rest and
   * never answer them (a router that hangs part-way through a batch); null = never.
   */
  stallAfterCommands: number | null;
}

export function createFaults(initial: Partial<Faults> = {}): Faults {
  return { refuseConnections: false, stallReplies: false, delayMs: 0, dropAfterCommands: null, stallAfterCommands: null, ...initial };
}

/** Back to a healthy router. */
export function resetFaults(faults: Faults): void {
  Object.assign(faults, createFaults());
}

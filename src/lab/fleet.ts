// Many lab routers in one process, each on its own port with its own configuration and fault
// switches: a fleet for trying router work at scale (hundreds of routers) on one machine.
import type { Faults } from './faults.js';
import { startLabRouter, type LabRouter, type LabRouterOptions } from './api-server.js';

export interface LabFleetOptions extends Omit<LabRouterOptions, 'port' | 'identity' | 'stateFile' | 'state' | 'faults'> {
  /** How many routers. */
  count: number;
  /** First port: router i listens on basePort + i. Default 0: free ports picked by the system. */
  basePort?: number;
  /** Identity of router i: `${prefix}${i + 1}`. Default `lab-`. */
  identityPrefix?: string;
  /** Initial fault switches of router i (e.g. a stalled one). */
  faults?: (index: number) => Partial<Faults> | undefined;
}

export interface LabFleet {
  readonly routers: readonly LabRouter[];
  /** Stop every router. */
  close(): Promise<void>;
}

/** Routers started at once while the fleet comes up (listening sockets opened together). */
const START_BATCH = 50;

/** Start `count` lab routers in this process. Resolves once every one listens. */
export async function startLabFleet(opts: LabFleetOptions): Promise<LabFleet> {
  const { count, basePort, identityPrefix = 'lab-', faults, ...common } = opts;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a whole number of routers, at least 1 (got ${count})`);
  const routers: LabRouter[] = [];
  try {
    for (let i = 0; i < count; i += START_BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(START_BATCH, count - i) }, (_, k) => {
          const index = i + k;
          const initial = faults?.(index);
          return startLabRouter({ ...common, identity: `${identityPrefix}${index + 1}`, port: basePort ? basePort + index : 0, ...(initial ? { faults: initial } : {}) });
        }),
      );
      routers.push(...batch);
    }
  } catch (err) {
    await Promise.all(routers.map((r) => r.close()));
    throw err;
  }
  return {
    routers,
    async close() {
      await Promise.all(routers.map((r) => r.close()));
    },
  };
}

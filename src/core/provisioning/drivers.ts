// The drivers that carry jobs to routers, by router mode. Loaded on demand so commands that
// never touch a router do not pay for them at start-up.
import type { Drivers } from './runner.js';

export async function defaultDrivers(): Promise<Drivers> {
  const [{ apiDriver }, { radiusDriver }] = await Promise.all([import('./routeros/driver.js'), import('./radius/driver.js')]);
  return { api: apiDriver, radius: radiusDriver };
}

import type { ServiceContext } from '../context.js';
import { SETTINGS } from './registry.js';
import { isInitialised, listSettings, setSettings, type SettingView } from './service.js';
import { errors } from '../error-catalogue.js';

export interface InitOptions {
  values: Record<string, unknown>;
  /** Change settings on an already initialised database. */
  force?: boolean;
}

export interface InitResult {
  alreadyInitialised: boolean;
  changed: string[];
  settings: SettingView[];
}

/** The keys `ispctl init` asks for. */
export const INIT_KEYS = SETTINGS.filter((s) => s.initKey).map((s) => s.key);

/**
 * First-time set-up. On an initialised database it changes nothing unless `force` is set.
 * Values not given fall back to their defaults (isp-name has none and is required).
 */
export async function initialise(ctx: ServiceContext, opts: InitOptions): Promise<InitResult> {
  const already = await isInitialised(ctx.db);
  if (already && !opts.force) {
    return { alreadyInitialised: true, changed: [], settings: await listSettings(ctx.db) };
  }
  if (!already && (opts.values['isp-name'] === undefined || String(opts.values['isp-name']).trim() === '')) {
    throw errors.missingFlags('The ISP name is required to set up ispctl.', ['ispctl init --isp-name "My ISP" --yes']);
  }
  const values: Record<string, unknown> = {};
  for (const def of SETTINGS.filter((s) => s.initKey)) {
    const given = opts.values[def.key];
    if (given !== undefined) values[def.key] = given;
    else if (!already && def.default !== undefined) values[def.key] = def.default;
  }
  const { changes } = await setSettings(ctx, values);
  return { alreadyInitialised: already, changed: changes.map((c) => c.key), settings: await listSettings(ctx.db) };
}

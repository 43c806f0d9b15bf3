// The ISP-wide fallbacks the access policy needs, read from the settings table in one query.
import type { Db } from '../db/tx.js';
import { listSettings, type SettingView } from '../settings/service.js';
import { parseSpeed } from '../speed.js';
import type { AccessSettings, SuspensionAction } from './policy.js';

export interface NetworkSettings extends AccessSettings {
  /** API mode: what blocking does to a PPP secret when the router does not say. */
  apiBlockAction: 'disable' | 'remove';
}

/**
 * The settings the access policy and the API-mode drivers read. A change of one of them
 * re-materialises access in the same transaction (provisioning/access.ts, provisionSettingsChange).
 */
export const ACCESS_SETTING_KEYS: readonly string[] = ['suspension-action', 'throttle-download', 'throttle-upload', 'api-block-action'];

export async function loadNetworkSettings(db: Db): Promise<NetworkSettings> {
  return networkSettingsFrom(await listSettings(db));
}

/** The network settings from every setting's view (listSettings, settingViews). */
export function networkSettingsFrom(views: readonly SettingView[]): NetworkSettings {
  const values = new Map(views.map((s) => [s.key, s.value]));
  return {
    suspensionAction: String(values.get('suspension-action') ?? 'block') as SuspensionAction,
    throttleDownloadKbps: parseSpeed(String(values.get('throttle-download') ?? '1M'), { field: 'throttle-download' }),
    throttleUploadKbps: parseSpeed(String(values.get('throttle-upload') ?? '1M'), { field: 'throttle-upload' }),
    apiBlockAction: String(values.get('api-block-action') ?? 'disable') as 'disable' | 'remove',
  };
}

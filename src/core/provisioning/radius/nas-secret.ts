// FreeRADIUS reads its clients (routers) from the `nas` view, and must read each shared secret in
// clear to sign and check packets. ispctl stores secrets encrypted (routers.radius_secret_enc),
// which FreeRADIUS cannot decrypt, so for routers in radius mode ispctl publishes a clear copy in
// routers.radius_secret_nas. Routers in api mode publish nothing (a trigger clears the copy
// when a router leaves radius mode).
import type { ServiceContext } from '../../context.js';
import type { Db } from '../../db/tx.js';
import { decryptSecret, loadSecretKey } from '../../secrets.js';
import { rowsOf } from '../../db/sql.js';

/**
 * Publishes a router's RADIUS shared secret to FreeRADIUS (the `nas` view), or withdraws it with
 * null. Only a router in radius mode keeps a published secret: for any other router this stores
 * null whatever is given. Call it in the transaction that adds a router, changes its secret or
 * its mode. Returns whether a secret is now published.
 */
export async function publishNasSecret(db: Db, routerId: number, secret: string | null): Promise<boolean> {
  const res = await rowsOf<{ published: boolean }>(
    db,
    `update routers set radius_secret_nas = case when mode = 'radius' then ?::text else null end
      where id = ?
      returning radius_secret_nas is not null as published`,
    [secret, routerId],
  );
  const rows = res;
  return rows[0]?.published ?? false;
}

export interface NasSecretSyncResult {
  /** Radius-mode routers whose published secret was missing or stale, now published. */
  published: string[];
  /** Api-mode routers whose stray published secret was withdrawn. */
  withdrawn: string[];
}

/**
 * Makes the published secrets match the encrypted ones: for every radius-mode router, decrypt
 * its secret (needs the key) and publish it where it is missing or different; withdraw any on
 * other routers. Repairs what a missed publishNasSecret call left behind. Never logs a secret.
 */
export async function syncNasSecrets(ctx: Pick<ServiceContext, 'db' | 'env'>, opts: { routerIds?: number[] } = {}): Promise<NasSecretSyncResult> {
  const q = ctx.db('routers').select('id', 'name', 'mode', 'radius_secret_enc', 'radius_secret_nas').orderBy('id');
  if (opts.routerIds) q.whereIn('id', opts.routerIds);
  const rows: Array<{ id: number; name: string; mode: string; radius_secret_enc: string; radius_secret_nas: string | null }> = await q;
  const result: NasSecretSyncResult = { published: [], withdrawn: [] };
  const radius = rows.filter((r) => r.mode === 'radius');
  const key = radius.length ? loadSecretKey(ctx.env) : undefined;
  for (const r of rows) {
    if (r.mode !== 'radius') {
      if (r.radius_secret_nas !== null) {
        await publishNasSecret(ctx.db, r.id, null);
        result.withdrawn.push(r.name);
      }
      continue;
    }
    const secret = decryptSecret(r.radius_secret_enc, key!, 'RADIUS secret');
    if (r.radius_secret_nas !== secret) {
      await publishNasSecret(ctx.db, r.id, secret);
      result.published.push(r.name);
    }
  }
  return result;
}

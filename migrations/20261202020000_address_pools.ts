import type { Knex } from 'knex';

// Address pools: the PPP profile's local address and the remote address pool, carried by a plan
// or, as the default for plans that carry none, by a router. In API mode ispctl writes them as
// /ip/pool and the profile's local-address/remote-address; in RADIUS mode the reply carries
// Framed-Pool (the pool's name) unless the service has a static IP (Framed-IP-Address wins).
//
// Pools are named after what owns them, so SQL and the RouterOS writer agree without storing
// the name: ispctl-pool-<plan id> for a plan's pool, ispctl-pool-default for a router's.
//
// radius_reply_items ids become service id * 4 + k (k = 0 Mikrotik-Rate-Limit, 1
// Framed-IP-Address, 2 Framed-Pool); every row is rebuilt here.

const RANGES = `'^[0-9.]+(-[0-9.]+){0,1}(,[0-9.]+(-[0-9.]+){0,1})*$'`;

const SYNC_V2 = `
  create or replace function ispctl_radius_sync(ids integer[]) returns void language plpgsql as $$
  begin
    if ids is null or cardinality(ids) = 0 then
      return;
    end if;
    delete from radius_check_items where service_id = any (ids);
    delete from radius_reply_items where service_id = any (ids);
    insert into radius_check_items (service_id, username, attribute, value)
      select s.id, s.username,
             case when s.access_state = 'blocked' then 'Auth-Type' else 'Cleartext-Password' end,
             case when s.access_state = 'blocked' then 'Reject' else s.password end
        from services s
        join routers r on r.id = s.router_id
       where s.id = any (ids) and r.mode = 'radius';
    insert into radius_reply_items (id, service_id, username, attribute, value)
      select s.id::bigint * 4 + v.k, s.id, s.username, v.attribute, v.value
        from services s
        join routers r on r.id = s.router_id
        join plans p on p.id = s.plan_id
        cross join lateral (values
          (0, 'Mikrotik-Rate-Limit', s.rate_limit),
          (1, 'Framed-IP-Address', host(s.static_ip)),
          -- A static IP wins: no pool for a service that has one.
          (2, 'Framed-Pool', case
             when s.static_ip is not null then null
             when p.pool_ranges is not null then 'ispctl-pool-' || p.id
             when r.pool_ranges is not null then 'ispctl-pool-default'
           end)
        ) as v(k, attribute, value)
       where s.id = any (ids) and r.mode = 'radius' and s.access_state <> 'blocked' and v.value is not null;
  end
  $$
`;

const SYNC_V1 = `
  create or replace function ispctl_radius_sync(ids integer[]) returns void language plpgsql as $$
  begin
    if ids is null or cardinality(ids) = 0 then
      return;
    end if;
    delete from radius_check_items where service_id = any (ids);
    delete from radius_reply_items
     where id = any (array(select unnest(ids)::bigint * 2 union all select unnest(ids)::bigint * 2 + 1));
    insert into radius_check_items (service_id, username, attribute, value)
      select s.id, s.username,
             case when s.access_state = 'blocked' then 'Auth-Type' else 'Cleartext-Password' end,
             case when s.access_state = 'blocked' then 'Reject' else s.password end
        from services s
        join routers r on r.id = s.router_id
       where s.id = any (ids) and r.mode = 'radius';
    insert into radius_reply_items (id, service_id, username, attribute, value)
      select s.id::bigint * 2 + v.k, s.id, s.username, v.attribute, v.value
        from services s
        join routers r on r.id = s.router_id
        cross join lateral (values
          (0, 'Mikrotik-Rate-Limit', s.rate_limit),
          (1, 'Framed-IP-Address', host(s.static_ip))
        ) as v(k, attribute, value)
       where s.id = any (ids) and r.mode = 'radius' and s.access_state <> 'blocked' and v.value is not null;
  end
  $$
`;

function servicesChanged(columns: string): string {
  return `
    create or replace function ispctl_radius_services_changed() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        perform ispctl_radius_sync(array(
          select n.id from new_rows n join routers r on r.id = n.router_id where r.mode = 'radius'));
      elsif tg_op = 'UPDATE' then
        perform ispctl_radius_sync(array(
          select n.id from new_rows n join old_rows o on o.id = n.id
           where (${columns.split(',').map((c) => `n.${c.trim()}`).join(', ')})
                 is distinct from (${columns.split(',').map((c) => `o.${c.trim()}`).join(', ')})
             and exists (select 1 from routers r where r.id in (n.router_id, o.router_id) and r.mode = 'radius')));
      elsif tg_op = 'DELETE' then
        perform ispctl_radius_sync(array(select id from old_rows));
      end if;
      return null;
    end
    $$
  `;
}

function routersChanged(condition: string): string {
  return `
    create or replace function ispctl_radius_routers_changed() returns trigger language plpgsql as $$
    begin
      perform ispctl_radius_sync(array(
        select s.id from services s
          join new_rows n on n.id = s.router_id
          join old_rows o on o.id = n.id
         where ${condition}));
      return null;
    end
    $$
  `;
}

export async function up(knex: Knex): Promise<void> {
  for (const table of ['plans', 'routers']) {
    const owner = table === 'plans' ? 'plan' : 'router (default for plans without their own)';
    await knex.schema.alterTable(table, (t) => {
      t.specificType('local_address', 'inet').nullable().comment(`PPP profile local-address of the ${owner}: the router's side of the PPP links, IPv4`);
      t.text('pool_ranges')
        .nullable()
        .comment(`Remote address pool of the ${owner}, canonical RouterOS ranges (first-last, comma-separated); written as /ip/pool ${table === 'plans' ? 'ispctl-pool-<plan id>' : 'ispctl-pool-default'}`);
    });
    await knex.raw(`
      alter table ${table}
        add constraint ${table}_local_address_host check (local_address is null or (family(local_address) = 4 and masklen(local_address) = 32)),
        add constraint ${table}_pool_ranges_format check (pool_ranges is null or pool_ranges ~ ${RANGES})
    `);
  }

  await knex.raw(SYNC_V2);
  await knex.raw(servicesChanged('username, password, static_ip, access_state, rate_limit, router_id, plan_id'));
  await knex.raw(routersChanged('(n.mode, n.pool_ranges) is distinct from (o.mode, o.pool_ranges)'));
  await knex.raw(`
    create function ispctl_radius_plans_changed() returns trigger language plpgsql as $$
    begin
      perform ispctl_radius_sync(array(
        select s.id from services s
          join new_rows n on n.id = s.plan_id
          join old_rows o on o.id = n.id
          join routers r on r.id = s.router_id
         where r.mode = 'radius' and n.pool_ranges is distinct from o.pool_ranges));
      return null;
    end
    $$
  `);
  await knex.raw(`create trigger plans_radius_update after update on plans referencing old table as old_rows new table as new_rows for each statement execute function ispctl_radius_plans_changed()`);
  await knex.raw('delete from radius_reply_items');
  await knex.raw(`select ispctl_radius_sync(array(select id from services))`);
  await knex.raw(`comment on table radius_reply_items is 'Derived by trigger from services, plans and routers (do not write): reply attributes of services on radius-mode routers, id = service id * 4 + 0 (Mikrotik-Rate-Limit), + 1 (Framed-IP-Address) or + 2 (Framed-Pool), read by FreeRADIUS through the radreply view'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists plans_radius_update on plans');
  await knex.raw('drop function if exists ispctl_radius_plans_changed()');
  await knex.raw(routersChanged('n.mode is distinct from o.mode'));
  await knex.raw(servicesChanged('username, password, static_ip, access_state, rate_limit, router_id'));
  await knex.raw(SYNC_V1);
  for (const table of ['plans', 'routers']) {
    await knex.raw(`alter table ${table} drop constraint if exists ${table}_local_address_host, drop constraint if exists ${table}_pool_ranges_format`);
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn('local_address');
      t.dropColumn('pool_ranges');
    });
  }
  await knex.raw('delete from radius_reply_items');
  await knex.raw(`select ispctl_radius_sync(array(select id from services))`);
}

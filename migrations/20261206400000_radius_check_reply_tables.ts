import type { Knex } from 'knex';

// radcheck and radreply become the tables the triggers keep, instead of views over them.
//
// FreeRADIUS sends every query as new text (no prepared statements), so PostgreSQL parses,
// rewrites and plans the check and reply queries on every Access-Request. Through a view the
// rewriter expands the view and the planner checks permissions on two relations: measured
// server-side (the stock query text in a loop, CPU of the backend), a lookup through the view
// took 32.5 µs against 25.5 µs on a table with the same rows and indexes in the same database,
// and the stock tables 27 µs. The rows were already derived by triggers (never written by anything
// else), so the view added nothing but that cost: the tables now carry the stock names and
// columns (id, username, attribute, op, value: radcheck's id is the service's, radreply's is the
// service's times 4 plus 0, 1 or 2, so it needs no service_id of its own), with a primary key on
// id and a btree on username, as the stock schema has.
//
// Privileges granted on the views (e.g. SELECT to a freeradius role) are granted again on the
// tables, so a running FreeRADIUS keeps reading them.

const VIEWS = ['radcheck', 'radreply'] as const;

const SYNC = (check: string, reply: string, checkId: string, replyDelete: string, replyServiceId: boolean) => `
  create or replace function ispctl_radius_sync(ids integer[]) returns void language plpgsql as $$
  begin
    if ids is null or cardinality(ids) = 0 then
      return;
    end if;
    delete from ${check} where ${checkId} = any (ids);
    ${replyDelete};
    insert into ${check} (${checkId}, username, attribute, value)
      select s.id, s.username,
             case when s.access_state = 'blocked' then 'Auth-Type' else 'Cleartext-Password' end,
             case when s.access_state = 'blocked' then 'Reject' else s.password end
        from services s
        join routers r on r.id = s.router_id
       where s.id = any (ids) and r.mode = 'radius';
    insert into ${reply} (id, ${replyServiceId ? 'service_id, ' : ''}username, attribute, value)
      select s.id::bigint * 4 + v.k, ${replyServiceId ? 's.id, ' : ''}s.username, v.attribute, v.value
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
  $$`;

const TRUNCATED = (check: string, reply: string) => `
  create or replace function ispctl_radius_services_truncated() returns trigger language plpgsql as $$
  begin
    truncate ${check}, ${reply};
    return null;
  end
  $$`;

/** Who holds which privilege on `table` (PUBLIC as null), besides its owner. */
async function grantsOn(knex: Knex, table: string): Promise<Array<{ grantee: string | null; privilege: string; grantable: boolean }>> {
  return (
    await knex.raw<{ rows: Array<{ grantee: string | null; privilege: string; grantable: boolean }> }>(
      `select case when a.grantee = 0 then null else quote_ident(pg_get_userbyid(a.grantee)) end as grantee,
              a.privilege_type as privilege, a.is_grantable as grantable
         from pg_class c, aclexplode(c.relacl) a
        where c.oid = to_regclass(?) and a.grantee <> c.relowner`,
      [`public.${table}`],
    )
  ).rows;
}

type Grant = Awaited<ReturnType<typeof grantsOn>>[number];
const grantSql = (g: Grant, on: string) => `grant ${g.privilege} on ${on} to ${g.grantee ?? 'public'}${g.grantable ? ' with grant option' : ''}`;
const revokeSql = (g: Grant, on: string) => `revoke ${g.privilege} on ${on} from ${g.grantee ?? 'public'} cascade`;

export async function up(knex: Knex): Promise<void> {
  const grants = new Map<string, Grant[]>();
  for (const v of VIEWS) grants.set(v, await grantsOn(knex, v));
  for (const v of VIEWS) await knex.raw(`drop view ${v}`);

  await knex.raw('alter table radius_check_items rename to radcheck');
  await knex.raw('alter table radcheck rename column service_id to id');
  await knex.raw('alter index radius_check_items_pkey rename to radcheck_pkey');
  await knex.raw('alter index radius_check_items_username_idx rename to radcheck_username');
  await knex.raw('alter table radius_reply_items rename to radreply');
  await knex.raw('alter index radius_reply_items_pkey rename to radreply_pkey');
  await knex.raw('alter index radius_reply_items_username_idx rename to radreply_username');
  // id says the service (id / 4): the stock layout needs no more.
  await knex.raw('alter table radreply drop column service_id');

  // Same rows as before. A service's reply rows are ids service id * 4 + 0..2: deleted through
  // the primary key (before, by service_id, which had no index).
  await knex.raw(
    SYNC('radcheck', 'radreply', 'id', `delete from radreply r using unnest(ids) as d(service_id)
     where r.id between d.service_id::bigint * 4 and d.service_id::bigint * 4 + 3`, false),
  );
  await knex.raw(TRUNCATED('radcheck', 'radreply'));

  await knex.raw(`comment on table radcheck is 'FreeRADIUS radcheck (stock layout), derived by triggers from services and routers (do not write): Cleartext-Password of each service on a radius-mode router (id = service id), or Auth-Type := Reject when the access policy blocks the service'`);
  await knex.raw(`comment on table radreply is 'FreeRADIUS radreply (stock layout), derived by triggers from services, plans and routers (do not write): Mikrotik-Rate-Limit, Framed-IP-Address or Framed-Pool of services on radius-mode routers that are not blocked, id = service id * 4 + 0, 1 or 2. Message-Authenticator is added by the site configuration'`);
  for (const [t, gs] of grants) for (const g of gs) await knex.raw(grantSql(g, t));
}

export async function down(knex: Knex): Promise<void> {
  const grants = new Map<string, Grant[]>();
  for (const t of VIEWS) grants.set(t, await grantsOn(knex, t));

  await knex.raw('alter index radcheck_username rename to radius_check_items_username_idx');
  await knex.raw('alter index radcheck_pkey rename to radius_check_items_pkey');
  await knex.raw('alter table radcheck rename column id to service_id');
  await knex.raw('alter table radcheck rename to radius_check_items');
  await knex.raw('alter index radreply_username rename to radius_reply_items_username_idx');
  await knex.raw('alter index radreply_pkey rename to radius_reply_items_pkey');
  await knex.raw('alter table radreply rename to radius_reply_items');
  await knex.raw('alter table radius_reply_items add column service_id integer');
  await knex.raw('update radius_reply_items set service_id = id / 4');
  await knex.raw('alter table radius_reply_items alter column service_id set not null');
  await knex.raw(SYNC('radius_check_items', 'radius_reply_items', 'service_id', 'delete from radius_reply_items where service_id = any (ids)', true));
  await knex.raw(TRUNCATED('radius_check_items', 'radius_reply_items'));
  await knex.raw(`comment on table radius_check_items is 'Derived by trigger from services and routers (do not write): one check item per service on a radius-mode router, read by FreeRADIUS through the radcheck view'`);
  await knex.raw(`comment on table radius_reply_items is 'Derived by trigger from services, plans and routers (do not write): reply attributes of services on radius-mode routers, id = service id * 4 + 0 (Mikrotik-Rate-Limit), + 1 (Framed-IP-Address) or + 2 (Framed-Pool), read by FreeRADIUS through the radreply view'`);

  await knex.raw(`
    create view radcheck as
      select c.service_id as id, c.username, c.attribute, c.op, c.value
        from radius_check_items c
  `);
  await knex.raw(`comment on view radcheck is 'FreeRADIUS radcheck (stock layout): Cleartext-Password of services on radius-mode routers, or Auth-Type := Reject when the access policy blocks the service'`);
  await knex.raw(`
    create view radreply as
      select r.id, r.username, r.attribute, r.op, r.value
        from radius_reply_items r
  `);
  await knex.raw(`comment on view radreply is 'FreeRADIUS radreply (stock layout): Mikrotik-Rate-Limit from services.rate_limit and Framed-IP-Address from static_ip, for services on radius-mode routers that are not blocked. Message-Authenticator is added by the site configuration'`);
  // The privileges go back to the views; the derived tables were not granted to anyone.
  const renamed = { radcheck: 'radius_check_items', radreply: 'radius_reply_items' } as const;
  for (const [t, gs] of grants) {
    for (const g of gs) {
      await knex.raw(revokeSql(g, renamed[t as keyof typeof renamed]));
      await knex.raw(grantSql(g, t));
    }
  }
}

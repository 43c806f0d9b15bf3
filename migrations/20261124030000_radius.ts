import type { Knex } from 'knex';

// RADIUS mode: FreeRADIUS reads ispctl's data through views in the column layout of its stock
// PostgreSQL schema (mods-config/sql/main/postgresql/schema.sql), so the stock sql module and
// queries.conf work unchanged.
//
//   radcheck       Cleartext-Password := password   services on radius-mode routers, not blocked
//                  Auth-Type := Reject              blocked services (rejected, whatever the password)
//   radreply       Mikrotik-Rate-Limit := rate_limit, Framed-IP-Address := static_ip (not blocked)
//   radusergroup, radgroupcheck, radgroupreply      empty (valid for the stock group queries)
//   nas            radius-mode routers: nasname = NAS address, secret = the published clear copy
//
// radcheck and radreply read narrow per-user rows that triggers on services and routers keep in
// step within the same transaction (derived state, like services.access_state: no drift, and
// nothing else writes them). FreeRADIUS looks users up with `WHERE UserName = '%{SQL-User-Name}'`
// (exact, case-sensitive) on every request; a plain btree on those rows' username makes that an
// index scan that costs what the stock tables cost.
//
// radacct, radpostauth and nasreload stay tables FreeRADIUS writes, exactly as the stock schema
// creates them (plus one partial index ispctl uses to find a user's open sessions for CoA).
//
// A later migration that changes services.username, password, static_ip, access_state,
// rate_limit or router_id, or routers.mode, must keep ispctl_radius_sync() in step.

export async function up(knex: Knex): Promise<void> {
  // ---- the clear copy of the shared secret FreeRADIUS needs ----------------------------------
  await knex.raw(`alter table routers add column radius_secret_nas text null`);
  await knex.raw(`
    comment on column routers.radius_secret_nas is
      'Clear copy of the RADIUS shared secret, published to FreeRADIUS through the nas view. FreeRADIUS must read the secret in clear and cannot decrypt radius_secret_enc, so ispctl keeps this copy for radius-mode routers only (null otherwise); written by publishNasSecret whenever the secret or the mode changes. Protect the database'
  `);
  await knex.raw(`alter table routers add constraint routers_radius_secret_nas_mode check (radius_secret_nas is null or mode = 'radius')`);
  // A router leaving radius mode stops publishing its secret in the same statement, whoever
  // updates it (so the check above never gets in the way of an edit).
  await knex.raw(`
    create function ispctl_routers_unpublish_nas_secret() returns trigger language plpgsql as $$
    begin
      if new.mode is distinct from 'radius' then
        new.radius_secret_nas := null;
      end if;
      return new;
    end
    $$
  `);
  await knex.raw(`
    create trigger routers_unpublish_nas_secret before insert or update of mode, radius_secret_nas on routers
      for each row execute function ispctl_routers_unpublish_nas_secret()
  `);

  // ---- what FreeRADIUS reads per user --------------------------------------------------------
  // Per-user check and reply rows, derived from services (credentials, static IP, the access the
  // policy materialised) and routers (mode) by triggers, in the same statement that changes
  // them: never stale, never written by anything else. They exist because FreeRADIUS parses and
  // plans its queries anew on every request: a view joining services and routers costs
  // PostgreSQL more than twice the CPU of the stock tables per authentication, while a view over
  // these narrow rows costs what the stock tables do (see bench/radius-auth.mjs).
  await knex.raw(`
    create table radius_check_items (
      service_id integer primary key,
      username   text not null,
      attribute  text not null,
      op         varchar(2) not null default ':=',
      value      text not null
    )
  `);
  await knex.raw('create index radius_check_items_username_idx on radius_check_items (username)');
  await knex.raw(`comment on table radius_check_items is 'Derived by trigger from services and routers (do not write): one check item per service on a radius-mode router, read by FreeRADIUS through the radcheck view'`);
  await knex.raw(`
    create table radius_reply_items (
      id         bigint primary key,
      service_id integer not null,
      username   text not null,
      attribute  text not null,
      op         varchar(2) not null default ':=',
      value      text not null
    )
  `);
  await knex.raw('create index radius_reply_items_username_idx on radius_reply_items (username)');
  await knex.raw(`comment on table radius_reply_items is 'Derived by trigger from services and routers (do not write): reply attributes of services on radius-mode routers, id = service id * 2 + 0 (Mikrotik-Rate-Limit) or + 1 (Framed-IP-Address), read by FreeRADIUS through the radreply view'`);

  // Rebuilds the rows of the given services from what services and routers say now.
  await knex.raw(`
    create function ispctl_radius_sync(ids integer[]) returns void language plpgsql as $$
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
  `);
  // Statement-level triggers with transition tables: a bulk update (refreshAccess, a plan
  // change) rebuilds its rows in one pass, not one trigger call per service.
  await knex.raw(`
    create function ispctl_radius_services_changed() returns trigger language plpgsql as $$
    begin
      -- Only services on a radius-mode router (before or after) have rows to rebuild.
      if tg_op = 'INSERT' then
        perform ispctl_radius_sync(array(
          select n.id from new_rows n join routers r on r.id = n.router_id where r.mode = 'radius'));
      elsif tg_op = 'UPDATE' then
        perform ispctl_radius_sync(array(
          select n.id from new_rows n join old_rows o on o.id = n.id
           where (n.username, n.password, n.static_ip, n.access_state, n.rate_limit, n.router_id)
                 is distinct from (o.username, o.password, o.static_ip, o.access_state, o.rate_limit, o.router_id)
             and exists (select 1 from routers r where r.id in (n.router_id, o.router_id) and r.mode = 'radius')));
      elsif tg_op = 'DELETE' then
        perform ispctl_radius_sync(array(select id from old_rows));
      end if;
      return null;
    end
    $$
  `);
  await knex.raw(`create trigger services_radius_insert after insert on services referencing new table as new_rows for each statement execute function ispctl_radius_services_changed()`);
  await knex.raw(`create trigger services_radius_update after update on services referencing old table as old_rows new table as new_rows for each statement execute function ispctl_radius_services_changed()`);
  await knex.raw(`create trigger services_radius_delete after delete on services referencing old table as old_rows for each statement execute function ispctl_radius_services_changed()`);
  await knex.raw(`
    create function ispctl_radius_services_truncated() returns trigger language plpgsql as $$
    begin
      truncate radius_check_items, radius_reply_items;
      return null;
    end
    $$
  `);
  await knex.raw(`create trigger services_radius_truncate after truncate on services for each statement execute function ispctl_radius_services_truncated()`);
  await knex.raw(`
    create function ispctl_radius_routers_changed() returns trigger language plpgsql as $$
    begin
      perform ispctl_radius_sync(array(
        select s.id from services s
          join new_rows n on n.id = s.router_id
          join old_rows o on o.id = n.id
         where n.mode is distinct from o.mode));
      return null;
    end
    $$
  `);
  await knex.raw(`create trigger routers_radius_update after update on routers referencing old table as old_rows new table as new_rows for each statement execute function ispctl_radius_routers_changed()`);
  await knex.raw(`select ispctl_radius_sync(array(select id from services))`);

  // ---- views FreeRADIUS reads --------------------------------------------------------------
  // Plain projections (nothing to compute per request). Column types follow the stock schema:
  // id integer (radreply: bigint), op varchar(2), the rest text.
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

  await knex.raw(`
    create view radusergroup as
      select null::integer as id, null::text as username, null::text as groupname, null::integer as priority
       where false
  `);
  await knex.raw(`
    create view radgroupcheck as
      select null::integer as id, null::text as groupname, null::text as attribute, null::varchar(2) as op, null::text as value
       where false
  `);
  await knex.raw(`
    create view radgroupreply as
      select null::integer as id, null::text as groupname, null::text as attribute, null::varchar(2) as op, null::text as value
       where false
  `);
  for (const v of ['radusergroup', 'radgroupcheck', 'radgroupreply']) {
    await knex.raw(`comment on view ${v} is 'FreeRADIUS ${v} (stock layout), always empty: every attribute comes per user from radcheck and radreply'`);
  }

  await knex.raw(`
    create view nas as
      select r.id as id,
             host(r.nas_address) as nasname,
             r.name as shortname,
             'other'::text as type,
             null::integer as ports,
             r.radius_secret_nas as secret,
             null::text as server,
             null::text as community,
             ('ispctl router ' || r.name)::text as description
        from routers r
       where r.mode = 'radius'
         and r.nas_address is not null
         and r.radius_secret_nas is not null
  `);
  await knex.raw(`comment on view nas is 'FreeRADIUS clients (stock nas layout): radius-mode routers with their NAS address and published shared secret'`);

  // ---- tables FreeRADIUS writes, as in the stock schema ------------------------------------
  await knex.raw(`
    create table radacct (
      radacctid           bigserial primary key,
      acctsessionid       text not null,
      acctuniqueid        text not null unique,
      username            text,
      realm               text,
      nasipaddress        inet not null,
      nasportid           text,
      nasporttype         text,
      acctstarttime       timestamp with time zone,
      acctupdatetime      timestamp with time zone,
      acctstoptime        timestamp with time zone,
      acctinterval        bigint,
      acctsessiontime     bigint,
      acctauthentic       text,
      connectinfo_start   text,
      connectinfo_stop    text,
      acctinputoctets     bigint,
      acctoutputoctets    bigint,
      calledstationid     text,
      callingstationid    text,
      acctterminatecause  text,
      servicetype         text,
      framedprotocol      text,
      framedipaddress     inet,
      framedipv6address   inet,
      framedipv6prefix    inet,
      framedinterfaceid   text,
      delegatedipv6prefix inet,
      class               text
    )
  `);
  await knex.raw('create index radacct_active_session_idx on radacct (acctuniqueid) where acctstoptime is null');
  await knex.raw('create index radacct_bulk_close on radacct (nasipaddress, acctstarttime) where acctstoptime is null');
  await knex.raw('create index radacct_start_user_idx on radacct (acctstarttime, username)');
  // The stock schema's name, spelling included.
  await knex.raw('create index radacct_calss_idx on radacct (class)');
  // Not in the stock schema: ispctl finds a user's open sessions to address CoA and Disconnect.
  await knex.raw('create index radacct_open_user_idx on radacct (username, nasipaddress) where acctstoptime is null');
  await knex.raw(`comment on table radacct is 'FreeRADIUS accounting (stock schema), written by FreeRADIUS; ispctl reads open sessions from it to address CoA and Disconnect-Request'`);

  await knex.raw(`
    create table radpostauth (
      id                bigserial primary key,
      username          text not null,
      pass              text,
      reply             text,
      calledstationid   text,
      callingstationid  text,
      authdate          timestamp with time zone not null default now(),
      class             text
    )
  `);
  await knex.raw('create index radpostauth_username_idx on radpostauth (username)');
  await knex.raw('create index radpostauth_class_idx on radpostauth (class)');
  await knex.raw(`comment on table radpostauth is 'FreeRADIUS post-auth log (stock schema); pass is always blanked by a trigger'`);
  await knex.raw(`comment on column radpostauth.pass is 'Always null: the stock post-auth query writes the PAP password here, and a trigger drops it'`);
  await knex.raw(`
    create function ispctl_radpostauth_blank_pass() returns trigger language plpgsql as $$
    begin
      new.pass := null;
      return new;
    end
    $$
  `);
  await knex.raw(`
    create trigger radpostauth_blank_pass before insert or update on radpostauth
      for each row execute function ispctl_radpostauth_blank_pass()
  `);

  await knex.raw(`
    create table nasreload (
      nasipaddress inet primary key,
      reloadtime   timestamp with time zone not null
    )
  `);
  await knex.raw(`comment on table nasreload is 'FreeRADIUS: when each NAS last sent Accounting-On (stock schema)'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists nasreload');
  await knex.raw('drop table if exists radpostauth');
  await knex.raw('drop function if exists ispctl_radpostauth_blank_pass()');
  await knex.raw('drop table if exists radacct');
  for (const v of ['nas', 'radgroupreply', 'radgroupcheck', 'radusergroup', 'radreply', 'radcheck']) await knex.raw(`drop view if exists ${v}`);
  await knex.raw('drop trigger if exists routers_radius_update on routers');
  for (const t of ['insert', 'update', 'delete', 'truncate']) await knex.raw(`drop trigger if exists services_radius_${t} on services`);
  await knex.raw('drop function if exists ispctl_radius_routers_changed()');
  await knex.raw('drop function if exists ispctl_radius_services_truncated()');
  await knex.raw('drop function if exists ispctl_radius_services_changed()');
  await knex.raw('drop function if exists ispctl_radius_sync(integer[])');
  await knex.raw('drop table if exists radius_reply_items');
  await knex.raw('drop table if exists radius_check_items');
  await knex.raw('drop trigger if exists routers_unpublish_nas_secret on routers');
  await knex.raw('drop function if exists ispctl_routers_unpublish_nas_secret()');
  await knex.raw('alter table routers drop constraint if exists routers_radius_secret_nas_mode');
  await knex.raw('alter table routers drop column if exists radius_secret_nas');
}

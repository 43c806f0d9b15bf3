import type { Knex } from 'knex';

// Onboarding over WireGuard: a router can be added before it is reachable (pending, no host
// yet), moves to registering once its install script is printed, and online at the first good
// health check through the tunnel. The hub's key pair, and per router its tunnel key pair,
// tunnel address and the report its inspect script printed.

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    alter table routers
      alter column host drop not null,
      drop constraint routers_status_values,
      add constraint routers_status_values check (status in ('pending', 'registering', 'unknown', 'online', 'degraded', 'offline')),
      add constraint routers_host_unless_pending check (host is not null or status = 'pending'),
      drop constraint routers_radius_needs_nas,
      add constraint routers_radius_needs_nas check (mode <> 'radius' or nas_address is not null or status = 'pending')
  `);
  await knex.raw(`comment on column routers.host is 'Address ispctl reaches the router API at: its WireGuard tunnel address once onboarded, or a public IP or host name; null while pending'`);
  await knex.raw(`comment on column routers.status is 'pending (added, not yet set up), registering (install script printed, waiting for the tunnel), then health from checks: unknown, online, degraded, offline'`);

  await knex.schema.createTable('wireguard_hub', (t) => {
    t.smallint('id').primary().defaultTo(1);
    t.text('private_key_enc').notNullable().comment('Hub private key (base64), AES-256-GCM encrypted like the other secrets');
    t.text('public_key').notNullable().comment('Hub public key (base64, 44 characters), given to every router');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`alter table wireguard_hub add constraint wireguard_hub_single_row check (id = 1)`);
  await knex.raw(`comment on table wireguard_hub is 'The WireGuard hub on the ispctl host (one row): its key pair, generated on first use'`);

  await knex.schema.createTable('router_onboarding', (t) => {
    t.integer('router_id').primary().references('id').inTable('routers').onDelete('CASCADE');
    t.text('wg_private_key_enc').notNullable().comment('The router\'s WireGuard private key, encrypted; written only into its install script');
    t.text('wg_public_key').notNullable().comment('The router\'s WireGuard public key: its [Peer] on the hub');
    t.specificType('tunnel_address', 'inet').nullable().comment('The router\'s address in the tunnel network (picked at review), also its API host and NAS address');
    t.text('api_user').notNullable().comment('API user the install script creates, in a restricted group');
    t.text('api_password_enc').notNullable().comment('Its password, encrypted; becomes the router\'s API password when the install script is printed');
    t.text('report_raw').nullable().comment('The one-line report the inspect script printed, as pasted (holds no secrets)');
    t.jsonb('report').nullable().comment('The report parsed: version, board, interfaces, addresses, WireGuard, PPPoE, pools, RADIUS');
    t.timestamp('reported_at', { useTz: true }).nullable();
    t.text('pppoe_interface').nullable().comment('The interface the review found the PPPoE server on');
    t.timestamp('install_printed_at', { useTz: true }).nullable().comment('When the install script was last printed (registering starts then)');
    t.timestamp('registered_at', { useTz: true }).nullable().comment('First good check through the tunnel');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    alter table router_onboarding
      add constraint router_onboarding_tunnel_host check (tunnel_address is null or (family(tunnel_address) = 4 and masklen(tunnel_address) = 32))
  `);
  await knex.raw('create unique index router_onboarding_tunnel_address_key on router_onboarding (tunnel_address) where tunnel_address is not null');
  await knex.raw('create unique index router_onboarding_public_key_key on router_onboarding (wg_public_key)');
  await knex.raw(`comment on table router_onboarding is 'Routers brought in over WireGuard: their tunnel key pair and address, the API user the install script creates, and the inspect report'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('router_onboarding');
  await knex.schema.dropTable('wireguard_hub');
  await knex.raw(`update routers set host = '0.0.0.0' where host is null`);
  await knex.raw(`update routers set mode = 'api' where mode = 'radius' and nas_address is null`);
  await knex.raw(`update routers set status = 'unknown' where status in ('pending', 'registering')`);
  await knex.raw(`
    alter table routers
      alter column host set not null,
      drop constraint routers_host_unless_pending,
      drop constraint routers_status_values,
      add constraint routers_status_values check (status in ('unknown', 'online', 'degraded', 'offline')),
      drop constraint routers_radius_needs_nas,
      add constraint routers_radius_needs_nas check (mode <> 'radius' or nas_address is not null)
  `);
}

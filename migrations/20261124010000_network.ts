import type { Knex } from 'knex';

// Routers, plans, subscribers and their services: the network side of "access follows billing".
// Rules that make bad rows impossible live here as constraints; the application checks the same
// rules first so people get a clear message instead of a constraint name.

export async function up(knex: Knex): Promise<void> {
  // Check constraints are written so that a NULL never lets a bad row through (a CHECK that
  // evaluates to NULL passes): num_nonnulls() and explicit IS NOT NULL before comparisons.

  // ---- routers ------------------------------------------------------------------------------
  await knex.schema.createTable('routers', (t) => {
    t.increments('id').primary();
    t.text('name').notNullable().comment('Short unique name people use: letters, digits, . _ - (unique ignoring case)');
    t.text('host').notNullable().comment('Address ispctl reaches the router API at: public or WireGuard IP, or a host name');
    t.integer('api_port').notNullable().defaultTo(8728).comment('RouterOS API port: 8728 plain, 8729 API-SSL');
    t.text('api_user').notNullable().comment('RouterOS user for the API');
    t.text('api_password_enc').notNullable().comment('API password, AES-256-GCM encrypted (v1:iv:tag:ciphertext); never stored in clear');
    t.boolean('api_tls').notNullable().defaultTo(false).comment('Use API-SSL');
    t.boolean('api_tls_verify').notNullable().defaultTo(true).comment('Verify the router certificate with API-SSL');
    t.text('mode').notNullable().defaultTo('api').comment('radius: FreeRADIUS answers the router; api: ispctl writes PPP secrets over the API');
    t.specificType('nas_address', 'inet').nullable().comment('Source address FreeRADIUS sees for this router (the nas entry); required in radius mode');
    t.text('radius_secret_enc').notNullable().comment('RADIUS shared secret, generated, AES-256-GCM encrypted');
    t.integer('coa_port').notNullable().defaultTo(3799).comment('Port of /radius incoming on the router (CoA and Disconnect-Request)');
    t.text('shaping').notNullable().defaultTo('profile').comment('API mode: profile = rate limit on the PPP profile; queue = one simple queue per static IP. Never both');
    t.text('block_action').nullable().comment('API mode: disable or remove the PPP secret of a blocked subscriber; null = setting api-block-action');
    t.text('status').notNullable().defaultTo('unknown').comment('Health seen by the last check: unknown, online, degraded, offline');
    t.timestamp('last_contact_at', { useTz: true }).nullable().comment('When ispctl last talked to the router successfully');
    t.text('last_error').nullable().comment('Last error talking to the router (no secrets)');
    t.text('identity').nullable().comment('/system/identity name at the last check');
    t.text('version').nullable().comment('RouterOS version at the last check');
    t.text('board').nullable().comment('board-name at the last check');
    t.integer('revision').notNullable().defaultTo(1).comment('Incremented on every configuration change (not on health checks)');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    alter table routers
      add constraint routers_name_format check (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
      add constraint routers_api_port_range check (api_port between 1 and 65535),
      add constraint routers_coa_port_range check (coa_port between 1 and 65535),
      add constraint routers_mode_values check (mode in ('radius', 'api')),
      add constraint routers_shaping_values check (shaping in ('profile', 'queue')),
      add constraint routers_block_action_values check (block_action is null or block_action in ('disable', 'remove')),
      add constraint routers_status_values check (status in ('unknown', 'online', 'degraded', 'offline')),
      add constraint routers_nas_address_host check (nas_address is null or masklen(nas_address) = case family(nas_address) when 4 then 32 else 128 end),
      add constraint routers_radius_needs_nas check (mode <> 'radius' or nas_address is not null)
  `);
  await knex.raw('create unique index routers_name_lower_key on routers (lower(name))');
  await knex.raw('create unique index routers_nas_address_key on routers (nas_address) where nas_address is not null');
  await knex.raw(`comment on table routers is 'MikroTik routers (NAS) that terminate PPPoE; secrets encrypted with the key in the config directory'`);

  // ---- plans --------------------------------------------------------------------------------
  await knex.schema.createTable('plans', (t) => {
    t.increments('id').primary();
    t.text('name').notNullable().comment('Unique name ignoring case, e.g. Fiber 50');
    t.bigInteger('price_minor').notNullable().comment('Monthly price in minor units of currency (e.g. centavos)');
    t.text('currency').notNullable().comment('ISO 4217 code, copied from the currency setting at creation');
    t.integer('download_kbps').notNullable().comment('Download speed (to the subscriber), kbit/s, 1M = 1000k');
    t.integer('upload_kbps').notNullable().comment('Upload speed (from the subscriber), kbit/s');
    t.text('billing_type').notNullable().defaultTo('postpaid').comment('postpaid: billed after the period; prepaid: paid before it');
    t.integer('burst_download_kbps').nullable().comment('Burst download rate, kbit/s; all burst columns set or none');
    t.integer('burst_upload_kbps').nullable().comment('Burst upload rate, kbit/s');
    t.integer('burst_threshold_download_kbps').nullable().comment('Burst threshold, download, kbit/s');
    t.integer('burst_threshold_upload_kbps').nullable().comment('Burst threshold, upload, kbit/s');
    t.integer('burst_time_seconds').nullable().comment('Burst averaging time, seconds');
    t.integer('throttle_download_kbps').nullable().comment('Reduced download speed when throttled for non-payment; null = setting throttle-download');
    t.integer('throttle_upload_kbps').nullable().comment('Reduced upload speed when throttled; null = setting throttle-upload');
    t.text('suspension_action').nullable().comment('block or throttle on suspension for non-payment; null = setting suspension-action');
    t.timestamp('archived_at', { useTz: true }).nullable().comment('Archived plans keep their subscribers and invoices but cannot be chosen for new ones');
    t.integer('revision').notNullable().defaultTo(1).comment('Incremented on every change');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    alter table plans
      add constraint plans_name_format check (char_length(name) between 1 and 64 and name = btrim(name) and name !~ '[[:cntrl:]]'),
      add constraint plans_price_nonnegative check (price_minor >= 0),
      add constraint plans_currency_format check (currency ~ '^[A-Z]{3}$'),
      add constraint plans_speeds_positive check (download_kbps > 0 and upload_kbps > 0),
      add constraint plans_billing_type_values check (billing_type in ('postpaid', 'prepaid')),
      add constraint plans_burst_all_or_none check (
        num_nonnulls(burst_download_kbps, burst_upload_kbps, burst_threshold_download_kbps, burst_threshold_upload_kbps, burst_time_seconds) = 0
        or (num_nonnulls(burst_download_kbps, burst_upload_kbps, burst_threshold_download_kbps, burst_threshold_upload_kbps, burst_time_seconds) = 5
          and burst_download_kbps > download_kbps and burst_upload_kbps > upload_kbps
          and burst_threshold_download_kbps between 1 and download_kbps and burst_threshold_upload_kbps between 1 and upload_kbps
          and burst_time_seconds between 1 and 3600)),
      add constraint plans_throttle_positive check ((throttle_download_kbps is null or throttle_download_kbps > 0) and (throttle_upload_kbps is null or throttle_upload_kbps > 0)),
      add constraint plans_suspension_action_values check (suspension_action is null or suspension_action in ('block', 'throttle'))
  `);
  await knex.raw('create unique index plans_name_lower_key on plans (lower(name))');
  await knex.raw(`comment on table plans is 'What subscribers buy: price, speeds, billing type; archived, never deleted, so invoices keep their references'`);

  // ---- subscribers --------------------------------------------------------------------------
  await knex.raw('create sequence subscriber_account_seq');
  await knex.raw(`
    create function next_subscriber_account_no() returns text language sql volatile as $$
      select 'S-' || case when n < 1000000 then lpad(n::text, 6, '0') else n::text end
      from (select nextval('subscriber_account_seq') as n) s
    $$
  `);
  await knex.schema.createTable('subscribers', (t) => {
    t.increments('id').primary();
    t.text('account_no').notNullable().defaultTo(knex.raw('next_subscriber_account_no()')).comment('Account number people quote, S-000123, from a sequence');
    t.text('full_name').notNullable();
    t.text('email').nullable();
    t.text('phone').nullable().comment('Normalised: digits with an optional leading +');
    t.text('address').nullable().comment('Service or billing address');
    t.text('notes').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['account_no'], { indexName: 'subscribers_account_no_key' });
  });
  // Regular expressions below avoid '?': knex.raw reads it as a binding placeholder.
  await knex.raw(`
    alter table subscribers
      add constraint subscribers_full_name_present check (char_length(btrim(full_name)) between 1 and 200),
      add constraint subscribers_phone_format check (phone is null or phone ~ '^[+]{0,1}[0-9]{7,15}$')
  `);
  await knex.raw(`comment on table subscribers is 'People and companies who buy service; each has one or more services'`);

  // ---- services -----------------------------------------------------------------------------
  await knex.schema.createTable('services', (t) => {
    t.increments('id').primary();
    t.integer('subscriber_id').notNullable().references('id').inTable('subscribers').onDelete('RESTRICT');
    t.integer('plan_id').notNullable().references('id').inTable('plans').onDelete('RESTRICT');
    t.integer('router_id').nullable().references('id').inTable('routers').onDelete('RESTRICT')
      .comment('Router the subscriber dials in through; null only for an ended service whose router was removed');
    t.text('username').notNullable().comment('PPPoE user name; unique ignoring case');
    t.text('password').notNullable().comment('PPPoE password in clear: FreeRADIUS CHAP needs it. Protect the database and its backups');
    t.specificType('static_ip', 'inet').nullable().comment('Fixed IPv4 address (Framed-IP-Address / remote-address); unique among current services');
    t.bigInteger('individual_price_minor').nullable().comment('Replaces the plan price for this service, minor units of the plan currency');
    t.text('discount_kind').nullable().comment('fixed (minor units) or percent (basis points), applied after the price');
    t.bigInteger('discount_value').nullable().comment('fixed: minor units; percent: basis points (10.5% = 1050)');
    t.date('discount_until').nullable().comment('Last day the discount applies (ISP time zone); null = no end');
    t.text('admin_status').notNullable().defaultTo('active').comment('active or suspended by an administrator; billing never changes it');
    t.text('admin_reason').nullable().comment('Why an administrator suspended the service');
    t.timestamp('admin_suspended_at', { useTz: true }).nullable();
    t.text('collection_status').notNullable().defaultTo('current').comment('Set by billing and collections: current, reminded, warned, suspended, restored, uncollectible');
    t.date('started_on').notNullable().comment('First day of service (ISP time zone)');
    t.date('ended_on').nullable().comment('Day the service ended; from then on it is blocked');
    t.integer('revision').notNullable().defaultTo(1).comment('Incremented on every change to the row, for change detection by provisioning');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['subscriber_id'], 'services_subscriber_id_idx');
    t.index(['plan_id'], 'services_plan_id_idx');
    t.index(['router_id'], 'services_router_id_idx');
  });
  await knex.raw(`
    alter table services
      add constraint services_username_format check (username ~ '^[A-Za-z0-9._@+][A-Za-z0-9._@+-]{0,63}$'),
      add constraint services_password_length check (char_length(password) between 1 and 64),
      add constraint services_static_ip_host check (static_ip is null or (family(static_ip) = 4 and masklen(static_ip) = 32)),
      add constraint services_individual_price_nonnegative check (individual_price_minor is null or individual_price_minor >= 0),
      add constraint services_discount_shape check (
        num_nonnulls(discount_kind, discount_value, discount_until) = 0
        or (discount_kind is not null and discount_value is not null
          and ((discount_kind = 'fixed' and discount_value >= 0) or (discount_kind = 'percent' and discount_value between 0 and 10000)))),
      add constraint services_admin_status_shape check (
        (admin_status = 'active' and admin_reason is null and admin_suspended_at is null)
        or (admin_status = 'suspended' and admin_reason is not null and admin_suspended_at is not null)),
      add constraint services_collection_status_values check (collection_status in ('current', 'reminded', 'warned', 'suspended', 'restored', 'uncollectible')),
      add constraint services_dates_order check (ended_on is null or ended_on >= started_on),
      add constraint services_router_unless_ended check (router_id is not null or ended_on is not null)
  `);
  await knex.raw('create unique index services_username_lower_key on services (lower(username))');
  // A static IP belongs to one current service; an ended service keeps it in its history.
  await knex.raw('create unique index services_static_ip_key on services (static_ip) where static_ip is not null and ended_on is null');
  await knex.raw(`comment on table services is 'One subscription: PPPoE credentials, plan, router, billing terms, admin and collection status'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('services');
  await knex.schema.dropTable('subscribers');
  await knex.raw('drop function next_subscriber_account_no()');
  await knex.raw('drop sequence subscriber_account_seq');
  await knex.schema.dropTable('plans');
  await knex.schema.dropTable('routers');
}

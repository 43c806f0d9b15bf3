// Raw rows of the tables, as the drivers hand them back (src/core/db/connection.ts sets the same
// parsers on pg and PGlite): int4 as number, int8 as bigint (money, bigint ids), numeric as an
// exact string, date as 'YYYY-MM-DD', timestamptz as Date, inet as text, jsonb parsed. Text
// columns with a check constraint carry their domain type. Each table has one mapping to the
// domain (toSubscriber, toService, toPlan, toRouter, …) next to its domain type; a query that
// selects only some columns reads a Pick of the row.
import type { AccessState, AdminStatus, CollectionStatus, SuspensionAction } from '../access/policy.js';
import type { AdjustmentStatus, AdjustmentType } from '../adjustments/service.js';
import type { GatewayKind } from '../intake/formats.js';
import type { BillingType } from '../plans/service.js';
import type { BlockAction, RouterMode, RouterStatus, Shaping } from '../routers/service.js';

export interface SubscriberRow {
  id: number;
  account_no: string;
  full_name: string;
  email: string | null;
  phone: string | null;
  address: string | null;
  notes: string | null;
  created_at: Date;
  updated_at: Date;
  collections_hold_until: string | null;
  collections_hold_reason: string | null;
}

export interface ServiceRow {
  id: number;
  subscriber_id: number;
  plan_id: number;
  router_id: number | null;
  username: string;
  password: string;
  /** Selected as `host(static_ip)` where it is shown; raw inet text (`10.0.0.5/32` on some paths) otherwise. */
  static_ip: string | null;
  individual_price_minor: bigint | null;
  discount_kind: 'fixed' | 'percent' | null;
  /** Minor units (fixed) or basis points (percent). */
  discount_value: bigint | null;
  discount_until: string | null;
  admin_status: AdminStatus;
  admin_reason: string | null;
  admin_suspended_at: Date | null;
  collection_status: CollectionStatus;
  started_on: string;
  ended_on: string | null;
  revision: number;
  created_at: Date;
  updated_at: Date;
  access_state: AccessState;
  access_reason: string;
  rate_limit: string | null;
  access_changed_at: Date | null;
}

export interface PlanRow {
  id: number;
  name: string;
  price_minor: bigint;
  currency: string;
  download_kbps: number;
  upload_kbps: number;
  billing_type: BillingType;
  burst_download_kbps: number | null;
  burst_upload_kbps: number | null;
  burst_threshold_download_kbps: number | null;
  burst_threshold_upload_kbps: number | null;
  burst_time_seconds: number | null;
  throttle_download_kbps: number | null;
  throttle_upload_kbps: number | null;
  suspension_action: SuspensionAction | null;
  archived_at: Date | null;
  revision: number;
  created_at: Date;
  updated_at: Date;
  local_address: string | null;
  pool_ranges: string | null;
}

/** A plan's columns selected beside another table's as `plan_<column>` (plans/service.ts planSelect). */
export type PrefixedPlanRow = { [K in keyof PlanRow as `plan_${K}`]: PlanRow[K] };

export interface RouterRow {
  id: number;
  name: string;
  host: string | null;
  api_port: number;
  api_user: string;
  api_password_enc: string;
  api_tls: boolean;
  api_tls_verify: boolean;
  mode: RouterMode;
  nas_address: string | null;
  radius_secret_enc: string;
  coa_port: number;
  shaping: Shaping;
  block_action: BlockAction | null;
  status: RouterStatus;
  last_contact_at: Date | null;
  last_error: string | null;
  identity: string | null;
  version: string | null;
  board: string | null;
  revision: number;
  created_at: Date;
  updated_at: Date;
  radius_secret_nas: string | null;
  consecutive_failures: number;
  health_checked_at: Date | null;
  status_changed_at: Date | null;
  local_address: string | null;
  pool_ranges: string | null;
}

export interface AdjustmentRow {
  id: bigint;
  subscriber_id: number;
  direction: 'charge' | 'credit';
  type: AdjustmentType;
  amount_minor: bigint;
  currency: string;
  reason: string;
  status: AdjustmentStatus;
  invoice_id: bigint | null;
  payment_id: bigint | null;
  event_key: string | null;
  created_by: string;
  created_at: Date;
  voided_at: Date | null;
  void_reason: string | null;
}

export interface AuditLogRow {
  id: bigint;
  at: Date;
  actor: string;
  command: string;
  entity_type: string;
  entity_id: string | null;
  action: string;
  before: unknown;
  after: unknown;
}

export interface DaemonInstanceRow {
  id: string;
  name: string;
  host: string;
  pid: number;
  worker_id: string;
  engine: string;
  version: string | null;
  started_at: Date;
  heartbeat_at: Date;
  heartbeat_every_ms: number;
  is_leader: boolean;
  leader_since: Date | null;
  lock_backend_pid: number | null;
  stopped_at: Date | null;
}

export interface ScheduleRunRow {
  schedule: string;
  last_started_at: Date | null;
  last_finished_at: Date | null;
  last_outcome: string | null;
  last_error: string | null;
  last_instance: string | null;
  last_slot: string | null;
  /** jsonb: parsed by the driver (a string only from drivers that leave json as text). */
  last_summary: Record<string, unknown> | string | null;
  last_duration_ms: number | null;
  last_ok_at: Date | null;
  runs: number;
  consecutive_failures: number;
}

export interface PaymentGatewayRow {
  name: string;
  kind: GatewayKind;
  secret: string;
  method: string;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

/** FreeRADIUS's accounting table (the columns ispctl reads). */
export interface RadacctRow {
  radacctid: bigint;
  acctsessionid: string;
  acctuniqueid: string;
  username: string | null;
  nasipaddress: string;
  nasportid: string | null;
  acctstarttime: Date | null;
  acctupdatetime: Date | null;
  acctstoptime: Date | null;
  acctsessiontime: bigint | null;
  acctinputoctets: bigint | null;
  acctoutputoctets: bigint | null;
  callingstationid: string | null;
  acctterminatecause: string | null;
  framedipaddress: string | null;
}

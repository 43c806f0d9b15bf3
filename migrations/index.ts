// Every migration, in order. Listed explicitly so the same code runs from TypeScript sources
// and from the compiled build.
import type { Knex } from 'knex';
import * as foundation from './20261124000000_foundation.js';
import * as network from './20261124010000_network.js';
import * as provisioning from './20261124020000_provisioning.js';
import * as radius from './20261124030000_radius.js';
import * as billing from './20261124040000_billing.js';
import * as billingExtra from './20261124050000_billing_extra.js';
import * as daemon from './20261124070000_daemon.js';
import * as onboarding from './20261202010000_onboarding.js';
import * as addressPools from './20261202020000_address_pools.js';
import * as ledgerViews from './20261202030000_ledger_views.js';
import * as gaplessInvoiceNumbers from './20261202050000_gapless_invoice_numbers.js';
import * as dashboardNotify from './20261202060000_dashboard_notify.js';
import * as documentsIntake from './20261202070000_documents_intake.js';
import * as invoiceSending from './20261202080000_invoice_sending.js';
import * as collectionsControls from './20261202120000_collections_controls.js';
import * as serviceHistoryPerStatement from './20261203020000_service_history_per_statement.js';
import * as routerJobQueues from './20261203030000_router_job_queues.js';
import * as notifyHold from './20261203040000_notify_hold.js';
import * as notifyCancelled from './20261204040000_notify_cancelled.js';
import * as transitionTablePlans from './20261205080000_transition_table_plans.js';
import * as radiusCheckReplyTables from './20261206400000_radius_check_reply_tables.js';
import * as runningJobHolders from './20261207010000_running_job_holders.js';
import * as notificationsOneDueIndex from './20261208010000_notifications_one_due_index.js';
import * as servicesHotUpdates from './20261208020000_services_hot_updates.js';
import * as jobQueueStatisticsSample from './20261209010000_job_queue_statistics_sample.js';
import * as radpostauthBlankOnlyPasswords from './20261210010000_radpostauth_blank_only_passwords.js';

export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const migrations: Migration[] = [
  { name: '20261124000000_foundation', ...foundation },
  { name: '20261124010000_network', ...network },
  { name: '20261124020000_provisioning', ...provisioning },
  { name: '20261124030000_radius', ...radius },
  { name: '20261124040000_billing', ...billing },
  { name: '20261124050000_billing_extra', ...billingExtra },
  { name: '20261124070000_daemon', ...daemon },
  { name: '20261202010000_onboarding', ...onboarding },
  { name: '20261202020000_address_pools', ...addressPools },
  { name: '20261202030000_ledger_views', ...ledgerViews },
  { name: '20261202050000_gapless_invoice_numbers', ...gaplessInvoiceNumbers },
  { name: '20261202060000_dashboard_notify', ...dashboardNotify },
  { name: '20261202070000_documents_intake', ...documentsIntake },
  { name: '20261202080000_invoice_sending', ...invoiceSending },
  { name: '20261202120000_collections_controls', ...collectionsControls },
  { name: '20261203020000_service_history_per_statement', ...serviceHistoryPerStatement },
  { name: '20261203030000_router_job_queues', ...routerJobQueues },
  { name: '20261203040000_notify_hold', ...notifyHold },
  { name: '20261204040000_notify_cancelled', ...notifyCancelled },
  { name: '20261205080000_transition_table_plans', ...transitionTablePlans },
  { name: '20261206400000_radius_check_reply_tables', ...radiusCheckReplyTables },
  { name: '20261207010000_running_job_holders', ...runningJobHolders },
  { name: '20261208010000_notifications_one_due_index', ...notificationsOneDueIndex },
  { name: '20261208020000_services_hot_updates', ...servicesHotUpdates },
  { name: '20261209010000_job_queue_statistics_sample', ...jobQueueStatisticsSample },
  { name: '20261210010000_radpostauth_blank_only_passwords', ...radpostauthBlankOnlyPasswords },
];

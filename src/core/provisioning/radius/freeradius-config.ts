// Writes a FreeRADIUS 3.x configuration that serves ispctl's subscribers from its PostgreSQL
// database: a copy of the installed configuration tree, edited. The copy uses the stock sql
// module and the stock PostgreSQL queries.conf unchanged; ispctl presents radcheck and radreply
// as tables its triggers keep, and radgroupcheck, radgroupreply, radusergroup and nas as views,
// all in the stock column layout.
//
// The work is split by responsibility under freeradius/: parse.ts reads existing configuration
// text, edit.ts changes it, render.ts validates and escapes every value and renders the text
// ispctl writes, install.ts copies the tree and applies the rest. This module is what the rest
// of ispctl (and the test harness) imports.
export { FREERADIUS_CONFIG_CANDIDATES } from './freeradius/types.js';
export type {
  FreeRadiusConfig,
  FreeRadiusConfigOptions,
  FreeRadiusDbOptions,
  FreeRadiusDynamicClientsOptions,
  FreeRadiusListenOptions,
  FreeRadiusSqlPoolOptions,
  FreeRadiusStaticClient,
} from './freeradius/types.js';
export { readFreeRadiusSingleQuoted } from './freeradius/parse.js';
export { quoteFreeRadiusString, renderFreeRadiusConfig, type RenderedFreeRadiusConfig } from './freeradius/render.js';
export { detectFreeRadiusConfigDir, writeFreeRadiusConfig } from './freeradius/install.js';

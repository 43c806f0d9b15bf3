// What every core service receives: the database, the clock and who is acting.
import type { Knex } from 'knex';
import type { Clock } from './clock.js';
import type { Engine } from './db/config.js';

export interface Actor {
  /** OS user (SUDO_USER first). */
  user: string;
  /** Command line with secrets masked, e.g. `ispctl settings set billing-day 5`. */
  command: string;
}

export interface ServiceContext {
  db: Knex;
  engine: Engine;
  clock: Clock;
  actor: Actor;
  env: Record<string, string | undefined>;
}

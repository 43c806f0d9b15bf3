import type { Knex } from 'knex';
import { mapDbError, SerializationError } from './errors.js';

export type Db = Knex | Knex.Transaction;

/**
 * Runs `fn` in a transaction (nested calls use savepoints). Driver errors come out typed
 * (UniqueViolationError, SerializationError); serialization failures are retried a few times.
 */
export async function withTransaction<T>(db: Db, fn: (trx: Knex.Transaction) => Promise<T>, opts: { retries?: number } = {}): Promise<T> {
  const retries = opts.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (err) {
      const mapped = mapDbError(err);
      if (mapped instanceof SerializationError && attempt < retries && !db.isTransaction) continue;
      throw mapped;
    }
  }
}

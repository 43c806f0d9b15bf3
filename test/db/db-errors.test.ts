// A statement the database refuses, on both engines as ispctl opens them (connection.ts): the
// error says it in the database's own words (knex put the statement's whole text in front), the
// statement is kept apart for DEBUG=1, and the values sent with it are nowhere in the message.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/core/db/connection.js';
import { databaseRefusal, failedStatement } from '../../src/core/db/errors.js';
import { withTransaction } from '../../src/core/db/tx.js';
import { describeError } from '../../src/core/error-text.js';
import { createPgDatabase, ENGINES } from '../helpers/db.js';

const SECRET = 's3cr3t-value';

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('the statement was expected to fail');
}

for (const engine of ENGINES) {
  describe(`a statement the database refuses [${engine}]`, () => {
    let db: Database;
    let cleanup: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      if (engine === 'postgres') {
        const created = await createPgDatabase('dberr');
        db = await openDatabase({ engine: 'postgres', url: created.url });
        cleanup = created.drop;
      } else {
        const dir = mkdtempSync(join(tmpdir(), 'ispctl-dberr-'));
        db = await openDatabase({ engine: 'pglite', dataDir: dir, path: join(dir, 'pgdata') });
        cleanup = async () => rmSync(dir, { recursive: true, force: true });
      }
      await db.knex.raw('create table t (id int primary key, note text, doc jsonb)');
      await db.knex.raw('insert into t (id, note) values (1, ?)', ['first']);
    });
    afterAll(async () => {
      await db?.close();
      await cleanup?.();
    });

    it('a duplicate key: the database’s message and detail; the statement apart; the values nowhere', async () => {
      const err = await failure(db.knex.raw('insert into t (id, note) values (?, ?)', [1, SECRET]));
      expect(err.message).toBe('duplicate key value violates unique constraint "t_pkey"');
      expect(failedStatement(err)).toBe('insert into t (id, note) values ($1, $2)');
      expect(describeError(err)).toBe('duplicate key value violates unique constraint "t_pkey"');
      expect(databaseRefusal(err)).toEqual({ sqlstate: '23505', text: 'duplicate key value violates unique constraint "t_pkey": Key (id)=(1) already exists' });
      expect(`${err.message}\n${err.stack}\n${JSON.stringify(err)}`).not.toContain(SECRET);
    });

    it('in a transaction, and through the layer that maps errors (the cause keeps the statement)', async () => {
      const err = await failure(withTransaction(db.knex, (trx) => trx('t').insert({ id: 1, note: SECRET })));
      expect(failedStatement(err)).toBe('insert into "t" ("id", "note") values ($1, $2)');
      expect(`${err.message}\n${describeError(err)}`).not.toContain('insert into');
      expect(`${err.message}\n${err.stack}`).not.toContain(SECRET);
    });

    it('a question mark left in the text (jsonb’s ? operator) takes no value into the message', async () => {
      // knex writes the values into the statement's text at each `?` left in it when it reports
      // an error, unless told not to: here that was the document, secret and all.
      const err = await failure(db.knex.raw(`select ?::jsonb \\? 'k' from no_such_table`, [JSON.stringify({ k: SECRET })]));
      expect(err.message).toBe('relation "no_such_table" does not exist');
      expect(failedStatement(err)).toBe(`select $1::jsonb ? 'k' from no_such_table`);
      expect(`${err.message}\n${err.stack}`).not.toContain(SECRET);
      expect(databaseRefusal(err)?.sqlstate).toBe('42P01');
    });

    it('an error that is not the database’s is left alone', () => {
      expect(databaseRefusal(new Error('socket hang up'))).toBeUndefined();
      expect(databaseRefusal({ code: 'ECONNRESET', message: 'read ECONNRESET' })).toBeUndefined();
      expect(failedStatement(new Error('x'))).toBeUndefined();
    });
  });
}

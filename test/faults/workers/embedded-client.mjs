// A client of the embedded database through ispctl's connection (and so its server).
// Modes:
//   write <n> <tag>   insert n rows in one transaction, print {"committed":n}
//   bulk <n> <tag>    insert n rows in one statement, print {"committed":n}
//   hold              begin, insert a row, set session state, print "inside", then wait to be killed
//   state             print what a fresh session sees: {"rows":..,"tz":..,"temp":..,"inTx":..}
const [connJs, dataDir, mode, ...args] = process.argv.slice(2);
const { openDatabase } = await import(connJs);
const db = await openDatabase({ engine: 'pglite', dataDir, path: `${dataDir}/pgdata` }, { lockTimeoutMs: 60_000, command: `client ${mode}` });
const k = db.knex;
// Which server serves us (its pid), read while we hold our turn.
const { lockHello } = await import(new URL('lock.js', `file://${connJs}`).href);
let h;
for (let i = 0; i < 20 && h === undefined; i++) h = await lockHello(`${dataDir}/db.lock`); // undefined: no answer in time (a busy machine)
const server = h && h !== 'free' && h.serves ? h.pid : null;
await k.raw('create table if not exists marks (id serial primary key, tag text not null)');
if (mode === 'write') {
  const [n, tag] = args;
  await k.transaction(async (trx) => {
    for (let i = 0; i < Number(n); i++) await trx.raw('insert into marks (tag) values (?)', [tag]);
  });
  await db.close();
  process.stdout.write(JSON.stringify({ committed: Number(n), server, served: db.served === true }) + '\n');
} else if (mode === 'bulk') {
  const [n, tag] = args;
  await k.raw('insert into marks (tag) select ? from generate_series(1, ?)', [tag, Number(n)]);
  await db.close();
  process.stdout.write(JSON.stringify({ committed: Number(n), server, served: db.served === true }) + '\n');
} else if (mode === 'hold') {
  await k.raw("set timezone = 'Pacific/Kiritimati'");
  await k.raw('create temp table scratch (x int)');
  await k.raw('begin');
  await k.raw("insert into marks (tag) values ('uncommitted')");
  process.stdout.write('inside\n');
  setInterval(() => undefined, 1000);
} else if (mode === 'state') {
  const rows = (await k.raw("select count(*)::int as n from marks where tag = 'uncommitted'")).rows[0].n;
  const tz = (await k.raw('show timezone')).rows[0].TimeZone;
  const temp = (await k.raw("select count(*)::int as n from pg_class where relname = 'scratch'")).rows[0].n;
  const total = (await k.raw('select count(*)::int as n from marks')).rows[0].n;
  await db.close();
  process.stdout.write(JSON.stringify({ rows, tz, temp, total, server, served: db.served === true }) + '\n');
}

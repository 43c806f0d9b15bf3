// Opens the embedded database `rounds` times through ispctl's connection (and so its lock),
// inserts `rows` rows each time and closes it. Prints {"committed":n}.
const [connJs, dataDir, rounds, rows, tag] = process.argv.slice(2);
const { openDatabase } = await import(connJs);
let committed = 0;
for (let r = 0; r < Number(rounds); r++) {
  const db = await openDatabase({ engine: 'pglite', dataDir, path: `${dataDir}/pgdata` }, { lockTimeoutMs: 120_000, command: `writer ${tag}` });
  try {
    await db.knex.raw('create table if not exists writes (id serial primary key, tag text not null, n int not null)');
    for (let i = 0; i < Number(rows); i++) {
      await db.knex.raw('insert into writes (tag, n) values (?, ?)', [tag, r * Number(rows) + i]);
      committed++;
    }
  } finally {
    await db.close();
  }
}
process.stdout.write(JSON.stringify({ committed }) + '\n');

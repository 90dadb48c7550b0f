import pg from 'pg';

/**
 * Query plans that do not depend on luck.
 *
 * A plan read from the shared test database depends on whatever rows other
 * tests wrote a moment ago and on which rows ANALYZE happened to sample: the
 * same test chose `changes_search_idx` on one run and `changes_group_idx` on
 * the next. So a plan test gets its own copy of the table: a session-private
 * temporary table with the real table's columns and indexes (same names), that
 * shadows the real one for that session only (pg_temp comes first on the
 * search path), seeded by the test, vacuumed and analyzed with a statistics
 * target large enough that ANALYZE reads every row. Same seed, same
 * statistics, same plan — and no other test can move it.
 */
export interface PlanBench {
  /** EXPLAIN of `sql` in the private session, sequential scans priced out. */
  plan(sql: string, params?: readonly unknown[]): Promise<string>;
  close(): Promise<void>;
}

/**
 * `tables`: the real tables to copy; `seed`: statements that fill the copies
 * (they name the tables unqualified, so they write to the copies).
 */
export async function planBench(databaseUrl: string, tables: string[], seed: string[]): Promise<PlanBench> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const table of tables) {
      await client.query(`CREATE TEMP TABLE ${table} (LIKE public.${table} INCLUDING ALL EXCLUDING INDEXES EXCLUDING CONSTRAINTS)`);
      // The real indexes under their own names, so a test can say which one serves a filter.
      const { rows } = await client.query<{ indexdef: string }>(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 ORDER BY indexname",
        [table],
      );
      for (const { indexdef } of rows) {
        await client.query(indexdef.replace(` ON public.${table} `, ` ON pg_temp.${table} `));
      }
    }
    for (const statement of seed) await client.query(statement);
    // A sample of 300 × target rows: 10,000 reads every row of any table a test seeds.
    await client.query('SET default_statistics_target = 10000');
    for (const table of tables) await client.query(`VACUUM ANALYZE pg_temp.${table}`);
    await client.query('SET enable_seqscan = off');
  } catch (err) {
    await client.end();
    throw err;
  }
  return {
    async plan(sql, params = []) {
      const { rows } = await client.query(`EXPLAIN ${sql}`, [...params]);
      return rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    },
    close: () => client.end(),
  };
}

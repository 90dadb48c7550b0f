import { buildListSql, listPage } from '../../api/list-query';
import { pageRequest, parseSort } from '../../api/pagination';
import { CHANGE_SORT_COLUMNS as CHANGE_SORTS, changeListSpec } from '../../api/modules/changes/changes.queries';
import { createPool, type Pool } from '../../platform/db';
import { testEnv } from '../support/env';
import { planBench, type PlanBench } from '../support/query-plans';

/**
 * "Indexed queries only": with sequential scans priced out, every filter and
 * sort the list endpoint offers must still have an index path. A filter added
 * without its index makes this fail. Plans come from a private, fully analyzed
 * copy of the table (test/support/query-plans.ts), so they do not move with
 * other tests' rows or ANALYZE's sampling.
 */
let pool: Pool;
let bench: PlanBench;
const TENANT = 'index-check-0';

// Plans on an empty table mean nothing: give the planner 40 tenants × 500 varied changes.
const SEED = `
    INSERT INTO changes (tenant_id, id, number, version, type, state, short_description, description, risk, risk_score, risk_level,
                         assignment_group, assigned_to, ci_id, scheduled_start, scheduled_end, requested_by, created_at, updated_at, body)
    SELECT 'index-check-' || (n % 40), 'CHG' || lpad(n::text, 7, '0'), n, 1,
           (ARRAY['normal','standard','emergency'])[1 + n % 3],
           (ARRAY['draft','submitted','cab_review','scheduled','in_progress','completed','closed','cancelled','failed','rejected','post_review'])[1 + n % 11],
           'Change ' || n || ' ' || (ARRAY['upgrade','patch','rotate','resize','migrate'])[1 + n % 5],
           (ARRAY['database','network','cache','storage','compute','queue','dns'])[1 + n % 7] || ' work item ' || md5(n::text),
           (ARRAY['low','medium','high','critical'])[1 + n % 4], n % 101,
           (ARRAY['low','medium','high','critical'])[1 + (n / 7) % 4],
           'group-' || (n % 50), 'user' || (n % 200) || '@example.com', 'CI' || lpad((n % 500)::text, 7, '0'),
           timestamptz '2026-01-01' + (n % 365) * interval '1 day', timestamptz '2026-01-01' + (n % 365) * interval '1 day' + interval '2 hours',
           'requester@example.com', timestamptz '2026-01-01' + n * interval '26 minutes', timestamptz '2026-01-01' + n * interval '27 minutes', '{}'::jsonb
      FROM generate_series(1, 20000) AS n
    ON CONFLICT DO NOTHING`;

beforeAll(async () => {
  pool = createPool(testEnv.databaseUrl, 1);
  // Plans are read from a private copy (see planBench); the real table gets the same rows for the count-cache test below.
  bench = await planBench(testEnv.databaseUrl, ['changes'], [SEED]);
  await pool.query(SEED);
});
afterAll(async () => {
  await bench?.close();
  await pool.query("DELETE FROM changes WHERE tenant_id LIKE 'index-check-%'");
  await pool.end();
});

/** The index that must serve each filter when it is counted (no ORDER BY to compete with). */
const FILTER_INDEX: Record<string, RegExp> = {
  none: /changes_\w+/,
  state: /changes_state_idx/,
  type: /changes_type_idx/,
  risk: /changes_risk_idx/,
  risk_level: /changes_risk_level_idx/,
  assignment_group: /changes_group(_outcome)?_idx/,
  assigned_to: /changes_assigned_to_idx/,
  ci_id: /changes_ci_(updated_)?idx/,
  created_after: /changes_created_idx/,
  created_before: /changes_created_idx/,
  q: /changes_search_idx/,
};

const FILTERS: Record<string, Record<string, unknown>> = {
  none: {},
  state: { state: ['scheduled', 'cab_review'] },
  type: { type: ['normal'] },
  risk: { risk: ['high'] },
  risk_level: { risk_level: ['critical'] },
  assignment_group: { assignment_group: 'group-40' },
  assigned_to: { assigned_to: 'user40@example.com' },
  ci_id: { ci_id: 'CI0000040' },
  created_after: { created_after: '2026-12-01T00:00:00Z' },
  created_before: { created_before: '2026-01-20T00:00:00Z' },
  q: { q: 'dns migrate' },
};

const plan = (sql: string, params: readonly unknown[]) => bench.plan(sql, params);

describe.each(Object.keys(FILTERS))('filter %s', (name) => {
  test.each(Object.keys(CHANGE_SORTS))('sorted by %s, both page styles and the count, use indexes', async (sortField) => {
    const spec = changeListSpec(TENANT, FILTERS[name] as never);
    const sort = parseSort({ sort: sortField }, Object.keys(CHANGE_SORTS), { field: 'created_at', direction: 'desc' });
    const offset = buildListSql(spec, pageRequest('stella', { page: 3 }, sort));
    const keyset = buildListSql(spec, { mode: 'keyset', limit: 25, sort, after: { sort: sortField, direction: sort.direction, value: sortField === 'id' ? 'CHG0000100' : sortField === 'risk_score' ? '40' : '2026-05-10 00:00:00+00', id: 'CHG0000100' } });
    for (const [sql, params] of [[offset.sql, offset.params], [keyset.sql, keyset.params], [offset.countSql, offset.countParams]] as const) {
      expect(await plan(sql, [...params])).not.toMatch(/Seq Scan on changes/);
    }
  });
});

test.each(Object.keys(FILTERS))('counting with filter %s uses that filter\'s own index', async (name) => {
  const { countSql, countParams } = buildListSql(changeListSpec(TENANT, FILTERS[name] as never), pageRequest('stella', {}, { field: 'created_at', direction: 'desc' }));
  expect(await plan(countSql, countParams)).toMatch(FILTER_INDEX[name]);
});

test('a total is counted once per tenant generation: later pages run one statement each until a write moves the generation', async () => {
  const statements: string[] = [];
  const watched = { query: (q: string | { text: string }, values?: unknown[]) => (statements.push(typeof q === 'string' ? q : q.text), pool.query(q as never, values)) } as unknown as Pool;
  // A filter no other test lists, so nothing is cached for it yet.
  const spec = changeListSpec(TENANT, { state: ['post_review'], type: ['emergency'] } as never);
  const read = async (page: number) => {
    statements.length = 0;
    const result = await listPage(watched, spec, pageRequest('stella', { page, pageSize: 5 }, { field: 'created_at', direction: 'desc' }), (r: { id?: string }) => r);
    return { total: result.total, counted: statements.filter((sql) => /count\(\*\)/.test(sql)).length, statements: statements.length };
  };
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM changes WHERE tenant_id = $1 AND state = 'post_review' AND type = 'emergency'", [TENANT]);

  expect(await read(1)).toEqual({ total: rows[0].n, counted: 1, statements: 2 });
  expect(await read(2)).toEqual({ total: rows[0].n, counted: 0, statements: 1 });
  expect(await read(1)).toEqual({ total: rows[0].n, counted: 0, statements: 1 });

  await pool.query(
    `UPDATE changes SET state = 'post_review', type = 'emergency'
      WHERE tenant_id = $1 AND id = (SELECT id FROM changes WHERE tenant_id = $1 AND state <> 'post_review' ORDER BY id LIMIT 1)`,
    [TENANT],
  );
  expect(await read(1)).toEqual({ total: rows[0].n + 1, counted: 1, statements: 2 });
  expect(await read(1)).toEqual({ total: rows[0].n + 1, counted: 0, statements: 1 });
});

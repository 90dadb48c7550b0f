import { buildListSql } from '../../api/list-query';
import { pageRequest, type SortSpec } from '../../api/pagination';
import { incidentListSpec, notesListSpec, type IncidentFilters } from '../../api/modules/incidents/incidents.queries';
import { testEnv } from '../support/env';
import { planBench, type PlanBench } from '../support/query-plans';

/**
 * "Every list query uses an index": on 100k incidents across 40 tenants, with
 * sequential scans priced out, each filter under each sort (both page styles
 * and the count) must still have an index path, and each filter's count must
 * use that filter's own index. A filter added without its index fails here.
 */
let bench: PlanBench;
const TENANT = 'inc-index-check-7';
const ROWS = 100_000;

beforeAll(async () => {
  // Plans come from a private, fully analyzed copy of the table (see planBench), so no other test's rows move them.
  bench = await planBench(testEnv.databaseUrl, ['incidents', 'incident_notes'], [`
    INSERT INTO incidents (tenant_id, id, number, version, short_description, description, priority, state, category,
                           assignment_group, assigned_to, opened_by, opened_by_id, ci_id, created_at, updated_at, deleted_at)
    SELECT 'inc-index-check-' || (n % 40), 'INC' || lpad(n::text, 7, '0'), n, 1,
           (ARRAY['Database','Network','Cache','Login','Queue'])[1 + n % 5] || ' ' || (ARRAY['timeout','outage','latency','errors'])[1 + n % 4] || ' ' || n,
           'Incident ' || md5(n::text),
           (ARRAY['P1','P2','P3','P4'])[1 + (n / 3) % 4],
           (ARRAY['new','in_progress','on_hold','resolved','closed','cancelled','reopened'])[1 + n % 7],
           (ARRAY['database','network','cache','web','queue','storage'])[1 + n % 6],
           'group-' || (n % 50), 'user' || (n % 300) || '@example.com', 'opener@example.com', 'opener',
           'CI' || lpad((n % 700)::text, 7, '0'),
           timestamptz '2026-01-01' + n * interval '5 minutes', timestamptz '2026-01-01' + n * interval '6 minutes',
           CASE WHEN n % 97 = 0 THEN timestamptz '2026-06-01' END
      FROM generate_series(1, ${ROWS}) AS n
    ON CONFLICT DO NOTHING`, `
    INSERT INTO incident_notes (tenant_id, incident_id, id, body, visibility, author, author_id, attachments, created_at)
    SELECT 'inc-index-check-' || (n % 40), 'INC' || lpad((n % 5000)::text, 7, '0'), 'note_' || n, 'Note ' || n,
           'internal', 'user@example.com', 'user', '[]', timestamptz '2026-01-01' + n * interval '1 minute'
      FROM generate_series(1, 50000) AS n`]);
}, 120_000);
afterAll(async () => {
  await bench?.close();
});

const FILTERS: Record<string, IncidentFilters> = {
  none: {},
  state: { state: ['new', 'on_hold'] },
  priority: { priority: ['P1'] },
  assignment_group: { assignment_group: 'group-7' },
  assigned_to: { assigned_to: 'user7@example.com' },
  category: { category: 'network' },
  created_after: { created_after: '2026-12-01T00:00:00.000Z' },
  created_before: { created_before: '2026-01-20T00:00:00.000Z' },
  q: { q: 'database timeout' },
};

/** The index each filter's count must use (no ORDER BY to compete with). */
const FILTER_INDEX: Record<string, RegExp> = {
  none: /incidents_\w+_idx/,
  state: /incidents_state_idx/,
  priority: /incidents_priority(_created)?_idx/,
  assignment_group: /incidents_group_idx/,
  assigned_to: /incidents_assigned_to_idx/,
  category: /incidents_category_idx/,
  created_after: /incidents_created_idx/,
  created_before: /incidents_created_idx/,
  q: /incidents_search_idx/,
};

const SORTS: Record<string, { value: string }> = {
  created_at: { value: '2026-05-10 00:00:00+00' },
  updated_at: { value: '2026-05-10 00:00:00+00' },
  priority: { value: 'P2' },
  relevance: { value: '50000' },
};

const plan = (sql: string, params: readonly unknown[]) => bench.plan(sql, params);

describe.each(Object.keys(FILTERS))('filter %s', (name) => {
  const sorts = Object.keys(SORTS).filter((s) => s !== 'relevance' || name === 'q');
  test.each(sorts)('sorted by %s, both page styles and the count, use indexes', async (field) => {
    const spec = incidentListSpec(TENANT, FILTERS[name]);
    const sort: SortSpec = { field, direction: field === 'priority' ? 'asc' : 'desc' };
    const offset = buildListSql(spec, pageRequest('stella', { page: 3 }, sort));
    const keyset = buildListSql(spec, { mode: 'keyset', limit: 25, sort, after: { sort: field, direction: sort.direction, value: SORTS[field].value, id: 'INC0050000' } });
    for (const [sql, params] of [[offset.sql, offset.params], [keyset.sql, keyset.params], [offset.countSql, offset.countParams]] as const) {
      expect(await plan(sql, [...params])).not.toMatch(/Seq Scan on incidents/);
    }
  });
});

test.each(Object.keys(FILTERS))("counting with filter %s uses that filter's own index", async (name) => {
  const { countSql, countParams } = buildListSql(incidentListSpec(TENANT, FILTERS[name]), pageRequest('stella', {}, { field: 'created_at', direction: 'desc' }));
  expect(await plan(countSql, countParams)).toMatch(FILTER_INDEX[name]);
});

test('an incident’s notes list by its index', async () => {
  const keyset = buildListSql(notesListSpec(TENANT, 'INC0000007'), { mode: 'keyset', limit: 25, sort: { field: 'created_at', direction: 'asc' }, after: { sort: 'created_at', direction: 'asc', value: '2026-05-10 00:00:00+00', id: 'note_x' } });
  expect(await plan(keyset.sql, keyset.params)).toMatch(/incident_notes_incident_idx/);
});

test('the query a change risk assessment runs (open P1/P2 incidents on a CI) uses its partial index', async () => {
  const text = await plan(
    `SELECT id FROM incidents WHERE tenant_id = $1 AND ci_id = $2 AND deleted_at IS NULL AND priority IN ('P1', 'P2') AND state IN ('new', 'in_progress', 'on_hold', 'reopened')`,
    [TENANT, 'CI0000007'],
  );
  expect(text).toMatch(/incidents_open_urgent_ci_idx/);
});

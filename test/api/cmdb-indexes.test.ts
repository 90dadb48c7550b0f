import { buildListSql } from '../../api/list-query';
import { pageRequest, type SortSpec } from '../../api/pagination';
import { ciListSpec, relationshipListSpec, type CiFilters } from '../../api/modules/cmdb/cmdb.queries';
import { impactSql } from '../../store/cmdb';
import { testEnv } from '../support/env';
import { planBench, type PlanBench } from '../support/query-plans';

/**
 * Every CI list filter has its index: on 100k CIs across 40 tenants, with
 * sequential scans priced out, each filter under each sort (both page styles
 * and the count) keeps an index path, and each filter's count uses its own
 * index. The impact walk's steps go by the relationships' target index.
 */
let bench: PlanBench;
const TENANT = 'ci-index-check-7';
const ROWS = 100_000;

beforeAll(async () => {
  bench = await planBench(testEnv.databaseUrl, ['cmdb_cis', 'cmdb_relationships'], [`
    INSERT INTO cmdb_cis (tenant_id, id, version, name, class, environment, owner_group, lifecycle_state, description, attributes, created_by, created_at, updated_at)
    SELECT 'ci-index-check-' || (n % 40), 'CI' || lpad(n::text, 7, '0'), 1,
           (ARRAY['payments','orders','search','auth','billing'])[1 + n % 5] || '-' || n,
           (ARRAY['service','application','database','host','queue','network','storage','cache'])[1 + n % 8],
           (ARRAY['production','staging','dev'])[1 + n % 3],
           'group-' || (n % 50),
           (ARRAY['planned','operational','maintenance','retired'])[1 + (n / 7) % 4],
           'CI ' || md5(n::text),
           jsonb_build_object('engine', (ARRAY['postgres','mysql','aurora'])[1 + n % 3], 'port', 5000 + n % 1000),
           'seed', timestamptz '2026-01-01' + n * interval '5 minutes', timestamptz '2026-01-01' + n * interval '6 minutes'
      FROM generate_series(1, ${ROWS}) AS n`, `
    INSERT INTO cmdb_relationships (tenant_id, id, source_id, type, target_id, created_by, created_at)
    SELECT 'ci-index-check-' || (n % 40), 'rel_' || n, 'CI' || lpad(n::text, 7, '0'), 'depends_on', 'CI' || lpad((n + 40)::text, 7, '0'),
           'seed', timestamptz '2026-01-01' + n * interval '1 minute'
      FROM generate_series(1, ${ROWS}) AS n`]);
}, 120_000);
afterAll(async () => {
  await bench?.close();
});

const FILTERS: Record<string, CiFilters> = {
  none: {},
  class: { class: ['database'] },
  environment: { environment: 'staging' },
  owner: { owner: 'group-7' },
  lifecycle_state: { lifecycle_state: ['retired'] },
  name: { name: 'pay' },
  attribute: { attributes: { engine: 'aurora' } },
  numeric_attribute: { attributes: { port: '5007' } },
  q: { q: 'payments' },
};

/** The index each filter's count must use (no ORDER BY to compete with). */
const FILTER_INDEX: Record<string, RegExp> = {
  none: /cmdb_cis_\w+/,
  class: /cmdb_cis_class_idx/,
  environment: /cmdb_cis_environment_idx/,
  owner: /cmdb_cis_owner_idx/,
  lifecycle_state: /cmdb_cis_lifecycle_idx/,
  name: /cmdb_cis_name_prefix_idx/,
  attribute: /cmdb_cis_attributes_idx/,
  numeric_attribute: /cmdb_cis_attributes_idx/,
  q: /cmdb_cis_search_idx/,
};

const SORTS: Record<string, string> = {
  created_at: '2026-05-10 00:00:00+00',
  updated_at: '2026-05-10 00:00:00+00',
  name: 'orders-500',
  relevance: '50000',
};

describe.each(Object.keys(FILTERS))('filter %s', (name) => {
  const sorts = Object.keys(SORTS).filter((s) => s !== 'relevance' || name === 'q');
  test.each(sorts)('sorted by %s, both page styles and the count, use indexes', async (field) => {
    const spec = ciListSpec(TENANT, FILTERS[name]);
    const sort: SortSpec = { field, direction: field === 'name' ? 'asc' : 'desc' };
    const offset = buildListSql(spec, pageRequest('stella', { page: 3 }, sort));
    const keyset = buildListSql(spec, { mode: 'keyset', limit: 25, sort, after: { sort: field, direction: sort.direction, value: SORTS[field], id: 'CI0050000' } });
    for (const [sql, params] of [[offset.sql, offset.params], [keyset.sql, keyset.params], [offset.countSql, offset.countParams]] as const) {
      expect(await bench.plan(sql, [...params])).not.toMatch(/Seq Scan on cmdb_cis/);
    }
  });
});

test.each(Object.keys(FILTERS))("counting with filter %s uses that filter's own index", async (name) => {
  const { countSql, countParams } = buildListSql(ciListSpec(TENANT, FILTERS[name]), pageRequest('stella', {}, { field: 'created_at', direction: 'desc' }));
  expect(await bench.plan(countSql, countParams)).toMatch(FILTER_INDEX[name]);
});

test("a CI's relationships list by their source and target indexes", async () => {
  const both = buildListSql(relationshipListSpec(TENANT, 'CI0000047', {}), { mode: 'keyset', limit: 25, sort: { field: 'created_at', direction: 'asc' } });
  const text = await bench.plan(both.sql, both.params);
  expect(text).toMatch(/cmdb_relationships_(source_idx|tenant_id_source_id_type_target_id_key)/);
  expect(text).toMatch(/cmdb_relationships_target_idx/);
  expect(text).not.toMatch(/Seq Scan/);
});

test('the impact walk steps by the target index', async () => {
  const text = await bench.plan(impactSql(), [TENANT, 'CI0000047', 5, 20_001]);
  expect(text).toMatch(/cmdb_relationships_target_idx/);
  expect(text).not.toMatch(/Seq Scan on cmdb_relationships/);
});

import { buildListSql } from '../../api/list-query';
import { pageRequest, parseSort } from '../../api/pagination';
import { RUN_SORT_COLUMNS, runListSpec, type RunFilters } from '../../api/modules/workflow-runs/workflow-runs.queries';
import { testEnv } from '../support/env';
import { planBench, type PlanBench } from '../support/query-plans';

/**
 * "Indexed queries only" for GET /workflow-runs: with sequential scans priced
 * out, every filter (and the date range with each) has an index path, and a
 * count with a filter uses that filter's own index. Plans come from a private, analyzed copy.
 */
let bench: PlanBench;
const TENANT = 'run-index-0';

const SEED = `
    INSERT INTO workflow_runs (tenant_id, id, version, template_id, template_version, template_name, status, requested_by, created_at, updated_at, body)
    SELECT 'run-index-' || (n % 40), md5('r' || n)::uuid, 1, md5('t' || (n % 500))::uuid, 1, 'template ' || (n % 500),
           (ARRAY['running','paused','cancelling','succeeded','failed','cancelled'])[1 + n % 6], 'someone',
           timestamptz '2026-01-01' + n * interval '26 minutes', timestamptz '2026-01-01' + n * interval '27 minutes', '{}'::jsonb
      FROM generate_series(1, 20000) AS n`;

beforeAll(async () => {
  bench = await planBench(testEnv.databaseUrl, ['workflow_runs'], [SEED]);
});
afterAll(() => bench?.close());

const RANGE = { createdAfter: '2026-03-01T00:00:00Z', createdBefore: '2026-03-08T00:00:00Z' };
const FILTERS: Record<string, { filters: RunFilters; index: RegExp }> = {
  none: { filters: {}, index: /workflow_runs_\w+/ },
  status: { filters: { status: 'paused' }, index: /workflow_runs_status_idx/ },
  templateId: { filters: { templateId: 'b4f1a1c0-0000-4000-8000-000000000001' }, index: /workflow_runs_template_idx/ },
  range: { filters: RANGE, index: /workflow_runs_created_idx/ },
  'status and range': { filters: { status: 'failed', ...RANGE }, index: /workflow_runs_status_idx/ },
  'template and range': { filters: { templateId: 'b4f1a1c0-0000-4000-8000-000000000001', ...RANGE }, index: /workflow_runs_template_idx/ },
};

describe.each(Object.keys(FILTERS))('filter %s', (name) => {
  test('both page styles and the count use indexes', async () => {
    const spec = runListSpec(TENANT, FILTERS[name].filters);
    const sort = parseSort({}, Object.keys(RUN_SORT_COLUMNS), { field: 'created_at', direction: 'desc' });
    const offset = buildListSql(spec, pageRequest('stella', { page: 3 }, sort));
    const keyset = buildListSql(spec, { mode: 'keyset', limit: 25, sort, after: { sort: 'created_at', direction: 'desc', value: '2026-05-10 00:00:00+00', id: 'b4f1a1c0-0000-4000-8000-000000000003' } });
    for (const [sql, params] of [[offset.sql, offset.params], [keyset.sql, keyset.params], [offset.countSql, offset.countParams]] as const) {
      expect(await bench.plan(sql, [...params])).not.toMatch(/Seq Scan on workflow_runs/);
    }
  });

  test('counting uses the filter’s own index', async () => {
    const { countSql, countParams } = buildListSql(runListSpec(TENANT, FILTERS[name].filters), pageRequest('stella', {}, { field: 'created_at', direction: 'desc' }));
    expect(await bench.plan(countSql, countParams)).toMatch(FILTERS[name].index);
  });
});

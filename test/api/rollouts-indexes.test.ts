import { buildListSql } from '../../api/list-query';
import { pageRequest, parseSort } from '../../api/pagination';
import { ROLLOUT_SORT_COLUMNS, rolloutListSpec, type RolloutFilters } from '../../api/modules/rollouts/rollouts.queries';
import { testEnv } from '../support/env';
import { planBench, type PlanBench } from '../support/query-plans';

/**
 * "Indexed queries only" for GET /ab-releases: with sequential scans priced
 * out, every filter and sort has an index path, and a count with a filter
 * uses that filter's own index. Plans come from a private, analyzed copy.
 */
let bench: PlanBench;
const TENANT = 'rollout-index-0';

const SEED = `
    INSERT INTO rollouts (tenant_id, id, version, name, environment_id, stable_release_id, canary_release_id, strategy, state, created_at, updated_at, body)
    SELECT 'rollout-index-' || (n % 40), md5('r' || n)::uuid, 1, 'rollout ' || n,
           md5('e' || (n % 300))::uuid, md5('s' || (n % 500))::uuid, md5('c' || (n % 2000))::uuid,
           (ARRAY['canary','blueGreen','abTest'])[1 + n % 3],
           (ARRAY['created','running','paused','completed','aborted','failed'])[1 + n % 6],
           timestamptz '2026-01-01' + n * interval '26 minutes', timestamptz '2026-01-01' + n * interval '27 minutes', '{}'::jsonb
      FROM generate_series(1, 20000) AS n`;

beforeAll(async () => {
  bench = await planBench(testEnv.databaseUrl, ['rollouts'], [SEED]);
});
afterAll(() => bench?.close());

const FILTERS: Record<string, { filters: RolloutFilters; index: RegExp }> = {
  none: { filters: {}, index: /rollouts_\w+/ },
  state: { filters: { state: 'paused' }, index: /rollouts_state_idx/ },
  environmentId: { filters: { environmentId: 'b4f1a1c0-0000-4000-8000-000000000001' }, index: /rollouts_env_idx/ },
  releaseId: { filters: { releaseId: 'b4f1a1c0-0000-4000-8000-000000000002' }, index: /rollouts_canary_release_idx/ },
  strategy: { filters: { strategy: 'abTest' }, index: /rollouts_strategy_idx/ },
};

describe.each(Object.keys(FILTERS))('filter %s', (name) => {
  test.each(Object.keys(ROLLOUT_SORT_COLUMNS))('sorted by %s, both page styles and the count, use indexes', async (sortField) => {
    const spec = rolloutListSpec(TENANT, FILTERS[name].filters);
    const sort = parseSort({ sort: sortField }, Object.keys(ROLLOUT_SORT_COLUMNS), { field: 'created_at', direction: 'desc' });
    const offset = buildListSql(spec, pageRequest('stella', { page: 3 }, sort));
    const keyset = buildListSql(spec, { mode: 'keyset', limit: 25, sort, after: { sort: sortField, direction: sort.direction, value: '2026-05-10 00:00:00+00', id: 'b4f1a1c0-0000-4000-8000-000000000003' } });
    for (const [sql, params] of [[offset.sql, offset.params], [keyset.sql, keyset.params], [offset.countSql, offset.countParams]] as const) {
      expect(await bench.plan(sql, [...params])).not.toMatch(/Seq Scan on rollouts/);
    }
  });

  test('counting uses the filter’s own index', async () => {
    const { countSql, countParams } = buildListSql(rolloutListSpec(TENANT, FILTERS[name].filters), pageRequest('stella', {}, { field: 'created_at', direction: 'desc' }));
    expect(await bench.plan(countSql, countParams)).toMatch(FILTERS[name].index);
  });
});

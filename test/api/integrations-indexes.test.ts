import { buildListSql } from '../../api/list-query';
import { pageRequest, type SortSpec } from '../../api/pagination';
import { integrationListSpec } from '../../api/modules/integrations/integrations.queries';
import { pluginInstanceListSpec } from '../../api/modules/plugins/plugins.queries';
import { testEnv } from '../support/env';
import { planBench, type PlanBench } from '../support/query-plans';

/**
 * The integration and plugin instance lists keep an index path for every
 * filter, both page styles and the count, on 60k rows across 30 tenants with
 * sequential scans priced out.
 */
let bench: PlanBench;
const TENANT = 'int-index-check-7';
const ROWS = 60_000;

beforeAll(async () => {
  bench = await planBench(testEnv.databaseUrl, ['integrations', 'plugin_instances'], [`
    INSERT INTO integrations (tenant_id, id, type_id, name, config, version, created_by, created_at, updated_at)
    SELECT 'int-index-check-' || (n % 30), md5('i' || n)::uuid, (ARRAY['oci-registry','webhook','http-gate','prometheus','traffic-webhook'])[1 + n % 5],
           'integration-' || n, '{}', 1, 'seed', timestamptz '2026-01-01' + n * interval '5 minutes', timestamptz '2026-01-01' + n * interval '5 minutes'
      FROM generate_series(1, ${ROWS}) AS n`, `
    INSERT INTO plugin_instances (tenant_id, id, plugin_id, name, config, version, created_by, created_at, updated_at)
    SELECT 'int-index-check-' || (n % 30), md5('p' || n)::uuid, 'plugin-' || (n % 7), 'instance-' || n, '{}', 1, 'seed',
           timestamptz '2026-01-01' + n * interval '5 minutes', timestamptz '2026-01-01' + n * interval '5 minutes'
      FROM generate_series(1, ${ROWS}) AS n`]);
}, 120_000);
afterAll(async () => {
  await bench?.close();
});

const sort: SortSpec = { field: 'created_at', direction: 'desc' };
const after = { sort: 'created_at', direction: 'desc' as const, value: '2026-03-01 00:00:00+00', id: '00000000-0000-4000-8000-000000000000' };

test.each([
  ['integrations', integrationListSpec(TENANT, {}), 'integrations'],
  ['integrations by type', integrationListSpec(TENANT, { typeId: 'webhook' }), 'integrations'],
  ['plugin instances', pluginInstanceListSpec(TENANT, {}), 'plugin_instances'],
  ['plugin instances by plugin', pluginInstanceListSpec(TENANT, { pluginId: 'plugin-3' }), 'plugin_instances'],
] as const)('%s: both page styles and the count use indexes', async (_name, spec, table) => {
  const offset = buildListSql(spec, pageRequest('stella', { page: 3 }, sort));
  const keyset = buildListSql(spec, { mode: 'keyset', limit: 25, sort, after });
  for (const [sql, params] of [[offset.sql, offset.params], [keyset.sql, keyset.params], [offset.countSql, offset.countParams]] as const) {
    expect(await bench.plan(sql, [...params])).not.toMatch(new RegExp(`Seq Scan on ${table}`));
  }
});

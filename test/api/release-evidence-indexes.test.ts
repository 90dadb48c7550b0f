import { buildListSql, type ListSpec } from '../../api/list-query';
import { pageRequest } from '../../api/pagination';
import { packetListSpec, type PacketFilters } from '../../api/modules/evidence-packets/evidence-packets.queries';
import { stickerListSpec, type StickerFilters } from '../../api/modules/version-stickers/version-stickers.queries';
import { testEnv } from '../support/env';
import { planBench, type PlanBench } from '../support/query-plans';

/**
 * "Indexed queries only" for GET /evidence-packets and GET /version-stickers:
 * with sequential scans priced out, every filter, alone and with the period,
 * has an index path for both page styles and the count. Plans come from a
 * private, analyzed copy of the tables.
 */
let bench: PlanBench;
const TENANT = 'relevi-index-0';
const uuid = (prefix: string, n: string) => `md5('${prefix}' || ${n})::uuid`;

const SEED = [
  `INSERT INTO promotions (tenant_id, id, version, release_id, target_environment_id, status, requested_by, requested_at, updated_at, body)
   SELECT 'relevi-index-' || (n % 20), ${uuid('p', 'n')}, 1, ${uuid('r', 'n % 400')}, ${uuid('e', 'n % 30')}, 'deployed', 'someone',
          timestamptz '2026-01-01' + n * interval '13 minutes', timestamptz '2026-01-01' + n * interval '13 minutes', '{}'::json
     FROM generate_series(1, 8000) AS n`,
  `INSERT INTO evidence_packets (tenant_id, id, promotion_id, decision, packet, content_hash, signer_kid, generated_at)
   SELECT 'relevi-index-' || (n % 20), ${uuid('x', "n || d.decision")}, ${uuid('p', 'n')}, d.decision, '{"type":"release_decision"}'::json, 'sha256:0', 'k1',
          timestamptz '2026-01-01' + n * interval '13 minutes' + d.lag
     FROM generate_series(1, 8000) AS n, (VALUES ('approved', interval '1 minute'), ('deployed', interval '5 minutes')) AS d(decision, lag)`,
  `INSERT INTO targets (tenant_id, id, environment_id, name)
   SELECT 'relevi-index-' || (n % 20), ${uuid('t', 'n')}, ${uuid('e', 'n % 30')}, 'target-' || n FROM generate_series(1, 2000) AS n`,
  `INSERT INTO target_sticker_history (tenant_id, target_id, task_id, release_id, release_name, version, digests, job_id, deployed_at)
   SELECT 'relevi-index-' || (n % 20), ${uuid('t', 'n % 2000')}, ${uuid('k', 'n')}, ${uuid('r', 'n % 400')}, 'release', '1.0.0', '{}'::jsonb,
          ${uuid('j', 'n % 3000')}, timestamptz '2026-01-01' + n * interval '7 minutes'
     FROM generate_series(1, 20000) AS n`,
  `INSERT INTO target_stickers (tenant_id, target_id, release_id, release_name, version, digests, job_id, task_id, deployed_at)
   SELECT DISTINCT ON (tenant_id, target_id) tenant_id, target_id, release_id, release_name, version, digests, job_id, task_id, deployed_at
     FROM target_sticker_history ORDER BY tenant_id, target_id, deployed_at DESC`,
];

beforeAll(async () => {
  bench = await planBench(testEnv.databaseUrl, ['promotions', 'evidence_packets', 'targets', 'target_sticker_history', 'target_stickers'], SEED);
});
afterAll(() => bench?.close());

/** The index this migration added for a list's order or a filter is the one that serves it. */
async function planOf(spec: ListSpec, sortField: string, which: 'page' | 'count') {
  const built = buildListSql(spec, pageRequest('stella', {}, { field: sortField, direction: 'desc' }));
  return which === 'page' ? bench.plan(built.sql, built.params) : bench.plan(built.countSql, built.countParams);
}

test('the newest packets are read through evidence_packets_generated_idx; stickers through their own indexes', async () => {
  expect(await planOf(packetListSpec(TENANT, {}), 'generated_at', 'page')).toMatch(/evidence_packets_generated_idx/);
  expect(await planOf(stickerListSpec(TENANT, {}), 'deployed_at', 'page')).toMatch(/target_sticker_history_deployed_idx/);
  expect(await planOf(stickerListSpec(TENANT, { releaseId: 'b4f1a1c0-0000-4000-8000-000000000001' }), 'deployed_at', 'count')).toMatch(/target_sticker_history_release_idx/);
});

async function expectIndexed(spec: ListSpec, sortField: string, seqScans: RegExp) {
  const sort = { field: sortField, direction: 'desc' as const };
  const offset = buildListSql(spec, pageRequest('stella', { page: 3 }, sort));
  const keyset = buildListSql(spec, { mode: 'keyset', limit: 25, sort, after: { sort: sortField, direction: 'desc', value: '2026-02-10 00:00:00+00', id: 'b4f1a1c0-0000-4000-8000-000000000003' } });
  for (const [sql, params] of [[offset.sql, offset.params], [keyset.sql, keyset.params], [offset.countSql, offset.countParams]] as const) {
    expect(await bench.plan(sql, [...params])).not.toMatch(seqScans);
  }
}

const PERIOD = { from: '2026-01-20T00:00:00Z', to: '2026-01-27T00:00:00Z' };
const PACKET_FILTERS: Record<string, PacketFilters> = {
  none: {},
  period: PERIOD,
  releaseId: { releaseId: 'b4f1a1c0-0000-4000-8000-000000000001' },
  environmentId: { environmentId: 'b4f1a1c0-0000-4000-8000-000000000002', ...PERIOD },
  promotionId: { promotionId: 'b4f1a1c0-0000-4000-8000-000000000004' },
  'type and decision': { type: 'release_decision', decision: 'approved', ...PERIOD },
};

test.each(Object.keys(PACKET_FILTERS))('evidence packets filtered by %s: pages and count use indexes', async (name) => {
  await expectIndexed(packetListSpec(TENANT, PACKET_FILTERS[name]), 'generated_at', /Seq Scan on (evidence_packets|promotions)/);
});

const STICKER_FILTERS: Record<string, StickerFilters> = {
  none: {},
  environmentId: { environmentId: 'b4f1a1c0-0000-4000-8000-000000000002' },
  targetId: { targetId: 'b4f1a1c0-0000-4000-8000-000000000005' },
  releaseId: { releaseId: 'b4f1a1c0-0000-4000-8000-000000000001' },
};

test.each(Object.keys(STICKER_FILTERS))('version stickers filtered by %s: pages and count use indexes', async (name) => {
  await expectIndexed(stickerListSpec(TENANT, STICKER_FILTERS[name]), 'deployed_at', /Seq Scan on (target_sticker_history|targets|target_stickers)/);
});

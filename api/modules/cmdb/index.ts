import { CI_ID_PATTERN, CMDB_BULK_JOB_ID_PATTERN, IMPACT_DEFAULT_DEPTH, READ_ONLY_CI_FIELDS, RELATIONSHIP_ID_PATTERN } from '../../../domain/cmdb/model';
import { changesOnCiAndDependants, findCi, impactOf } from '../../../store/cmdb';
import type { Context } from 'hono';
import type { AppEnv } from '../../context';
import { NotFound } from '../../errors';
import { chargeBulkRecords } from '../../middleware/rate-limit';
import { pageRequest, parseSort, type SortSpec } from '../../pagination';
import { principalOf, requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { attributeFilters, findCiBulkJob, listCis, listRelationships } from './cmdb.queries';
import { CI_SORT_FIELDS } from './cmdb.responses';
import * as routes from './cmdb.routes';
import { acceptCiBulkRequest, createCiRequest, createRelationshipRequest, deleteCiRequest, deleteRelationshipRequest, patchCiRequest } from './cmdb.writes';

/** What other modules read of the CMDB (an incident's detail lists the changes on its CI and its dependants). */
export { changesOnCiAndDependants };

/**
 * The CMDB API: configuration items, their relationships, the impact walk and
 * the bulk job, in both dialects. Plain Postgres entities; the bulk job runs
 * in Temporal on the incidents' bulk kit.
 */
export function cmdbRouter() {
  const router = createRouter({ readOnlyFields: READ_ONLY_CI_FIELDS });

  // Registered before /cmdb/cis/{id} so "bulk" is never taken for a CI id.
  router.openapi(routes.bulkCisRoute, async (c) => {
    const body = c.req.valid('json');
    await chargeBulkRecords(c, body.records.length);
    requirePermission(c, 'cmdb:write');
    const jobId = await acceptCiBulkRequest(c, body);
    const job = await findCiBulkJob(c.get('deps').pool, principalOf(c).tenantId, jobId);
    if (!job) throw new Error(`CMDB bulk job ${jobId} was accepted but cannot be read back`);
    c.header('Location', `${c.req.path.replace(/\/$/, '')}/${jobId}`);
    return ok(c, job, 202);
  });

  router.openapi(routes.bulkJobRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'cmdb:read');
    const { jobId } = c.req.valid('param');
    const job = CMDB_BULK_JOB_ID_PATTERN.test(jobId) ? await findCiBulkJob(c.get('deps').pool, tenantId, jobId) : undefined;
    if (!job) throw new NotFound(`CMDB bulk job ${jobId} not found`);
    return ok(c, job);
  });

  router.openapi(routes.listCisRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'cmdb:read');
    const query = c.req.valid('query');
    const attributes = attributeFilters(c.req.queries());
    const fallback: SortSpec = query.q ? { field: 'relevance', direction: 'desc' } : { field: 'created_at', direction: 'desc' };
    const asked = parseSort(query, CI_SORT_FIELDS, fallback);
    // Relevance only means something with q.
    const sort: SortSpec = asked.field === 'relevance' && !query.q ? { ...asked, field: 'created_at' } : asked;
    const page = await listCis(c.get('deps').pool, tenantId, { ...query, attributes }, pageRequest(c.get('dialect'), query, sort));
    return okList(c, page);
  });

  router.openapi(routes.createCiRoute, async (c) => {
    requirePermission(c, 'cmdb:write');
    const ci = await createCiRequest(c, c.req.valid('json'));
    c.header('Location', `${c.req.path.replace(/\/$/, '')}/${ci.id}`);
    return ok(c, ci, 201);
  });

  router.openapi(routes.getCiRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'cmdb:read');
    return ok(c, await existing(c, tenantId, c.req.valid('param').id));
  });

  router.openapi(routes.patchCiRoute, async (c) => {
    requirePermission(c, 'cmdb:write');
    return ok(c, await patchCiRequest(c, knownId(c.req.valid('param').id), c.req.valid('json')));
  });

  router.openapi(routes.deleteCiRoute, async (c) => {
    requirePermission(c, 'cmdb:write');
    await deleteCiRequest(c, knownId(c.req.valid('param').id));
    return c.body(null, 204);
  });

  router.openapi(routes.listRelationshipsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'cmdb:read');
    const ci = await existing(c, tenantId, c.req.valid('param').id);
    const query = c.req.valid('query');
    const page = await listRelationships(c.get('deps').pool, tenantId, ci.id, query, pageRequest(c.get('dialect'), query, { field: 'created_at', direction: 'asc' }));
    return okList(c, page);
  });

  router.openapi(routes.createRelationshipRoute, async (c) => {
    requirePermission(c, 'cmdb:write');
    const relationship = await createRelationshipRequest(c, knownId(c.req.valid('param').id), c.req.valid('json'));
    return ok(c, relationship, 201);
  });

  router.openapi(routes.deleteRelationshipRoute, async (c) => {
    requirePermission(c, 'cmdb:write');
    const { id, relationshipId } = c.req.valid('param');
    if (!RELATIONSHIP_ID_PATTERN.test(relationshipId)) throw new NotFound(`Relationship ${relationshipId} not found on ${id}`);
    await deleteRelationshipRequest(c, knownId(id), relationshipId);
    return c.body(null, 204);
  });

  router.openapi(routes.impactRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'cmdb:read');
    const ci = await existing(c, tenantId, c.req.valid('param').id);
    return ok(c, await impactOf(c.get('deps').pool, tenantId, ci.id, c.req.valid('query').depth ?? IMPACT_DEFAULT_DEPTH));
  });

  return router;
}

/** Ids that cannot exist are 404 without a query. */
function knownId(id: string): string {
  if (!CI_ID_PATTERN.test(id)) throw new NotFound(`Configuration item ${id} not found`);
  return id;
}

async function existing(c: Context<AppEnv>, tenantId: string, id: string) {
  const ci = await findCi(c.get('deps').pool, tenantId, knownId(id));
  if (!ci) throw new NotFound(`Configuration item ${id} not found`);
  return ci;
}

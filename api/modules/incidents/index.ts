import { findIncident } from '../../../store/incidents';
import { hasPermission } from '../../../domain/permissions';
import { changesOnCiAndDependants } from '../cmdb';
import { BULK_JOB_ID_PATTERN, INCIDENT_ID_PATTERN, READ_ONLY_INCIDENT_FIELDS } from '../../../domain/incidents/model';
import { bulkRecordCount } from '../../../domain/incidents/requests';
import { NotFound } from '../../errors';
import { chargeBulkRecords } from '../../middleware/rate-limit';
import { pageRequest, type SortSpec } from '../../pagination';
import { principalOf, requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { findIncidentBulkJob, incidentSortField, listIncidents, listNotes } from './incidents.queries';
import * as routes from './incidents.routes';
import { acceptBulkRequest, addNoteRequest, createIncidentRequest, deleteIncidentRequest, patchIncidentRequest } from './incidents.writes';

/** The StackFlow Incidents API: plain Postgres entities, with an SLA clock per open incident in Temporal. */
export function incidentsRouter() {
  const router = createRouter({ readOnlyFields: READ_ONLY_INCIDENT_FIELDS });

  // Registered before /incidents/{id} so "bulk" is never taken for an incident id.
  router.openapi(routes.bulkRoute, async (c) => {
    const body = c.req.valid('json');
    await chargeBulkRecords(c, bulkRecordCount(body));
    requirePermission(c, body.operation === 'create' ? 'incident:create' : 'incident:update');
    const jobId = await acceptBulkRequest(c, body);
    const job = await findIncidentBulkJob(c.get('deps').pool, principalOf(c).tenantId, jobId);
    if (!job) throw new Error(`bulk job ${jobId} was accepted but cannot be read back`);
    c.header('Location', `${c.req.path.replace(/\/$/, '')}/${jobId}`);
    return ok(c, job, 202);
  });

  router.openapi(routes.bulkJobRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'incident:read');
    const { jobId } = c.req.valid('param');
    const job = BULK_JOB_ID_PATTERN.test(jobId) ? await findIncidentBulkJob(c.get('deps').pool, tenantId, jobId) : undefined;
    if (!job) throw new NotFound(`Bulk job ${jobId} not found`);
    return ok(c, job);
  });

  router.openapi(routes.listIncidentsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'incident:read');
    const query = c.req.valid('query');
    const field = incidentSortField(query.sort?.replace(/^-/, ''), query.q);
    const fallback: SortSpec = query.q ? { field: 'relevance', direction: 'desc' } : { field: 'created_at', direction: 'desc' };
    const sort: SortSpec = field
      ? { field, direction: query.sort?.startsWith('-') ? 'desc' : (query.order ?? 'asc') }
      : { ...fallback, direction: query.order ?? fallback.direction };
    const page = await listIncidents(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort));
    return okList(c, page);
  });

  router.openapi(routes.createIncidentRoute, async (c) => {
    requirePermission(c, 'incident:create');
    const incident = await createIncidentRequest(c, c.req.valid('json'));
    c.header('Location', `${c.req.path.replace(/\/$/, '')}/${incident.id}`);
    return ok(c, incident, 201);
  });

  router.openapi(routes.getIncidentRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'incident:read');
    const incident = await existing(c.get('deps').pool, tenantId, c.req.valid('param').id);
    // Changes are shown to those who may read changes.
    const shown = incident.ci_id && hasPermission(principalOf(c), 'change:read');
    const ci_changes = shown ? await changesOnCiAndDependants(c.get('deps').pool, tenantId, incident.ci_id!) : [];
    return ok(c, { ...incident, ci_changes });
  });

  router.openapi(routes.patchIncidentRoute, async (c) => {
    requirePermission(c, 'incident:update');
    const id = knownId(c.req.valid('param').id);
    return ok(c, await patchIncidentRequest(c, id, c.req.valid('json')));
  });

  router.openapi(routes.deleteIncidentRoute, async (c) => {
    requirePermission(c, 'incident:delete');
    await deleteIncidentRequest(c, knownId(c.req.valid('param').id));
    return c.body(null, 204);
  });

  router.openapi(routes.listNotesRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'incident:read');
    const incident = await existing(c.get('deps').pool, tenantId, c.req.valid('param').id);
    const query = c.req.valid('query');
    const page = await listNotes(c.get('deps').pool, tenantId, incident.id, pageRequest(c.get('dialect'), query, { field: 'created_at', direction: 'asc' }));
    return okList(c, page);
  });

  router.openapi(routes.addNoteRoute, async (c) => {
    requirePermission(c, 'incident:update');
    const note = await addNoteRequest(c, knownId(c.req.valid('param').id), c.req.valid('json'));
    return ok(c, note, 201);
  });

  return router;
}

/** Ids that cannot exist are 404 without a query. */
function knownId(id: string): string {
  if (!INCIDENT_ID_PATTERN.test(id)) throw new NotFound(`Incident ${id} not found`);
  return id;
}

async function existing(pool: Parameters<typeof findIncident>[0], tenantId: string, id: string) {
  const incident = await findIncident(pool, tenantId, knownId(id));
  if (!incident) throw new NotFound(`Incident ${id} not found`);
  return incident;
}

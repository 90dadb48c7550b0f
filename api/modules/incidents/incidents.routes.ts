import { createRoute, z } from '@hono/zod-openapi';
import { bulkRequestSchema, createIncidentSchema, createNoteSchema, patchIncidentSchema } from '../../../domain/incidents/requests';
import { BODY_ERRORS, envelope, errorResponses, idempotencyKeyHeader, jsonBody, linksToResource, listEnvelope } from '../../openapi-helpers';
import { BulkJobIdParam, BulkJobSchema, IncidentDetailSchema, IncidentIdParam, IncidentListQuery, IncidentSchema, NoteSchema, NotesListQuery } from './incidents.responses';

/**
 * The StackFlow Incidents API as both OpenAPI documents describe it: every
 * status an operation can answer, with the codes a 409 or 422 can carry.
 */

const tags = ['Incidents'];

const OPERATIONS_ON_AN_INCIDENT = ['getIncident', 'patchIncident', 'deleteIncident', 'listIncidentNotes', 'addIncidentNote'] as const;

const incidentResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: envelope(IncidentSchema) } },
  links: linksToResource(OPERATIONS_ON_AN_INCIDENT),
});

const codes = (list: string[]) => list.map((c) => `\`${c}\``).join(', ');
const NOT_FOUND = 'No incident with this id in your tenant (or it was deleted)';
const KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED';
const TRANSITIONS =
  'new → in_progress → resolved → closed; new → cancelled; in_progress ⇄ on_hold; resolved → reopened → in_progress. ' +
  'An illegal transition is 409 with current_state and allowed_next_states.';

export const listIncidentsRoute = createRoute({
  method: 'get',
  path: '/incidents',
  operationId: 'listIncidents',
  tags,
  summary: 'List incidents with filters',
  description:
    'Filters combine with AND; an empty filter value means no filter. q searches short description, description and work notes ' +
    '(ranked by relevance unless another sort is asked for). Pages by cursor (next_cursor) or by page number.',
  request: { query: IncidentListQuery },
  responses: {
    200: { description: 'A page of incidents', content: { 'application/json': { schema: listEnvelope(IncidentSchema) } } },
    ...errorResponses([400, 403], { 400: 'A filter, sort or page parameter is invalid, or a cursor is not one this API issued (`INVALID_CURSOR`)' }),
  },
});

export const createIncidentRoute = createRoute({
  method: 'post',
  path: '/incidents',
  operationId: 'createIncident',
  tags,
  summary: 'Create an incident',
  description:
    'priority defaults from impact × urgency when both are given, else P3. An incident starts new; "state" may name one legal step from new. ' +
    'notify_stakeholders sends the assignment group a notification.',
  request: { headers: idempotencyKeyHeader, ...jsonBody(createIncidentSchema) },
  responses: {
    201: {
      ...incidentResponse('The new incident'),
      headers: { Location: { description: 'The URL of the new incident', schema: { type: 'string' } } },
    },
    ...errorResponses([...BODY_ERRORS, 403], {
      409: `"state" is not one step from new, or the incident a reused Idempotency-Key created was deleted since; codes: ${codes(['INVALID_STATE_TRANSITION', 'INCIDENT_DELETED'])}`,
      422: `A rule refuses it; codes: ${codes(['UNKNOWN_CHANGE', KEY_REUSED])}`,
    }),
  },
});

export const getIncidentRoute = createRoute({
  method: 'get',
  path: '/incidents/{id}',
  operationId: 'getIncident',
  tags,
  summary: 'Get an incident, with the changes on its CI and its dependants',
  request: { params: IncidentIdParam },
  responses: {
    200: {
      description: 'The incident',
      content: { 'application/json': { schema: envelope(IncidentDetailSchema) } },
      links: linksToResource(OPERATIONS_ON_AN_INCIDENT),
    },
    ...errorResponses([400, 403], { 404: NOT_FOUND }),
  },
});

export const patchIncidentRoute = createRoute({
  method: 'patch',
  path: '/incidents/{id}',
  operationId: 'patchIncident',
  tags,
  summary: 'Update incident fields and/or its state',
  description:
    `"state" moves the incident along ${TRANSITIONS} work_note adds a team note in the same transaction. ` +
    'Changing impact or urgency without priority recomputes the priority. Closed and cancelled incidents take notes only.',
  request: { params: IncidentIdParam, headers: idempotencyKeyHeader, ...jsonBody(patchIncidentSchema.openapi({ minProperties: 1 } as object)) },
  responses: {
    200: incidentResponse('The updated incident'),
    ...errorResponses(BODY_ERRORS, {
      403: 'The caller lacks incident:update',
      404: NOT_FOUND,
      409: `The incident's state does not allow it (resolution_notes need a resolved or closed incident); codes: ${codes(['INVALID_STATE_TRANSITION', 'INCIDENT_CLOSED', 'INCIDENT_NOT_RESOLVED'])}`,
      422: `A rule refuses it; codes: ${codes(['UNKNOWN_CHANGE', KEY_REUSED])}`,
    }),
  },
});

export const deleteIncidentRoute = createRoute({
  method: 'delete',
  path: '/incidents/{id}',
  operationId: 'deleteIncident',
  tags,
  summary: 'Delete an incident (super_admin or itsm_manager)',
  description: 'A soft delete: the row stays for audit, the incident leaves every list and GET answers 404.',
  request: { params: IncidentIdParam },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses([400], { 403: 'Only super_admin and itsm_manager (incident:delete) may delete incidents', 404: NOT_FOUND }),
  },
});

export const listNotesRoute = createRoute({
  method: 'get',
  path: '/incidents/{id}/notes',
  operationId: 'listIncidentNotes',
  tags,
  summary: 'List work notes, oldest first',
  request: { params: IncidentIdParam, query: NotesListQuery },
  responses: {
    200: { description: 'A page of notes', content: { 'application/json': { schema: listEnvelope(NoteSchema) } } },
    ...errorResponses([400, 403], { 404: NOT_FOUND }),
  },
});

export const addNoteRoute = createRoute({
  method: 'post',
  path: '/incidents/{id}/notes',
  operationId: 'addIncidentNote',
  tags,
  summary: 'Add a work note',
  description: 'author comes from the token; work_notes_count counts every note exactly, however many are added at once.',
  request: { params: IncidentIdParam, headers: idempotencyKeyHeader, ...jsonBody(createNoteSchema) },
  responses: {
    201: { description: 'The new note', content: { 'application/json': { schema: envelope(NoteSchema) } } },
    ...errorResponses([...BODY_ERRORS, 403], { 404: NOT_FOUND, 422: `The Idempotency-Key was first used for another request; codes: ${codes([KEY_REUSED])}` }),
  },
});

export const bulkRoute = createRoute({
  method: 'post',
  path: '/incidents/bulk',
  operationId: 'bulkIncidents',
  tags,
  summary: 'Bulk create or update (up to 100 records; asynchronous)',
  description:
    'Answers 202 with the job at once; poll GET /incidents/bulk/{jobId}. Each record is validated and applied on its own, so a bad ' +
    'record fails alone with the error the single-record call would give. Not subject to the per-request rate limit: each record spends one ' +
    'from a per-user budget of records (1000 a minute unless the deployment says otherwise), refused requests included; past it, 429.',
  request: { headers: idempotencyKeyHeader, ...jsonBody(bulkRequestSchema) },
  responses: {
    202: {
      description: 'The job, queued',
      headers: { Location: { description: 'The URL to poll', schema: { type: 'string' } } },
      content: { 'application/json': { schema: envelope(BulkJobSchema) } },
      links: linksToResource(['getIncidentBulkJob'], 'jobId'),
    },
    ...errorResponses([...BODY_ERRORS, 403], {
      400: 'The body does not match this document: an unknown operation, more than 100 records or ids, records and ids mixed, or a record naming a field incidents do not have (or one only the server writes)',
      422: `The Idempotency-Key was first used for another request; codes: ${codes([KEY_REUSED])}`,
    }),
  },
});

export const bulkJobRoute = createRoute({
  method: 'get',
  path: '/incidents/bulk/{jobId}',
  operationId: 'getIncidentBulkJob',
  tags,
  summary: 'Status, counts and per-record results of a bulk job',
  request: { params: BulkJobIdParam },
  responses: {
    200: { description: 'The job', content: { 'application/json': { schema: envelope(BulkJobSchema) } } },
    ...errorResponses([400, 403], { 404: 'No bulk job with this id in your tenant' }),
  },
});

export type BulkJob = z.infer<typeof BulkJobSchema>;

import { createRoute, z } from '@hono/zod-openapi';
import {
  approveSchema,
  cancelSchema,
  createChangeSchema,
  patchChangeSchema,
  rejectSchema,
  reviewSchema,
  submitCabSchema,
} from '../../../domain/changes/schemas';
import { envelope, errorResponses, jsonBody, listEnvelope } from '../../openapi-helpers';
import { AuditEventSchema, ChangeIdParam, ChangeListQuery, ChangeSchema, RiskSchema } from './schemas';

const tags = ['Changes'];
const changeResponse = (description: string) => ({ description, content: { 'application/json': { schema: envelope(ChangeSchema) } } });
const idempotencyHeader = z.object({
  'idempotency-key': z.string().optional().openapi({ description: 'Makes a retried request count once (used as the workflow update id)' }),
});

export const listChangesRoute = createRoute({
  method: 'get',
  path: '/changes',
  tags,
  summary: 'List change requests',
  request: { query: ChangeListQuery },
  responses: { 200: { description: 'A page of changes', content: { 'application/json': { schema: listEnvelope(ChangeSchema) } } }, ...errorResponses(400, 403) },
});

export const createChangeRoute = createRoute({
  method: 'post',
  path: '/changes',
  tags,
  summary: 'Create a change request (state draft, with its first risk score)',
  request: { headers: idempotencyHeader, ...jsonBody(createChangeSchema) },
  responses: { 201: changeResponse('The persisted change'), ...errorResponses(400, 403, 413, 415, 422, 503) },
});

export const getChangeRoute = createRoute({
  method: 'get',
  path: '/changes/{id}',
  tags,
  summary: 'Get a change request',
  request: { params: ChangeIdParam },
  responses: { 200: changeResponse('The change'), ...errorResponses(403, 404) },
});

export const patchChangeRoute = createRoute({
  method: 'patch',
  path: '/changes/{id}',
  tags,
  summary: 'Update fields and/or request a state transition',
  description:
    'Plan fields are editable only in draft (send "state": "draft" to revise a rejected change). ' +
    '"state" moves the change along draft → submitted → cab_review → scheduled → in_progress → completed → closed; ' +
    'in_progress → failed → post_review. Starting work outside the maintenance window is refused (422) unless the change is an emergency.',
  request: { params: ChangeIdParam, headers: idempotencyHeader, ...jsonBody(patchChangeSchema) },
  responses: { 200: changeResponse('The updated change'), ...errorResponses(400, 403, 404, 409, 413, 415, 422, 503) },
});

const commandResponses = { 200: changeResponse('The updated change'), ...errorResponses(400, 403, 404, 409, 413, 415, 422, 503) };

const command = <B extends z.ZodType>(path: string, summary: string, body: B, required: boolean) =>
  createRoute({
    method: 'post',
    path: `/changes/{id}/${path}`,
    tags,
    summary,
    request: { params: ChangeIdParam, headers: idempotencyHeader, ...jsonBody(body, required) },
    responses: commandResponses,
  });

export const submitRoute = createRoute({
  method: 'post',
  path: '/changes/{id}/submit',
  tags,
  summary: 'Submit a draft (standard and emergency changes are scheduled at once)',
  request: { params: ChangeIdParam, headers: idempotencyHeader },
  responses: commandResponses,
});
export const submitCabRoute = command('submit-cab', 'Submit to CAB for approval', submitCabSchema, false);
export const approveRoute = command('approve', 'Approve (CAB member); the last approval needed schedules the change', approveSchema, false);
export const rejectRoute = command('reject', 'Reject (CAB member) with a reason', rejectSchema, true);
export const cancelRoute = command('cancel', 'Cancel a draft', cancelSchema, false);
export const reviewRoute = command('review', 'Record the post-implementation review; closes the change', reviewSchema, true);

export const riskRoute = createRoute({
  method: 'get',
  path: '/changes/{id}/risk',
  tags,
  summary: 'Get the risk score and its contributing factors',
  request: { params: ChangeIdParam },
  responses: { 200: { description: 'The current assessment', content: { 'application/json': { schema: envelope(RiskSchema) } } }, ...errorResponses(403, 404) },
});

export const riskHistoryRoute = createRoute({
  method: 'get',
  path: '/changes/{id}/risk/history',
  tags,
  summary: 'Every risk assessment of the change, with its model version',
  request: { params: ChangeIdParam },
  responses: { 200: { description: 'Assessments, oldest first' }, ...errorResponses(403, 404) },
});

export const historyRoute = createRoute({
  method: 'get',
  path: '/changes/{id}/history',
  tags,
  summary: 'The audit trail of the change',
  request: { params: ChangeIdParam },
  responses: { 200: { description: 'Audit events, oldest first', content: { 'application/json': { schema: envelope(z.array(AuditEventSchema)) } } }, ...errorResponses(403, 404) },
});

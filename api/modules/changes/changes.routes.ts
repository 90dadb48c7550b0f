import { createRoute, z } from '@hono/zod-openapi';
import {
  approveSchema,
  cancelSchema,
  createChangeSchema,
  patchChangeSchema,
  rejectSchema,
  reviewSchema,
  submitCabSchema,
} from '../../../domain/changes/requests';
import { CHANGE_STATES, CHANGE_TYPES, RISK_LEVELS } from '../../../domain/changes/model';
import { instant as storableInstant } from '../../../domain/instant';
import { storableText } from '../../../domain/text';
import { csv } from '../../list-filters';
import { BODY_ERRORS, commandRoute, envelope, errorResponses, idempotencyKeyHeader, jsonBody, linksToResource, listEnvelope, sortParam } from '../../openapi-helpers';
import { paginationQuery } from '../../pagination';
import { ENDED_OUTSIDE, NOTHING_TO_RECONCILE, RECONCILE_REFUSED } from '../../ended-outside';
import { AuditEventSchema, ChangeIdParam, ChangeSchema, RiskHistoryEntrySchema, RiskSchema } from './changes.responses';

/**
 * The Changes API as both OpenAPI documents describe it. Every status an
 * operation can answer is declared, with the codes a 409 or 422 can carry, so
 * a client generated from the document knows every answer it can get.
 */

const tags = ['Changes'];

/** The sort names a list accepts; their columns are changes.queries.ts's CHANGE_SORT_COLUMNS. */
export const CHANGE_SORTS = ['created_at', 'updated_at', 'risk_score', 'id'] as const;

export const ChangeListQuery = paginationQuery.extend({
  state: csv(CHANGE_STATES).openapi({ description: 'One state or a comma-separated list, e.g. scheduled' }),
  type: csv(CHANGE_TYPES),
  risk: csv(RISK_LEVELS).openapi({ description: "The requester's risk" }),
  risk_level: csv(RISK_LEVELS).openapi({ description: 'The computed risk level' }),
  assignment_group: storableText().max(255).optional(),
  assigned_to: storableText().max(320).optional(),
  ci_id: storableText().max(64).optional(),
  created_after: storableInstant().optional(),
  created_before: storableInstant().optional(),
  sort: sortParam(CHANGE_SORTS),
  // A blank search is no search, as a blank filter is no filter.
  q: storableText()
    .max(500)
    .transform((v) => v.trim() || undefined)
    .optional()
    .openapi({ description: 'Full-text search over descriptions and plans; blank means no search' }),
});

const OPERATIONS_ON_A_CHANGE = [
  'getChange',
  'patchChange',
  'submitChange',
  'submitChangeToCab',
  'approveChange',
  'rejectChange',
  'cancelChange',
  'reviewChange',
  'getChangeRisk',
  'getChangeRiskHistory',
  'getChangeHistory',
  'reconcileChange',
] as const;

/** Every answer carrying a change links to what can be done with it next. */
const changeResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: envelope(ChangeSchema) } },
  links: linksToResource(OPERATIONS_ON_A_CHANGE),
});

const codes = (list: string[]) => list.map((c) => `\`${c}\``).join(', ');
const KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED';
const NOT_FOUND = 'No change with this id in your tenant';
const FORBIDDEN = (extra: string[] = []) => `The caller lacks the permission the command needs; codes: ${codes(['FORBIDDEN', ...extra])}`;
const CLOSED = 'CHANGE_CLOSED';

/**
 * PATCH rules JSON Schema can state, stated: actual_start only with a move to
 * in_progress, actual_end only with a move to completed or failed, a review on
 * its own, and at least one field.
 */
const patchBody = patchChangeSchema.openapi({
  minProperties: 1,
  dependentSchemas: {
    actual_start: { required: ['state'], properties: { state: { const: 'in_progress' } } },
    actual_end: { required: ['state'], properties: { state: { enum: ['completed', 'failed'] } } },
    review: { maxProperties: 1 },
  },
  // Both ends sent: both set or both cleared. One end sent is checked against the change's other end (422).
  allOf: [
    { if: { required: ['scheduled_start', 'scheduled_end'], properties: { scheduled_start: { type: 'string' } } }, then: { properties: { scheduled_end: { type: 'string' } } } },
    { if: { required: ['scheduled_start', 'scheduled_end'], properties: { scheduled_end: { type: 'string' } } }, then: { properties: { scheduled_start: { type: 'string' } } } },
  ],
} as object);

/** Both ends of a window or neither; that it ends after it starts is said in words (JSON Schema cannot compare). */
const bothEndsOrNeither = {
  allOf: [
    { if: { required: ['scheduled_start'], properties: { scheduled_start: { type: 'string' } } }, then: { required: ['scheduled_end'], properties: { scheduled_end: { type: 'string' } } } },
    { if: { required: ['scheduled_end'], properties: { scheduled_end: { type: 'string' } } }, then: { required: ['scheduled_start'], properties: { scheduled_start: { type: 'string' } } } },
  ],
};
const createBody = createChangeSchema.openapi(bothEndsOrNeither as object);

export const listChangesRoute = createRoute({
  method: 'get',
  path: '/changes',
  operationId: 'listChanges',
  tags,
  summary: 'List change requests',
  description: 'Filters combine with AND; an empty filter value (`risk=`) means no filter. Sort by created_at (default, newest first), updated_at, risk_score or id.',
  request: { query: ChangeListQuery },
  responses: {
    200: { description: 'A page of changes', content: { 'application/json': { schema: listEnvelope(ChangeSchema) } } },
    ...errorResponses([400, 403], { 400: 'A filter, sort or page parameter is invalid, or a cursor is not one this API issued (`INVALID_CURSOR`)' }),
  },
});

export const createChangeRoute = createRoute({
  method: 'post',
  path: '/changes',
  operationId: 'createChange',
  tags,
  summary: 'Create a change request (state draft, with its first risk score)',
  description: 'scheduled_start and scheduled_end are set together, and the window ends after it starts (400 naming the field otherwise).',
  request: { headers: idempotencyKeyHeader, ...jsonBody(createBody) },
  responses: {
    201: {
      ...changeResponse('The persisted change'),
      headers: { Location: { description: 'The URL of the new change', schema: { type: 'string' } } },
    },
    ...errorResponses([...BODY_ERRORS, 403], {
      422: `The Idempotency-Key was first used for another request; codes: ${codes([KEY_REUSED])}`,
    }),
  },
});

export const getChangeRoute = createRoute({
  method: 'get',
  path: '/changes/{id}',
  operationId: 'getChange',
  tags,
  summary: 'Get a change request',
  request: { params: ChangeIdParam },
  responses: { 200: changeResponse('The change'), ...errorResponses([400, 403], { 404: NOT_FOUND }) },
});

export const patchChangeRoute = createRoute({
  method: 'patch',
  path: '/changes/{id}',
  operationId: 'patchChange',
  tags,
  summary: 'Update fields and/or request a state transition',
  description:
    'Plan fields are editable only in draft (send "state": "draft" to revise a rejected change). ' +
    '"state" moves the change along draft → submitted → cab_review → scheduled → in_progress → completed → closed; ' +
    'in_progress → failed → post_review. actual_start is accepted only with "state": "in_progress", actual_end only with ' +
    '"state": "completed" or "failed", and "review" only on its own. Starting work outside the maintenance window is refused (422) ' +
    'unless the change is an emergency. Moving work along (in_progress, completed, failed, closed) needs change:implement.',
  request: { params: ChangeIdParam, headers: idempotencyKeyHeader, ...jsonBody(patchBody) },
  responses: {
    200: changeResponse('The updated change'),
    ...errorResponses(BODY_ERRORS, {
      400: 'The body does not match this document, or sends a window that ends before it starts (`INVALID_WINDOW`)',
      403: FORBIDDEN(['SOD_VIOLATION']),
      404: NOT_FOUND,
      409: `The change's state does not allow it; codes: ${codes(['INVALID_STATE_TRANSITION', 'FIELD_NOT_EDITABLE', 'CAB_APPROVAL_REQUIRED', 'USE_REJECT', 'NOT_REVIEWABLE', CLOSED, ENDED_OUTSIDE])}`,
      422: `A business rule refuses it; codes: ${codes(['INCOMPLETE_WINDOW', 'INVALID_WINDOW', 'SUBMISSION_INCOMPLETE', 'MAINTENANCE_WINDOW_PASSED', 'CAB_NOT_APPLICABLE', 'MAINTENANCE_WINDOW_REQUIRED', 'OUTSIDE_MAINTENANCE_WINDOW', 'REVIEW_REQUIRED', KEY_REUSED])} (a window end sent alone is checked against the other end the change has)`,
    }),
  },
});

type OnAChange = (typeof OPERATIONS_ON_A_CHANGE)[number];

/** What refuses a command: the codes its 403, 409 and 422 can carry. */
interface Refusals {
  forbidden?: string[];
  conflicts: string[];
  rules?: string[];
}

const commandResponses = (refusals: Refusals, hasBody = true) => ({
  200: changeResponse('The updated change'),
  ...errorResponses(hasBody ? BODY_ERRORS : [400], {
    403: FORBIDDEN(refusals.forbidden),
    404: NOT_FOUND,
    409: `The change's state does not allow it; codes: ${codes([...refusals.conflicts, CLOSED, ENDED_OUTSIDE])}`,
    422: refusals.rules?.length
      ? `A business rule refuses it; codes: ${codes([...refusals.rules, KEY_REUSED])}`
      : `The Idempotency-Key was first used for another request; codes: ${codes([KEY_REUSED])}`,
  }),
});

// No body at all, so not a commandRoute.
export const submitRoute = createRoute({
  method: 'post',
  path: '/changes/{id}/submit',
  operationId: 'submitChange' satisfies OnAChange,
  tags,
  summary: 'Submit a draft (standard and emergency changes are scheduled at once)',
  description: 'Normal and standard changes need a maintenance window that has not ended; normal changes also need implementation and backout plans.',
  request: { params: ChangeIdParam, headers: idempotencyKeyHeader },
  responses: commandResponses({ conflicts: ['INVALID_STATE_TRANSITION'], rules: ['SUBMISSION_INCOMPLETE', 'MAINTENANCE_WINDOW_PASSED'] }, false),
});

export const submitCabRoute = commandRoute({
  path: '/changes/{id}/submit-cab',
  operationId: 'submitChangeToCab' satisfies OnAChange,
  tags,
  summary: 'Submit to CAB for approval',
  description: 'Only normal changes go to CAB, once submitted.',
  params: ChangeIdParam,
  body: submitCabSchema,
  required: false,
  responses: commandResponses({ conflicts: ['INVALID_STATE_TRANSITION'], rules: ['CAB_NOT_APPLICABLE'] }),
});
export const approveRoute = commandRoute({
  path: '/changes/{id}/approve',
  operationId: 'approveChange' satisfies OnAChange,
  tags,
  summary: 'Approve (CAB member); the last approval needed schedules the change',
  params: ChangeIdParam,
  body: approveSchema,
  required: false,
  responses: commandResponses({ forbidden: ['NOT_AN_APPROVER', 'SOD_VIOLATION'], conflicts: ['NOT_UNDER_REVIEW', 'ALREADY_DECIDED'] }),
});
export const rejectRoute = commandRoute({
  path: '/changes/{id}/reject',
  operationId: 'rejectChange' satisfies OnAChange,
  tags,
  summary: 'Reject (CAB member) with a reason',
  params: ChangeIdParam,
  body: rejectSchema,
  responses: commandResponses({ forbidden: ['NOT_AN_APPROVER', 'SOD_VIOLATION'], conflicts: ['NOT_UNDER_REVIEW', 'ALREADY_DECIDED'] }),
});
export const cancelRoute = commandRoute({
  path: '/changes/{id}/cancel',
  operationId: 'cancelChange' satisfies OnAChange,
  tags,
  summary: 'Cancel a draft',
  params: ChangeIdParam,
  body: cancelSchema,
  required: false,
  responses: commandResponses({ conflicts: ['INVALID_STATE_TRANSITION'] }),
});
export const reviewRoute = commandRoute({
  path: '/changes/{id}/review',
  operationId: 'reviewChange' satisfies OnAChange,
  tags,
  summary: 'Record the post-implementation review; closes the change',
  params: ChangeIdParam,
  body: reviewSchema,
  responses: commandResponses({ forbidden: ['SOD_VIOLATION'], conflicts: ['NOT_REVIEWABLE', 'INVALID_STATE_TRANSITION'] }),
});

export const reconcileRoute = createRoute({
  method: 'post',
  path: '/changes/{id}/reconcile',
  operationId: 'reconcileChange' satisfies OnAChange,
  tags,
  summary: 'Start a new workflow run for a change whose run was ended outside Tollgate (needs workflow:reconcile)',
  description:
    'For a change marked `cancelled` because its workflow was terminated, failed or timed out in Temporal: a new run takes over from the change as its record last stood, in the state it had before the mark. A change cancelled in Temporal stays cancelled.',
  request: { params: ChangeIdParam },
  responses: {
    200: changeResponse('The change, back in the state it had before its workflow ended'),
    ...errorResponses([400, 403], {
      404: NOT_FOUND,
      409: `Nothing to reconcile, or no new run can take over (a cancel in Temporal is final); codes: ${codes([NOTHING_TO_RECONCILE, RECONCILE_REFUSED])}`,
    }),
  },
});

const readErrors = (extra: Record<number, string> = {}) => errorResponses([400, 403], { 404: NOT_FOUND, ...extra });

export const riskRoute = createRoute({
  method: 'get',
  path: '/changes/{id}/risk',
  operationId: 'getChangeRisk',
  tags,
  summary: 'Get the risk score and its contributing factors',
  request: { params: ChangeIdParam },
  responses: { 200: { description: 'The current assessment', content: { 'application/json': { schema: envelope(RiskSchema) } } }, ...readErrors() },
});

export const riskHistoryRoute = createRoute({
  method: 'get',
  path: '/changes/{id}/risk/history',
  operationId: 'getChangeRiskHistory',
  tags,
  summary: 'Every risk assessment of the change, with its model version',
  request: { params: ChangeIdParam },
  responses: {
    200: { description: 'Assessments, oldest first', content: { 'application/json': { schema: envelope(z.array(RiskHistoryEntrySchema)) } } },
    ...readErrors(),
  },
});

export const historyRoute = createRoute({
  method: 'get',
  path: '/changes/{id}/history',
  operationId: 'getChangeHistory',
  tags,
  summary: 'The audit trail of the change (needs audit:read)',
  request: { params: ChangeIdParam },
  responses: {
    200: { description: 'Audit events, oldest first', content: { 'application/json': { schema: envelope(z.array(AuditEventSchema)) } } },
    ...readErrors({ 403: 'Reading the audit trail needs the audit:read permission' }),
  },
});

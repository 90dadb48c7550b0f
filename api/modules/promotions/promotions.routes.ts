import { ENDED_OUTSIDE, NOTHING_TO_RECONCILE, RECONCILE_REFUSED } from '../../ended-outside';
import { createRoute, z } from '@hono/zod-openapi';
import { approvalPolicySchema, approvePromotionSchema, cancelPromotionSchema, createPromotionSchema, previewGatesSchema, rejectPromotionSchema } from '../../../domain/promotions/requests';
import { PROMOTION_STATUSES } from '../../../domain/promotions/statuses';
import { BODY_ERRORS, commandRoute, envelope, errorResponses, idempotencyKeyHeader, jsonBody, linksToResource, listEnvelope, publicErrorResponses } from '../../openapi-helpers';
import { emptyIsNone } from '../../list-filters';
import { paginationQuery, sortablePaginationQuery } from '../../pagination';
import {
  ApprovalPolicySchema,
  ApprovalSchema,
  DecisionSchema,
  EvidencePacketSchema,
  IdParam,
  JwksSchema,
  PendingApprovalSchema,
  PreviewSchema,
  PromotionSchema,
} from './promotions.responses';

/** PROMOT: promotions, their decisions and evidence, gate previews and approval policies. */

const tags = ['Promotions'];
const ON_A_PROMOTION = ['getPromotion', 'approvePromotion', 'rejectPromotion', 'cancelPromotion', 'getPromotionDecision', 'getPromotionApprovals', 'getPromotionEvidence'] as const;
const promotionResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: envelope(PromotionSchema) } },
  links: linksToResource(ON_A_PROMOTION),
});
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema: envelope(schema) } } });
const KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED';

export const PROMOTION_SORTS = ['requested_at', 'updated_at'] as const;
export const PromotionListQuery = sortablePaginationQuery(PROMOTION_SORTS).extend({
  status: emptyIsNone(z.enum(PROMOTION_STATUSES)).openapi({ description: 'Filter by status' }),
  releaseId: emptyIsNone(z.uuid()).openapi({ description: 'Filter by release' }),
  environmentId: emptyIsNone(z.uuid()).openapi({ description: 'Filter by target environment' }),
});

export const listPromotionsRoute = createRoute({
  method: 'get',
  path: '/promotions',
  operationId: 'listPromotions',
  tags,
  summary: 'List promotions, newest first',
  request: { query: PromotionListQuery },
  responses: { 200: { description: 'A page of promotions', content: { 'application/json': { schema: listEnvelope(PromotionSchema) } } }, ...errorResponses([400, 403]) },
});

export const createPromotionRoute = createRoute({
  method: 'post',
  path: '/promotions',
  operationId: 'createPromotion',
  tags,
  summary: 'Request the promotion of a release to an environment (its source is the environment just before it)',
  description:
    'Gates are evaluated at once: a failing blocking gate (security, promotion order, change request) is 422 PROMOTION_BLOCKED with every gate result in details. ' +
    'The promotion starts pending and moves to awaiting_approval; approvals by distinct members of the policy’s approver groups approve it, and it deploys once no freeze holds it.',
  request: { headers: idempotencyKeyHeader, ...jsonBody(createPromotionSchema) },
  responses: {
    201: promotionResponse('The persisted promotion'),
    ...errorResponses([...BODY_ERRORS, 403, 404, 409, 422], {
      404: 'The release or environment does not exist in your tenant (`RELEASE_NOT_FOUND`, `ENVIRONMENT_NOT_FOUND`)',
      409: 'A promotion of this release to this environment is still open (pending, awaiting_approval, approved or deploying): `PROMOTION_IN_FLIGHT`, details.promotionId names it',
      422:
        'Gate evaluation failed (`PROMOTION_BLOCKED`, details.gates), the release is deprecated (`RELEASE_DEPRECATED`), the environment is not in the pipeline the release’s components name ' +
        `(\`ENVIRONMENT_NOT_IN_PIPELINE\`, details name the pipeline and its environments), its components are in different pipelines (\`RELEASE_PIPELINES_DIFFER\`), or \`${KEY_REUSED}\``,
    }),
  },
});

export const getPromotionRoute = createRoute({
  method: 'get',
  path: '/promotions/{id}',
  operationId: 'getPromotion',
  tags,
  summary: 'Get a promotion with its decision record and approvals',
  request: { params: IdParam },
  responses: { 200: promotionResponse('The promotion'), ...errorResponses([400, 403, 404]) },
});

const decisionErrors = (extra403: string[]) =>
  errorResponses([...BODY_ERRORS, 403, 404, 409, 422], {
    403: `The caller may not decide: ${extra403.map((c) => `\`${c}\``).join(', ')}`,
    409: `Already decided (\`ALREADY_DECIDED\`), already approved by you (\`ALREADY_APPROVED\`), not in a state that allows it (\`INVALID_STATE_TRANSITION\`), or its workflow was ended outside Tollgate (\`${ENDED_OUTSIDE}\`: details say how, by whom, when, and whether POST …/reconcile can start it again)`,
    422: `A blocking gate fails (\`PROMOTION_BLOCKED\`), the release is deprecated (\`RELEASE_DEPRECATED\`), or \`${KEY_REUSED}\``,
  });

/** A decision on a promotion answers the promotion as it now stands. */
const decisionResponses = (forbidden: string[]) => ({ 200: promotionResponse('The updated promotion'), ...decisionErrors(forbidden) });

export const approveRoute = commandRoute({
  path: '/promotions/{id}/approve',
  operationId: 'approvePromotion',
  tags,
  summary: 'Approve; approvals are counted by distinct person, and the last one needed approves the promotion',
  params: IdParam,
  body: approvePromotionSchema,
  required: false,
  responses: decisionResponses(['NOT_AN_APPROVER', 'SOD_VIOLATION']),
});
export const rejectRoute = commandRoute({
  path: '/promotions/{id}/reject',
  operationId: 'rejectPromotion',
  tags,
  summary: 'Reject with a reason; ends the promotion',
  params: IdParam,
  body: rejectPromotionSchema,
  responses: decisionResponses(['NOT_AN_APPROVER', 'SOD_VIOLATION']),
});
export const cancelRoute = commandRoute({
  path: '/promotions/{id}/cancel',
  operationId: 'cancelPromotion',
  tags,
  summary: 'Cancel a pending, awaiting-approval or freeze-held promotion (requester or approver)',
  params: IdParam,
  body: cancelPromotionSchema,
  required: false,
  responses: decisionResponses(['NOT_ALLOWED_TO_CANCEL']),
});

export const reconcileRoute = createRoute({
  method: 'post',
  path: '/promotions/{id}/reconcile',
  operationId: 'reconcilePromotion',
  tags,
  summary: 'Start a new workflow run for a promotion whose run was ended outside Tollgate (needs workflow:reconcile)',
  description:
    'For a promotion marked `failed` because its workflow was terminated, failed or timed out in Temporal while it was still pending or awaiting approval: a new run takes over from the promotion as its record last stood, approvals included. A promotion cancelled in Temporal stays cancelled; one that was approved or deploying is not started again (request a new promotion).',
  request: { params: IdParam },
  responses: {
    200: promotionResponse('The promotion, back in the status it had before its workflow ended'),
    ...errorResponses([400, 403, 404], {
      409: `Nothing to reconcile (\`${NOTHING_TO_RECONCILE}\`), no new run can take over (\`${RECONCILE_REFUSED}\`), or another promotion of the same release to the same environment is open now (\`PROMOTION_IN_FLIGHT\`, details.promotionId)`,
    }),
  },
});

export const decisionRoute = createRoute({
  method: 'get',
  path: '/promotions/{id}/decision',
  operationId: 'getPromotionDecision',
  tags,
  summary: 'The decision record: gate evaluations, approvals, the policy version',
  request: { params: IdParam },
  responses: { 200: json(DecisionSchema, 'The decision record'), ...errorResponses([400, 403, 404]) },
});

export const approvalsRoute = createRoute({
  method: 'get',
  path: '/promotions/{id}/approvals',
  operationId: 'getPromotionApprovals',
  tags,
  summary: 'The approval records, including invalidated ones and why',
  request: { params: IdParam },
  responses: { 200: json(z.array(ApprovalSchema), 'Approval records, oldest first'), ...errorResponses([400, 403, 404]) },
});

export const evidenceRoute = createRoute({
  method: 'get',
  path: '/promotions/{id}/evidence',
  operationId: 'getPromotionEvidence',
  tags,
  summary: 'The signed evidence packet of the latest decision (or of ?decision=approved|rejected|expired|cancelled|deployed|failed)',
  request: {
    params: IdParam,
    query: z.object({ decision: z.enum(['approved', 'rejected', 'expired', 'cancelled', 'deployed', 'failed', 'rolled_back']).optional() }),
  },
  responses: { 200: json(EvidencePacketSchema, 'The evidence packet'), ...errorResponses([400, 403, 404], { 404: 'No such promotion, or no decision recorded yet (`EVIDENCE_NOT_FOUND`)' }) },
});

export const previewRoute = createRoute({
  method: 'post',
  path: '/promotions/preview-gates',
  operationId: 'previewPromotionGates',
  tags,
  summary: 'Evaluate the gates without creating anything; each blocker says what would unblock it, and `pipeline` gives the order the order gate read',
  request: jsonBody(previewGatesSchema),
  responses: {
    200: json(PreviewSchema, 'The gate results'),
    ...errorResponses([...BODY_ERRORS, 403, 404], { 404: 'The release or environment does not exist in your tenant' }),
  },
});

export const MyPendingQuery = paginationQuery.extend({
  kind: emptyIsNone(z.enum(['promotion', 'change', 'workflow-step'])).openapi({ description: 'Only promotions, only change decisions, or only workflow runs’ approval steps' }),
});

export const myPendingRoute = createRoute({
  method: 'get',
  path: '/my/pending-approvals',
  operationId: 'listMyPendingApprovals',
  tags,
  summary: 'The caller’s approval inbox: promotions they may approve now, changes under CAB review and workflow runs’ approval steps awaiting their decision',
  description:
    'Promotions: the caller is in an approver group, not the requester under SoD, has not voted, and no gate blocks. ' +
    'Changes: under CAB review, the caller is a named approver (or a CAB member where the change names none or counts a quorum), not the requester, and has not decided this round. ' +
    'Workflow runs’ approval steps (`kind` `workflow-step`, needs template:read): a step of a running or paused run waiting for decisions, the caller in its groups (none named: holding template-run:operate), not the run’s requester under SoD, and not yet decided; `links.approve` and `links.reject` are where the decision goes. ' +
    'Each item has `kind` and `awaiting` (approvals still needed; for a change, its named approvers who have not approved). Oldest first; paged like every list.',
  request: { query: MyPendingQuery },
  responses: {
    200: { description: 'A page of the inbox, oldest first', content: { 'application/json': { schema: listEnvelope(PendingApprovalSchema) } } },
    ...errorResponses([400, 403]),
  },
});

export const evidenceJwksRoute = createRoute({
  method: 'get',
  path: '/evidence/jwks.json',
  operationId: 'getEvidenceJwks',
  tags: ['Evidence'],
  summary: 'Public keys that verify evidence packets (no auth)',
  security: [],
  responses: {
    200: { description: 'A JSON Web Key Set', content: { 'application/json': { schema: JwksSchema } } },
    ...publicErrorResponses([503]),
  },
});

const policies = ['Approval policies'];
const policyOne = (description: string) => json(ApprovalPolicySchema, description);
const POLICY_CONFLICT = 'The environment already has a policy (`ALREADY_EXISTS`)';
const POLICY_UNPROCESSABLE =
  'The environment does not exist (`ENVIRONMENT_NOT_FOUND`), or an http gate names both or neither of integrationId and pluginInstanceId, no integration or plugin instance of the tenant, one that is not an http gate, or an instance of a plugin that is not loaded (`HTTP_GATE_INTEGRATION_INVALID`; `details.fields` lists each `httpGates.N`, `httpGates.N.integrationId` or `httpGates.N.pluginInstanceId` with its code: `ONE_TARGET_REQUIRED`, `INTEGRATION_NOT_FOUND`, `PLUGIN_INSTANCE_NOT_FOUND`, `PLUGIN_NOT_LOADED` or `NOT_AN_HTTP_GATE`)';

export const listPoliciesRoute = createRoute({
  method: 'get',
  path: '/approval-policies',
  operationId: 'listApprovalPolicies',
  tags: policies,
  summary: 'List approval policies',
  request: { query: sortablePaginationQuery(['name', 'created_at']).extend({ environmentId: emptyIsNone(z.uuid()) }) },
  responses: { 200: { description: 'A page of policies', content: { 'application/json': { schema: listEnvelope(ApprovalPolicySchema) } } }, ...errorResponses([400, 403]) },
});
export const createPolicyRoute = createRoute({
  method: 'post',
  path: '/approval-policies',
  operationId: 'createApprovalPolicy',
  tags: policies,
  summary: 'Create the approval policy of an environment (it overrides the environment’s defaults)',
  request: jsonBody(approvalPolicySchema),
  responses: { 201: policyOne('The policy'), ...errorResponses([...BODY_ERRORS, 403, 409, 422], { 409: POLICY_CONFLICT, 422: POLICY_UNPROCESSABLE }) },
});
export const getPolicyRoute = createRoute({
  method: 'get',
  path: '/approval-policies/{id}',
  operationId: 'getApprovalPolicy',
  tags: policies,
  summary: 'Get an approval policy',
  request: { params: IdParam },
  responses: { 200: policyOne('The policy'), ...errorResponses([400, 403, 404]) },
});
export const updatePolicyRoute = createRoute({
  method: 'put',
  path: '/approval-policies/{id}',
  operationId: 'updateApprovalPolicy',
  tags: policies,
  summary: 'Edit a policy: a new version; approvals given under the old one stop counting',
  request: { params: IdParam, ...jsonBody(approvalPolicySchema) },
  responses: { 200: policyOne('The policy, at its new version'), ...errorResponses([...BODY_ERRORS, 403, 404, 409, 422], { 409: POLICY_CONFLICT, 422: POLICY_UNPROCESSABLE }) },
});
export const deletePolicyRoute = createRoute({
  method: 'delete',
  path: '/approval-policies/{id}',
  operationId: 'deleteApprovalPolicy',
  tags: policies,
  summary: 'Delete a policy; the environment’s defaults apply again',
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses([400, 403, 404]) },
});

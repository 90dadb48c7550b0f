import { createRoute, z } from '@hono/zod-openapi';
import { ROLLOUT_STATES, ROLLOUT_STRATEGIES } from '../../../domain/rollouts/model';
import { createRolloutSchema, promoteRolloutSchema, rollbackRolloutSchema, rolloutCommandSchema } from '../../../domain/rollouts/requests';
import { ENDED_OUTSIDE, NOTHING_TO_RECONCILE, RECONCILE_REFUSED } from '../../ended-outside';
import { emptyIsNone } from '../../list-filters';
import { BODY_ERRORS, commandRoute, envelope, errorResponses, idempotencyKeyHeader, jsonBody, linksToResource, listEnvelope } from '../../openapi-helpers';
import { sortablePaginationQuery } from '../../pagination';
import { HealthSchema, IdParam, RolloutSchema, StrategySchema, TrafficReadingSchema } from './rollouts.responses';

/** PROGDL: A/B, canary and blue-green rollouts on the environment's traffic router. */

const tags = ['Rollouts'];
const ON_A_ROLLOUT = ['getRollout', 'startRollout', 'advanceRollout', 'promoteRollout', 'rollbackRollout', 'pauseRollout', 'resumeRollout', 'retryRollout', 'reconcileRollout', 'getRolloutTraffic', 'getRolloutHealth'] as const;
const rolloutResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: envelope(RolloutSchema) } },
  links: linksToResource(ON_A_ROLLOUT),
});
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema: envelope(schema) } } });
const KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED';
const ENDED = 'completed, or its workflow is gone';

export const ROLLOUT_SORTS = ['created_at', 'updated_at'] as const;
export const RolloutListQuery = sortablePaginationQuery(ROLLOUT_SORTS).extend({
  state: emptyIsNone(z.enum(ROLLOUT_STATES)).openapi({ description: 'Filter by state' }),
  environmentId: emptyIsNone(z.uuid()).openapi({ description: 'Filter by environment' }),
  releaseId: emptyIsNone(z.uuid()).openapi({ description: 'Filter by the canary release' }),
  strategy: emptyIsNone(z.enum(ROLLOUT_STRATEGIES)).openapi({ description: 'Filter by strategy' }),
});

export const listRolloutsRoute = createRoute({
  method: 'get',
  path: '/ab-releases',
  operationId: 'listRollouts',
  tags,
  summary: 'List rollouts, newest first',
  request: { query: RolloutListQuery },
  responses: { 200: { description: 'A page of rollouts', content: { 'application/json': { schema: listEnvelope(RolloutSchema) } } }, ...errorResponses([400, 403]) },
});

export const createRolloutRoute = createRoute({
  method: 'post',
  path: '/ab-releases',
  operationId: 'createRollout',
  tags,
  summary: 'Create a rollout of a canary release beside the stable one in an environment (state created; start walks it)',
  description:
    'strategy canary walks `steps` ({setWeight}, {pause: {duration?}}, {analysis}); abTest sends requests that `match` to the canary whatever its weight; blueGreen previews by `blueGreen.previewMatch`, judges, then switches. See GET /rollout-strategies.',
  request: { headers: idempotencyKeyHeader, ...jsonBody(createRolloutSchema) },
  responses: {
    201: rolloutResponse('The persisted rollout, created'),
    ...errorResponses([...BODY_ERRORS, 403, 422], {
      422: `The environment or a release does not exist in your tenant (\`ENVIRONMENT_NOT_FOUND\`, \`RELEASE_NOT_FOUND\`; details.field names it), an analysis's \`integrationId\` or the \`trafficIntegrationId\` is no integration of your tenant (\`INTEGRATION_NOT_FOUND\`) or not a prometheus / traffic-webhook one (\`INTEGRATION_WRONG_TYPE\`; details.field, details.typeId, details.expected), a rollout with a \`trafficIntegrationId\` has a router or http analysis, which need a router agent (\`ANALYSIS_NEEDS_ROUTER_AGENT\`, details.field), or \`${KEY_REUSED}\``,
    }),
  },
});

export const getRolloutRoute = createRoute({
  method: 'get',
  path: '/ab-releases/{id}',
  operationId: 'getRollout',
  tags,
  summary: 'Get a rollout: state, step, weights, last verdict and who did what',
  request: { params: IdParam },
  responses: { 200: rolloutResponse('The rollout'), ...errorResponses([400, 403, 404]) },
});

const commandErrors = (extra409: string) =>
  errorResponses([...BODY_ERRORS, 403, 404, 409, 422], {
    403: 'The caller lacks rollout:operate',
    409: `Not in a state that allows it (\`INVALID_STATE_TRANSITION\`, details.currentState), the rollout is ${ENDED} (\`ROLLOUT_ENDED\`), its workflow was ended outside Tollgate (\`${ENDED_OUTSIDE}\`: details say how, by whom, when, the state it had and the reconcile path; a new run puts traffic back on stable)${extra409}`,
    422: `\`${KEY_REUSED}\``,
  });
const command = <B extends z.ZodType>(name: string, operationId: string, summary: string, body: B, required: boolean, extra409 = '', described: Record<number, string> = {}) =>
  commandRoute({
    path: `/ab-releases/{id}/${name}`,
    operationId,
    tags,
    summary,
    params: IdParam,
    body,
    required,
    responses: { 200: rolloutResponse('The rollout as it now stands'), ...commandErrors(extra409), ...errorResponses([], described) },
  });

const FREEZE = {
  403: 'The caller lacks rollout:operate, or the environment is frozen and the caller lacks deployment:override-freeze (`FREEZE_ACTIVE`, details.freeze)',
  422: `A freeze override needs a reason (\`FREEZE_OVERRIDE_NEEDS_REASON\`), or \`${KEY_REUSED}\``,
};
const RESOLVE_409 =
  ', another rollout of the environment is running or paused, or still scaling its canary targets down after a rollback (`ROLLOUT_IN_FLIGHT`, details.rolloutId, details.scalingDown), the environment has no agent driving a router (`NO_ROUTER`: start one with `npm run agent -- --router haproxy --router-listen <host:port>`), no targets labelled or propertied track=canary (`NO_CANARY_TARGETS`) or none without it (`NO_STABLE_TARGETS`), a target with no `port` property (`TARGET_PORT_MISSING`), or the rollout’s traffic integration was deleted or retyped since create (`TRAFFIC_INTEGRATION_GONE`). With a `trafficIntegrationId` no router agent is needed. Canary targets that do not run the canary release get it from a deployment job the rollout starts (canaryDeployment) before any traffic moves';
const DEPLOYING_409 = ', or the canary release is still being deployed to the canary targets (`CANARY_DEPLOYING`, details.jobId)';

export const startRolloutRoute = command('start', 'startRollout', 'Start: resolve the router and backends, then walk the steps (state running)', rolloutCommandSchema, false, RESOLVE_409, FREEZE);
export const advanceRolloutRoute = command(
  'advance',
  'advanceRollout',
  'End the wait the rollout is in: a pause (timed or until advance) or an analysis (running, paused or inconclusive); the next step runs',
  rolloutCommandSchema,
  false,
  `, the current step is not a pause or an analysis (\`NOT_WAITING\`, details.stepIndex and details.step: an advance never skips a weight change; promote goes to the next step)${DEPLOYING_409}`,
);
export const promoteRolloutRoute = command('promote', 'promoteRollout', 'The next step; with {"full": true} skip the rest: 100% to the canary at once', promoteRolloutSchema, false, DEPLOYING_409);
export const rollbackRolloutRoute = command('rollback', 'rollbackRollout', 'Abort: traffic back to stable at once (weight 0, no match), then the rollout is aborted; retry runs it again', rollbackRolloutSchema, true);
export const pauseRolloutRoute = command('pause', 'pauseRollout', 'Hold at the current weights until resume', rolloutCommandSchema, false);
export const resumeRolloutRoute = command(
  'resume',
  'resumeRollout',
  'Go on from a pause: after a person’s pause, a timed pause or an analysis goes on with the time it had left (an analysis keeps its measurements); after the rollout held by itself, an indefinite pause step is passed and an inconclusive analysis measures again',
  rolloutCommandSchema,
  false,
);
export const retryRolloutRoute = command('retry', 'retryRollout', 'Run an aborted or failed rollout again from its first step', rolloutCommandSchema, false, RESOLVE_409, FREEZE);

export const reconcileRolloutRoute = createRoute({
  method: 'post',
  path: '/ab-releases/{id}/reconcile',
  operationId: 'reconcileRollout',
  tags,
  summary: 'Bring a rollout whose workflow was ended outside Tollgate in line with it, traffic back on stable (needs workflow:reconcile)',
  description:
    'For a rollout left created, running or paused behind a run terminated, failed or timed out in Temporal, or whose traffic is not known to be back on stable: it is marked `failed` (`aborted` after a Cancel) with the ending as its abortReason, and a new run of its workflow carrying it puts traffic back on stable through the router’s agent (weight 0, no match) and then takes `retry`. The answer waits up to 10 s for the router’s read-back (`traffic`); past that the run keeps trying every 10 s.',
  request: { params: IdParam },
  responses: {
    200: rolloutResponse('The rollout, failed or aborted, with the router read back on stable'),
    ...errorResponses([400, 403, 404], {
      403: 'The caller lacks workflow:reconcile',
      409: `Its workflow is running or completed (\`${NOTHING_TO_RECONCILE}\`), or it was cancelled in Temporal, which aborted the rollout with traffic on stable (\`${RECONCILE_REFUSED}\`)`,
    }),
  },
});

export const trafficRoute = createRoute({
  method: 'get',
  path: '/ab-releases/{id}/traffic',
  operationId: 'getRolloutTraffic',
  tags,
  summary: 'The weights the router actually has, read back through its agent (or the last read-back when the agent is away, with a note saying so)',
  request: { params: IdParam },
  responses: { 200: json(TrafficReadingSchema, 'What the router has, and what the rollout asked for'), ...errorResponses([400, 403, 404]) },
});

export const HealthQuery = z.object({
  max: z.coerce.number().min(0).max(1e9).optional().openapi({ description: 'Judge every kept measurement again with this maximum' }),
  min: z.coerce.number().min(0).max(1e9).optional().openapi({ description: '… this minimum' }),
  minScore: z.coerce.number().min(0).max(100).optional().openapi({ description: '… this minimum score against stable' }),
  minRequests: z.coerce.number().int().min(0).max(1_000_000).optional().openapi({ description: '… this many canary requests for a conclusive measurement' }),
});

export const healthRoute = createRoute({
  method: 'get',
  path: '/ab-releases/{id}/health',
  operationId: 'getRolloutHealth',
  tags,
  summary: 'Current measurements, thresholds and verdicts; query thresholds judge every kept measurement again',
  request: { params: IdParam, query: HealthQuery },
  responses: { 200: json(HealthSchema, 'The rollout’s measurements and verdicts'), ...errorResponses([400, 403, 404]) },
});

export const strategiesRoute = createRoute({
  method: 'get',
  path: '/rollout-strategies',
  operationId: 'listRolloutStrategies',
  tags,
  summary: 'The rollout strategies and their parameters',
  responses: { 200: json(z.array(StrategySchema), 'canary, blueGreen, abTest'), ...errorResponses([403]) },
});

import { z } from '@hono/zod-openapi';
import { ROLLOUT_STATES, ROLLOUT_STRATEGIES } from '../../../domain/rollouts/model';
import { trafficMatchSchema } from '../../../domain/rollouts/requests';
import { ANALYSIS_METRICS, METRIC_PROVIDERS } from '../../../domain/rollouts/steps';
import { ROUTER_PROVIDERS } from '../../../domain/traffic';

/** What the rollout routes answer (Stella: camelCase). */

export const IdParam = z.object({ id: z.uuid({ message: 'must be a UUID' }).openapi({ param: { name: 'id', in: 'path' }, example: '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f' }) });

const Variant = z.enum(['stable', 'canary']);
const Backend = z.object({ name: z.string(), targetId: z.string(), host: z.string(), port: z.number().int() });

export const TrafficStateSchema = z
  .object({
    provider: z.enum(ROUTER_PROVIDERS),
    routeId: z.string(),
    canaryWeight: z.number(),
    stableWeight: z.number(),
    match: trafficMatchSchema.nullable(),
    servers: z.array(z.object({ name: z.string(), variant: Variant, weight: z.number(), state: z.string() })),
    readAt: z.string(),
  })
  .openapi('TrafficState', { description: 'The traffic the router has, read back from the router itself' });

const AnalysisSpecSchema = z
  .object({
    metric: z.enum(ANALYSIS_METRICS),
    provider: z.enum(METRIC_PROVIDERS),
    max: z.number().nullable(),
    min: z.number().nullable(),
    minScore: z.number().nullable(),
    windowMs: z.number(),
    intervalMs: z.number(),
    failureLimit: z.number().int(),
    minRequests: z.number().int(),
    address: z.string().nullable(),
    integrationId: z.string().nullable().optional().openapi({ description: 'prometheus: the integration that measures (its URL and token), instead of address' }),
    query: z.string().nullable(),
    path: z.string(),
    probeCount: z.number().int(),
  })
  .openapi('RolloutAnalysisSpec');

const StepSchema = z
  .union([
    z.object({ setWeight: z.number() }),
    z.object({ pause: z.object({ durationMs: z.number().nullable() }) }),
    z.object({ analysis: AnalysisSpecSchema }),
    z.object({ setMatch: trafficMatchSchema.nullable() }),
  ])
  .openapi('RolloutPlannedStep');

const VariantSample = z.object({ requests: z.number().nullable(), errors: z.number().nullable(), latencyMs: z.number().nullable(), value: z.number().nullable().optional() });
export const SampleSchema = z.object({ stable: VariantSample, canary: VariantSample }).openapi('RolloutSample');
export const ThresholdsSchema = z
  .object({ metric: z.enum(ANALYSIS_METRICS), max: z.number().nullable(), min: z.number().nullable(), minScore: z.number().nullable(), minRequests: z.number() })
  .openapi('RolloutThresholds');
export const JudgementSchema = z
  .object({
    verdict: z.enum(['pass', 'fail', 'inconclusive']),
    value: z.number().nullable(),
    baseline: z.number().nullable(),
    score: z.number().nullable().openapi({ description: '0-100: the canary against stable over the same window' }),
    reason: z.string(),
  })
  .openapi('RolloutJudgement');

/** What one measurement took: its step and time, both variants' numbers and the thresholds it was judged with. */
const Measured = z.object({
  stepIndex: z.number().int(),
  at: z.string(),
  metric: z.enum(ANALYSIS_METRICS),
  provider: z.enum(METRIC_PROVIDERS),
  sample: SampleSchema,
  thresholds: ThresholdsSchema,
  integration: z.object({ id: z.string(), name: z.string() }).nullable().optional().openapi({ description: 'The integration that answered this measurement (a prometheus analysis by integrationId)' }),
});
const VerdictSchema = JudgementSchema.extend(Measured.shape).openapi('RolloutVerdict');

const DeploymentSchema = z
  .object({
    releaseId: z.string(),
    releaseName: z.string(),
    targetIds: z.array(z.string()),
    jobId: z.string().nullable().openapi({ description: 'The deployment job (GET /deployment-jobs/{id}); null until it starts' }),
    status: z.enum(['pending', 'deploying', 'deployed', 'failed']),
    reason: z.string().nullable(),
  })
  .openapi('RolloutDeployment');

export const RolloutSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    environmentId: z.string(),
    environmentName: z.string(),
    stableReleaseId: z.string(),
    stableReleaseName: z.string(),
    canaryReleaseId: z.string(),
    canaryReleaseName: z.string(),
    strategy: z.enum(ROLLOUT_STRATEGIES),
    trafficIntegrationId: z.string().nullable().optional().openapi({ description: 'The traffic-webhook integration that moves the weights instead of a router agent' }),
    steps: z.array(StepSchema),
    match: trafficMatchSchema.nullable(),
    progressDeadlineMs: z.number(),
    state: z.enum(ROLLOUT_STATES),
    stepIndex: z.number().int().openapi({ description: 'The step being walked (0-based); equal to steps.length once promoted' }),
    canaryWeight: z.number().openapi({ description: 'Percent of (unmatched) requests the router sends to the canary, as it read back' }),
    activeMatch: trafficMatchSchema.nullable(),
    stepStartedAt: z.string().nullable(),
    pausedReason: z.string().nullable(),
    abortReason: z.string().nullable(),
    analysis: z
      .object({ stepIndex: z.number().int(), startedAt: z.string(), measurements: z.number().int(), failures: z.number().int(), inconclusive: z.number().int(), passes: z.number().int() })
      .nullable(),
    lastVerdict: VerdictSchema.nullable(),
    traffic: TrafficStateSchema.nullable(),
    plan: z
      .object({
        routerAgentId: z.string().nullable().openapi({ description: 'The agent driving the router; null when a traffic integration does' }),
        routerProvider: z.string(),
        routerListen: z.string().openapi({ description: 'Where clients reach the route; with a traffic integration, its name' }),
        trafficIntegration: z.object({ id: z.string(), name: z.string() }).optional().openapi({ description: 'The traffic-webhook integration that sets and reads the weights' }),
        stable: z.array(Backend),
        canary: z.array(Backend),
        stableVersion: z.string(),
        canaryVersion: z.string(),
        canaryToDeploy: z.array(z.string()).optional().openapi({ description: 'Canary targets that did not run the canary release at start' }),
      })
      .nullable()
      .openapi({ description: 'The router and backends resolved at start' }),
    canaryDeployment: DeploymentSchema.nullable()
      .optional()
      .openapi({ description: 'The canary release deployed by the rollout to the canary targets that did not run it, before any traffic moves (null: they all ran it)' }),
    scaleDown: DeploymentSchema.nullable().optional().openapi({ description: 'After a rollback or abort, once traffic is back on stable: the stable release deployed back to the canary targets' }),
    pausedAt: z.string().nullable().optional().openapi({ description: 'When a person paused it (resume goes on with the time that was left)' }),
    history: z.array(z.object({ at: z.string(), action: z.string(), by: z.string(), reason: z.string().nullable(), stepIndex: z.number().int(), canaryWeight: z.number() })),
    createdBy: z.string(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    updatedAt: z.string(),
    version: z.number().int(),
  })
  .openapi('Rollout');

export const TrafficReadingSchema = z
  .object({
    rolloutId: z.string(),
    state: z.enum(ROLLOUT_STATES),
    live: z.boolean().openapi({ description: 'true: read from the router just now; false: the last read-back (see note)' }),
    note: z.string().nullable(),
    requested: z.object({ canaryWeight: z.number(), match: trafficMatchSchema.nullable() }),
    traffic: TrafficStateSchema.nullable(),
  })
  .openapi('RolloutTraffic');

export const MeasurementSchema = Measured.extend({
  id: z.string(),
  judgement: JudgementSchema,
  rejudged: JudgementSchema.nullable().openapi({ description: 'The same numbers judged with the thresholds given in the query (null when none were given)' }),
}).openapi('RolloutMeasurement');

export const HealthSchema = z
  .object({
    rolloutId: z.string(),
    state: z.enum(ROLLOUT_STATES),
    stepIndex: z.number().int(),
    currentAnalysis: AnalysisSpecSchema.nullable().openapi({ description: 'The analysis of the current step, when it is one' }),
    analysis: RolloutSchema.shape.analysis,
    lastVerdict: VerdictSchema.nullable(),
    measurements: z.array(MeasurementSchema).openapi({ description: 'Newest first, at most 200' }),
  })
  .openapi('RolloutHealth');

export const StrategySchema = z
  .object({
    name: z.enum(ROLLOUT_STRATEGIES),
    title: z.string(),
    description: z.string(),
    parameters: z.array(z.object({ name: z.string(), type: z.string(), required: z.boolean(), default: z.unknown(), description: z.string() })),
    stepKinds: z.array(z.string()),
  })
  .openapi('RolloutStrategy');

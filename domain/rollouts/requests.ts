import { z } from 'zod';
import { parseDuration } from '../duration';
import { requiredTextField, textField } from '../text';
import { ROLLOUT_STRATEGIES } from './model';
import { ANALYSIS_METRICS, METRIC_PROVIDERS, PROVIDER_METRICS } from './steps';

/** Request bodies of the rollout API (PROGDL: /ab-releases). */

const uuid = z.uuid({ message: 'must be a UUID' });
const MAX_DURATION_MS = 7 * 86_400_000;
/** "30s", "5m", "1h30m" (or milliseconds as digits): at least 1s, at most 7 days. */
export const durationText = z
  .string()
  .max(32)
  .regex(/^\s*(?:\d+|(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)\s*$/, { message: 'must be a duration such as 30s, 5m or 1h30m, from 1s to 7d' })
  .refine((t) => {
    const ms = parseDuration(t);
    return ms !== undefined && ms >= 1000 && ms <= MAX_DURATION_MS;
  }, { message: 'must be a duration such as 30s, 5m or 1h30m, from 1s to 7d' })
  .meta({ example: '30s' });

const headerName = z.string().min(1).max(64).regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { message: 'must be an HTTP header name' });
const cookieName = z.string().min(1).max(64).regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { message: 'must be a cookie name' });
const matchValue = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, { message: 'must be visible ASCII without spaces' });

export const trafficMatchSchema = z
  .union([z.strictObject({ header: z.strictObject({ name: headerName, value: matchValue }) }), z.strictObject({ cookie: z.strictObject({ name: cookieName, value: matchValue }) })])
  .meta({ id: 'TrafficMatch', description: 'Requests with this header or cookie value go to the canary whatever its weight' });

export const analysisSchema = z
  .strictObject({
    metric: z.enum(ANALYSIS_METRICS),
    provider: z.enum(METRIC_PROVIDERS).default('router').meta({ description: 'router (its own counters, default), http (probes each backend), prometheus (PromQL over its HTTP API)' }),
    max: z.number().min(0).max(1e9).optional().meta({ description: 'Failure when the canary is above this (error-rate 0-1, latency in ms)' }),
    min: z.number().min(0).max(1e9).optional().meta({ description: 'Failure when the canary is below this (success-rate 0-1)' }),
    minScore: z.number().min(0).max(100).optional().meta({ description: 'Failure when the canary scores below this against stable over the same window (100: as good as stable)' }),
    window: durationText.default('1m'),
    interval: durationText.optional().meta({ description: 'Time between measurements; default 5s, at most the window' }),
    failureLimit: z.number().int().min(1).max(100).default(1).meta({ description: 'Failed measurements that abort the rollout; 1: the first failure rolls back' }),
    minRequests: z.number().int().min(0).max(1_000_000).default(10).meta({ description: 'Fewer canary requests in a measurement: inconclusive; a window with no conclusive pass pauses for a human' }),
    address: z.url({ message: 'must be an http(s) URL' }).max(500).optional().meta({ description: 'prometheus: the server; default the worker’s PROMETHEUS_URL' }),
    integrationId: uuid.optional().meta({ description: 'prometheus: a `prometheus` integration of your tenant (its URL, bearer token and timeout), instead of address' }),
    query: z.string().min(1).max(2000).optional().meta({ description: 'prometheus: PromQL; {{version}} and {{window}} are replaced for each variant' }),
    path: z.string().max(200).regex(/^\/[\x21-\x7e]*$/, { message: 'must be a path starting with /' }).default('/health').meta({ description: 'http: the path probed on each backend' }),
    probeCount: z.number().int().min(1).max(100).default(5),
  })
  .superRefine((a, ctx) => {
    if (!PROVIDER_METRICS[a.provider].includes(a.metric)) {
      ctx.addIssue({ code: 'custom', path: ['metric'], message: `cannot be measured by provider ${a.provider} (it measures ${PROVIDER_METRICS[a.provider].join(', ')})` });
    }
    if (a.max === undefined && a.min === undefined && a.minScore === undefined) ctx.addIssue({ code: 'custom', path: ['max'], message: 'is required: give max, min or minScore' });
    if (a.interval !== undefined && parseDuration(a.interval)! > parseDuration(a.window)!) ctx.addIssue({ code: 'custom', path: ['interval'], message: 'must not be longer than the window' });
    if (a.query !== undefined && a.provider !== 'prometheus') ctx.addIssue({ code: 'custom', path: ['query'], message: 'is only for provider prometheus' });
    if (a.integrationId !== undefined && a.provider !== 'prometheus') ctx.addIssue({ code: 'custom', path: ['integrationId'], message: 'is only for provider prometheus' });
    if (a.integrationId !== undefined && a.address !== undefined) ctx.addIssue({ code: 'custom', path: ['integrationId'], message: 'and address exclude each other: the integration names its server' });
  })
  .meta({
    id: 'RolloutAnalysis',
    // The checks above, in the document too, so a body built from it is one the server accepts: a bound is
    // required, each provider measures its own metrics and only prometheus takes a query.
    allOf: [
      { anyOf: [{ required: ['max'] }, { required: ['min'] }, { required: ['minScore'] }] },
      { not: { required: ['address', 'integrationId'] } },
      {
        anyOf: [
          { title: 'Router', properties: { provider: { const: 'router' }, metric: { enum: [...PROVIDER_METRICS.router] }, query: false, integrationId: false } },
          { title: 'HTTP', required: ['provider'], properties: { provider: { const: 'http' }, metric: { enum: [...PROVIDER_METRICS.http] }, query: false, integrationId: false } },
          { title: 'Prometheus', required: ['provider'], properties: { provider: { const: 'prometheus' }, metric: { enum: [...PROVIDER_METRICS.prometheus] } } },
        ],
      },
    ],
  });
export type AnalysisInput = z.infer<typeof analysisSchema>;

export const stepSchema = z
  .strictObject({
    setWeight: z.number().int().min(0).max(100).optional().meta({ description: 'Percent of (unmatched) requests to the canary' }),
    pause: z.strictObject({ duration: durationText.optional() }).optional().meta({ description: 'A timed pause, or without duration until advance' }),
    analysis: analysisSchema.optional(),
  })
  .superRefine((s, ctx) => {
    const kinds = (['setWeight', 'pause', 'analysis'] as const).filter((k) => s[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', path: [], message: `must have exactly one of setWeight, pause, analysis${kinds.length ? ` (has ${kinds.join(', ')})` : ''}` });
  })
  .meta({
    id: 'RolloutStep',
    // Exactly one kind per step, in the document as in the check above.
    oneOf: [
      { title: 'Set weight', required: ['setWeight'], properties: { pause: false, analysis: false } },
      { title: 'Pause', required: ['pause'], properties: { setWeight: false, analysis: false } },
      { title: 'Analysis', required: ['analysis'], properties: { setWeight: false, pause: false } },
    ],
  });
export type StepInput = z.infer<typeof stepSchema>;

export const blueGreenSchema = z
  .strictObject({
    previewMatch: trafficMatchSchema.optional().meta({ description: 'Requests matching see the new version before the switch (default: header X-Preview: true)' }),
    prePromotionAnalysis: analysisSchema.optional().meta({ description: 'Judged on the preview traffic before the switch' }),
    autoPromote: z.boolean().default(false).meta({ description: 'Switch after the pre-promotion analysis without waiting for advance/promote' }),
    postPromotionAnalysis: analysisSchema.optional().meta({ description: 'Judged after the switch to 100%; a failure switches back' }),
  })
  .meta({ id: 'BlueGreenParameters' });

export const createRolloutSchema = z
  .strictObject({
    name: requiredTextField(200),
    description: textField(2000).nullable().optional(),
    environmentId: uuid,
    stableReleaseId: uuid,
    canaryReleaseId: uuid,
    strategy: z.enum(ROLLOUT_STRATEGIES).default('canary'),
    steps: z.array(stepSchema).max(50).optional().meta({ description: 'canary: required; abTest: optional (weights for unmatched requests, default none)' }),
    match: trafficMatchSchema.optional().meta({ description: 'abTest: required' }),
    blueGreen: blueGreenSchema.optional(),
    progressDeadline: durationText.default('10m').meta({ description: 'A step making no progress for this long rolls back (indefinite pauses are exempt)' }),
    trafficIntegrationId: uuid.optional().meta({
      description: 'A `traffic-webhook` integration of your tenant that sets (PUT) and reads back (GET) the weights instead of a router agent; its analyses then use provider prometheus',
    }),
  })
  .superRefine((b, ctx) => {
    if (b.stableReleaseId === b.canaryReleaseId) ctx.addIssue({ code: 'custom', path: ['canaryReleaseId'], message: 'must differ from stableReleaseId' });
    if (b.strategy === 'canary' && (!b.steps || b.steps.length === 0)) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'is required for strategy canary (at least one step)' });
    if (b.strategy === 'abTest' && !b.match) ctx.addIssue({ code: 'custom', path: ['match'], message: 'is required for strategy abTest' });
    if (b.strategy !== 'abTest' && b.match) ctx.addIssue({ code: 'custom', path: ['match'], message: 'is only for strategy abTest (blue-green previews use blueGreen.previewMatch)' });
    if (b.strategy === 'blueGreen' && b.steps) ctx.addIssue({ code: 'custom', path: ['steps'], message: 'are derived from blueGreen for strategy blueGreen; leave them out' });
    if (b.strategy !== 'blueGreen' && b.blueGreen) ctx.addIssue({ code: 'custom', path: ['blueGreen'], message: 'is only for strategy blueGreen' });
  })
  .meta({
    id: 'CreateRollout',
    // Which fields each strategy takes, in the document as in the check above (the strategy defaults to canary).
    anyOf: [
      { title: 'Canary', required: ['steps'], properties: { strategy: { const: 'canary' }, steps: { minItems: 1 }, match: false, blueGreen: false } },
      { title: 'A/B test', required: ['strategy', 'match'], properties: { strategy: { const: 'abTest' }, blueGreen: false } },
      { title: 'Blue-green', required: ['strategy'], properties: { strategy: { const: 'blueGreen' }, steps: false, match: false } },
    ],
  });
export type CreateRolloutBody = z.infer<typeof createRolloutSchema>;

const reason = textField(1000).min(1, { message: 'must not be blank' });
export const rolloutCommandSchema = z.strictObject({ reason: reason.optional() }).meta({ id: 'RolloutCommand' });
export type RolloutCommandBody = z.infer<typeof rolloutCommandSchema>;
export const promoteRolloutSchema = z
  .strictObject({ full: z.boolean().default(false).meta({ description: 'Skip the remaining steps: 100% to the canary at once' }), reason: reason.optional() })
  .meta({ id: 'PromoteRollout' });
export type PromoteRolloutBody = z.infer<typeof promoteRolloutSchema>;
export const rollbackRolloutSchema = z.strictObject({ reason }).meta({ id: 'RollbackRollout' });
export type RollbackRolloutBody = z.infer<typeof rollbackRolloutSchema>;

import { parseDuration } from '../duration';
import type { RolloutStrategy } from './model';
import type { AnalysisInput, CreateRolloutBody, StepInput } from './requests';
import type { AnalysisSpec, RolloutStep } from './steps';
import type { TrafficMatch } from '../traffic';

/** The default preview of a blue-green rollout: requests carrying this header see the new version before the switch. */
export const DEFAULT_PREVIEW_MATCH: TrafficMatch = { header: { name: 'X-Preview', value: 'true' } };
const DEFAULT_INTERVAL_MS = 5_000;

export function analysisOf(a: AnalysisInput): AnalysisSpec {
  const windowMs = parseDuration(a.window)!;
  return {
    metric: a.metric,
    provider: a.provider,
    max: a.max ?? null,
    min: a.min ?? null,
    minScore: a.minScore ?? null,
    windowMs,
    intervalMs: a.interval ? parseDuration(a.interval)! : Math.min(DEFAULT_INTERVAL_MS, windowMs),
    failureLimit: a.failureLimit,
    minRequests: a.minRequests,
    address: a.address ?? null,
    integrationId: a.integrationId ?? null,
    query: a.query ?? null,
    path: a.path,
    probeCount: a.probeCount,
  };
}

function stepOf(s: StepInput): RolloutStep {
  if (s.setWeight !== undefined) return { setWeight: s.setWeight };
  if (s.pause !== undefined) return { pause: { durationMs: s.pause.duration ? parseDuration(s.pause.duration)! : null } };
  return { analysis: analysisOf(s.analysis!) };
}

/**
 * The steps a rollout walks. Canary and A/B take theirs as given (A/B's match
 * is in force from the start); blue-green's come from its parameters: preview
 * by match, pre-promotion analysis, a wait for promote (unless autoPromote),
 * the switch to 100 %, post-promotion analysis.
 */
export function stepsOf(body: Pick<CreateRolloutBody, 'strategy' | 'steps' | 'blueGreen'>): RolloutStep[] {
  if (body.strategy !== 'blueGreen') return (body.steps ?? []).map(stepOf);
  const bg = body.blueGreen ?? { autoPromote: false };
  const steps: RolloutStep[] = [{ setMatch: bg.previewMatch ?? DEFAULT_PREVIEW_MATCH }];
  if (bg.prePromotionAnalysis) steps.push({ analysis: analysisOf(bg.prePromotionAnalysis) });
  if (!bg.autoPromote) steps.push({ pause: { durationMs: null } });
  steps.push({ setMatch: null }, { setWeight: 100 });
  if (bg.postPromotionAnalysis) steps.push({ analysis: analysisOf(bg.postPromotionAnalysis) });
  return steps;
}

export interface StrategyParameter {
  name: string;
  type: string;
  required: boolean;
  default: unknown;
  description: string;
}

export interface StrategyDescription {
  name: RolloutStrategy;
  title: string;
  description: string;
  parameters: StrategyParameter[];
  stepKinds: string[];
}

const ANALYSIS_PARAMETERS: StrategyParameter[] = [
  { name: 'metric', type: 'error-rate | latency-p99 | latency-mean | success-rate', required: true, default: null, description: 'What is measured, for canary and stable over the same window' },
  { name: 'provider', type: 'router | http | prometheus', required: false, default: 'router', description: 'router: its own counters; http: probes of each backend; prometheus: PromQL over its HTTP API' },
  { name: 'max / min', type: 'number', required: false, default: null, description: 'Failure condition on the canary’s value (a rate 0-1, latency in ms); one of max, min, minScore is required' },
  { name: 'minScore', type: 'number 0-100', required: false, default: null, description: 'Failure when the canary scores below this against stable' },
  { name: 'window', type: 'duration', required: false, default: '1m', description: 'How long the analysis runs' },
  { name: 'interval', type: 'duration', required: false, default: '5s', description: 'Time between measurements; each is judged at once' },
  { name: 'failureLimit', type: 'integer', required: false, default: 1, description: 'Failed measurements that roll back' },
  { name: 'minRequests', type: 'integer', required: false, default: 10, description: 'Fewer canary requests: inconclusive; a window without a conclusive pass pauses for a human' },
  { name: 'address / query', type: 'url / PromQL', required: false, default: 'PROMETHEUS_URL; per metric', description: 'prometheus: the server and a query with {{version}} and {{window}}' },
  { name: 'integrationId', type: 'uuid', required: false, default: null, description: 'prometheus: a prometheus integration (URL, bearer token, timeout) instead of address' },
  { name: 'path / probeCount', type: 'path / integer', required: false, default: '/health, 5', description: 'http: what is probed on each backend, and how often per measurement' },
];

const COMMON: StrategyParameter[] = [
  { name: 'progressDeadline', type: 'duration', required: false, default: '10m', description: 'A step making no progress for this long rolls back (indefinite pauses are exempt)' },
];

export const STRATEGIES: StrategyDescription[] = [
  {
    name: 'canary',
    title: 'Canary',
    description: 'Ordered steps: setWeight (percent of requests to the canary), pause (timed, or until advance) and analysis (measured every interval; a failure rolls back at once). Completion sends 100% to the canary.',
    parameters: [
      { name: 'steps', type: 'array of {setWeight} | {pause: {duration?}} | {analysis}', required: true, default: null, description: 'Walked in order; promote goes to the next, promote {full: true} skips the rest' },
      ...COMMON,
      ...ANALYSIS_PARAMETERS.map((p) => ({ ...p, name: `analysis.${p.name}` })),
    ],
    stepKinds: ['setWeight', 'pause', 'analysis'],
  },
  {
    name: 'blueGreen',
    title: 'Blue-green',
    description:
      'The new version is previewed by requests that match (header or cookie) while all other traffic stays on stable; a pre-promotion analysis judges the preview, promote switches 100% at once, and a post-promotion analysis can switch back.',
    parameters: [
      { name: 'blueGreen.previewMatch', type: '{header: {name, value}} | {cookie: {name, value}}', required: false, default: { header: { name: 'X-Preview', value: 'true' } }, description: 'Requests that see the new version before the switch' },
      { name: 'blueGreen.prePromotionAnalysis', type: 'analysis', required: false, default: null, description: 'Judged before the switch' },
      { name: 'blueGreen.autoPromote', type: 'boolean', required: false, default: false, description: 'Switch after the pre-promotion analysis without waiting for promote' },
      { name: 'blueGreen.postPromotionAnalysis', type: 'analysis', required: false, default: null, description: 'Judged after the switch; a failure switches back to stable' },
      ...COMMON,
    ],
    stepKinds: ['setMatch', 'analysis', 'pause', 'setWeight'],
  },
  {
    name: 'abTest',
    title: 'A/B by header or cookie',
    description: 'Requests matching a header or cookie go to B (the canary) whatever the weight; the others follow the optional steps (none: all stay on A).',
    parameters: [
      { name: 'match', type: '{header: {name, value}} | {cookie: {name, value}}', required: true, default: null, description: 'Requests that go to B' },
      { name: 'steps', type: 'array of steps', required: false, default: [], description: 'Weights for requests that do not match, as in canary' },
      ...COMMON,
    ],
    stepKinds: ['setWeight', 'pause', 'analysis'],
  },
];

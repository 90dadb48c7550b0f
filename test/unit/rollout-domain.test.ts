import type { Actor } from '../../domain/actor';
import { planOf, type PlanTargetRow } from '../../domain/rollouts/backends';
import { decide, type RolloutCommand } from '../../domain/rollouts/commands';
import { analysisOutcome, judge, type Thresholds } from '../../domain/rollouts/judge';
import type { Rollout, RolloutPlan } from '../../domain/rollouts/model';
import { prometheusQueries, promqlFor } from '../../domain/rollouts/promql';
import { createRolloutSchema } from '../../domain/rollouts/requests';
import { probeSample, prometheusSample, routerSample } from '../../domain/rollouts/samples';
import { canMove } from '../../domain/rollouts/state-machine';
import { stepsOf, STRATEGIES } from '../../domain/rollouts/strategies';
import type { TrafficState } from '../../domain/traffic';
import { DomainError } from '../../domain/errors';

const ISSUE_BODY = {
  name: 'myapp 2.4 canary',
  environmentId: '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
  stableReleaseId: '4f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
  canaryReleaseId: '5f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
  strategy: 'canary',
  steps: [{ setWeight: 10 }, { pause: { duration: '30s' } }, { setWeight: 50 }, { analysis: { metric: 'error-rate', max: 0.05, window: '30s' } }, { setWeight: 100 }],
};
const operator: Actor = { userId: 'u-op', email: 'op@example.com', permissions: ['rollout:operate'] };
const viewer: Actor = { userId: 'u-view', permissions: ['rollout:read'] };
const system: Actor = { userId: 'tollgate', permissions: [] };
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const plan: RolloutPlan = {
  routerAgentId: 'a1',
  routerProvider: 'haproxy',
  routerListen: '127.0.0.1:8080',
  stable: [{ name: 's1', targetId: 't1', host: '127.0.0.1', port: 4001 }],
  canary: [{ name: 'c1', targetId: 't2', host: '127.0.0.1', port: 4002 }],
  stableVersion: '2.3.0',
  canaryVersion: '2.4.0',
};
const traffic = (canaryWeight: number): TrafficState => ({ provider: 'haproxy', routeId: 'env', canaryWeight, stableWeight: 100 - canaryWeight, match: null, servers: [], readAt: at(1) });

function created(): Rollout {
  const body = createRolloutSchema.parse(ISSUE_BODY);
  return decide(undefined, { kind: 'create', id: 'r1', input: body, names: { environmentName: 'prod', stableReleaseName: 'myapp 2.3', canaryReleaseName: 'myapp 2.4' } }, { now: at(0), actor: operator }).next;
}
const run = (r: Rollout, command: RolloutCommand, actor: Actor = operator, s = 2) => decide(r, command, { now: at(s), actor }).next;

describe('rollout requests', () => {
  test('the issue’s create body parses as written, with analysis defaults', () => {
    const body = createRolloutSchema.parse(ISSUE_BODY);
    const steps = stepsOf(body);
    expect(steps).toEqual([
      { setWeight: 10 },
      { pause: { durationMs: 30_000 } },
      { setWeight: 50 },
      { analysis: expect.objectContaining({ metric: 'error-rate', provider: 'router', max: 0.05, windowMs: 30_000, intervalMs: 5_000, failureLimit: 1, minRequests: 10 }) },
      { setWeight: 100 },
    ]);
  });

  test.each([
    [{ steps: [{ setWeight: 101 }] }, 'steps.0.setWeight'],
    [{ steps: [{ setWeight: 10, pause: {} }] }, 'steps.0'],
    [{ steps: [{ analysis: { metric: 'latency-p99', max: 100 } }] }, 'steps.0.analysis.metric'],
    [{ steps: [{ analysis: { metric: 'error-rate' } }] }, 'steps.0.analysis.max'],
    [{ steps: [{ pause: { duration: 'soon' } }] }, 'steps.0.pause.duration'],
    [{ steps: [] }, 'steps'],
    [{ strategy: 'abTest', steps: undefined }, 'match'],
    [{ canaryReleaseId: ISSUE_BODY.stableReleaseId }, 'canaryReleaseId'],
    [{ strategy: 'blueGreen' }, 'steps'],
  ])('%j is refused at %s', (patch, field) => {
    const result = createRolloutSchema.safeParse({ ...ISSUE_BODY, ...patch });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join('.'))).toContain(field);
  });

  test('blue-green steps come from its parameters; A/B keeps its match', () => {
    const bg = createRolloutSchema.parse({ ...ISSUE_BODY, strategy: 'blueGreen', steps: undefined, blueGreen: { prePromotionAnalysis: { metric: 'error-rate', max: 0.01 } } });
    expect(stepsOf(bg).map((s) => Object.keys(s)[0])).toEqual(['setMatch', 'analysis', 'pause', 'setMatch', 'setWeight']);
    const ab = createRolloutSchema.parse({ ...ISSUE_BODY, strategy: 'abTest', steps: undefined, match: { header: { name: 'X-Group', value: 'b' } } });
    expect(stepsOf(ab)).toEqual([]);
    expect(STRATEGIES.map((s) => s.name)).toEqual(['canary', 'blueGreen', 'abTest']);
  });
});

describe('the judge', () => {
  const t: Thresholds = { metric: 'error-rate', max: 0.05, min: null, minScore: null, minRequests: 10 };
  test('a canary above the maximum fails, with its score against stable', () => {
    const j = judge({ stable: { requests: 100, errors: 0, latencyMs: 5 }, canary: { requests: 100, errors: 30, latencyMs: 5 } }, t);
    expect(j).toMatchObject({ verdict: 'fail', value: 0.3, baseline: 0, score: 70 });
  });
  test('within bounds passes; too few requests is inconclusive', () => {
    expect(judge({ stable: { requests: 100, errors: 1, latencyMs: 5 }, canary: { requests: 50, errors: 1, latencyMs: 5 } }, t).verdict).toBe('pass');
    expect(judge({ stable: { requests: 100, errors: 0, latencyMs: 5 }, canary: { requests: 3, errors: 3, latencyMs: 5 } }, t).verdict).toBe('inconclusive');
  });
  test('latency compared to stable by ratio; minScore fails a canary twice as slow', () => {
    const j = judge({ stable: { requests: 100, errors: 0, latencyMs: 50 }, canary: { requests: 100, errors: 0, latencyMs: 100 } }, { metric: 'latency-mean', max: null, min: null, minScore: 80, minRequests: 1 });
    expect(j).toMatchObject({ verdict: 'fail', score: 50 });
  });
  test('success rate below the minimum fails; PromQL values are judged as given', () => {
    expect(judge({ stable: { requests: 10, errors: 0, latencyMs: null }, canary: { requests: 10, errors: 2, latencyMs: null } }, { ...t, metric: 'success-rate', max: null, min: 0.9 }).verdict).toBe('fail');
    const prom = { requests: null, errors: null, latencyMs: null };
    expect(judge({ stable: { ...prom, value: 0 }, canary: { ...prom, value: 0.01 } }, t).verdict).toBe('pass');
    expect(judge({ stable: { ...prom, value: 0 }, canary: { ...prom, value: null } }, t).verdict).toBe('inconclusive');
  });
  test('analysis outcomes: failure limit, pass, inconclusive window', () => {
    expect(analysisOutcome({ failures: 1, passes: 3 }, 1, false)).toBe('failed');
    expect(analysisOutcome({ failures: 1, passes: 3 }, 2, false)).toBe('continue');
    expect(analysisOutcome({ failures: 0, passes: 1 }, 1, true)).toBe('passed');
    expect(analysisOutcome({ failures: 0, passes: 0 }, 1, true)).toBe('inconclusive');
  });
  test('router counters are differenced; a reset counts the new totals', () => {
    const s = (req: number, err: number) => ({ requests: req, errors5xx: err, meanResponseMs: 4 });
    const a = { routeId: 'e', stable: s(100, 1), canary: s(50, 0), at: at(0) };
    const b = { routeId: 'e', stable: s(150, 1), canary: s(60, 5), at: at(5) };
    expect(routerSample(a, b)).toEqual({ stable: { requests: 50, errors: 0, latencyMs: 4 }, canary: { requests: 10, errors: 5, latencyMs: 4 } });
    expect(routerSample(b, a).canary).toEqual({ requests: 50, errors: 0, latencyMs: 4 });
    expect(probeSample([{ variant: 'canary', requests: 5, errors: 1, p50Ms: 1, p99Ms: 9 }, { variant: 'canary', requests: 5, errors: 0, p50Ms: 1, p99Ms: 20 }]).canary).toEqual({ requests: 10, errors: 1, latencyMs: 20 });
  });
  test('PromQL substitutes {{version}} and {{window}}', () => {
    expect(promqlFor('error-rate', null, '2.4"x', 30_000)).toContain('version="2.4\\"x"');
    expect(promqlFor('error-rate', 'up{v="{{version}}"}[{{window}}]', '1', 30_000)).toBe('up{v="1"}[30s]');
  });
  test('a prometheus measurement asks over the whole window, counts requests with the default queries, and a 5xx share has a value with no 5xx yet', () => {
    const [step] = stepsOf(createRolloutSchema.parse({ ...ISSUE_BODY, steps: [{ analysis: { provider: 'prometheus', metric: 'error-rate', max: 0.05, window: '20s', interval: '1s' } }] }));
    if (!('analysis' in step)) throw new Error('not an analysis');
    const q = prometheusQueries(step.analysis, '1.0.0', '2.0.0');
    // The interval (1s) is shorter than two scrapes: a rate over it would never have a value.
    expect(q.canaryQuery).toContain('[20s]');
    expect(q.canaryQuery).not.toContain('[1s]');
    expect(q.canaryQuery).toMatch(/^\(sum\(rate\(http_requests_total\{version="2\.0\.0",status=~"5\.\."\}\[20s\]\)\) or vector\(0\)\) \/ sum\(rate\(http_requests_total\{version="2\.0\.0"\}\[20s\]\)\)$/);
    expect(q.stableRequestsQuery).toBe('sum(increase(http_requests_total{version="1.0.0"}[20s]))');
    expect(prometheusQueries({ ...step.analysis, query: 'up{v="{{version}}"}' }, '1', '2')).toEqual({ address: null, stableQuery: 'up{v="1"}', canaryQuery: 'up{v="2"}' });
    // Request counts feed minRequests; histories from before them judge as before.
    expect(prometheusSample({ stable: 0, canary: 0.5, stableRequests: 99.6, canaryRequests: 3.2 }).canary).toEqual({ requests: 3, errors: null, latencyMs: null, value: 0.5 });
    expect(judge(prometheusSample({ stable: 0, canary: 0, stableRequests: 100, canaryRequests: 3 }), { metric: 'error-rate', max: 0.05, min: null, minScore: null, minRequests: 10 }).verdict).toBe('inconclusive');
    expect(prometheusSample({ stable: 0, canary: 0 }).canary.requests).toBeNull();
  });
});

describe('decide', () => {
  test('created → running → paused ⇄ running → aborted → retry → completed, each with who and why', () => {
    let r = created();
    expect(r).toMatchObject({ state: 'created', stepIndex: 0, canaryWeight: 0 });
    r = run(r, { kind: 'start', input: { reason: 'go' }, plan });
    expect(r).toMatchObject({ state: 'running', plan });
    r = run(r, { kind: 'traffic', stepIndex: 0, traffic: traffic(10), canaryWeight: 10, activeMatch: null }, system);
    r = run(r, { kind: 'stepDone', stepIndex: 0 }, system);
    expect(r).toMatchObject({ stepIndex: 1, canaryWeight: 10 });
    r = run(r, { kind: 'pause', input: { reason: 'lunch' } });
    expect(r).toMatchObject({ state: 'paused', pausedReason: 'paused by op@example.com: lunch' });
    r = run(r, { kind: 'resume', input: {} });
    expect(r).toMatchObject({ state: 'running', stepIndex: 1 });
    r = run(r, { kind: 'rollback', input: { reason: 'bad smell' } });
    expect(r).toMatchObject({ state: 'aborted', abortReason: 'rolled back by op@example.com: bad smell' });
    r = run(r, { kind: 'restored', traffic: traffic(0) }, system);
    expect(r.canaryWeight).toBe(0);
    r = run(r, { kind: 'retry', input: {}, plan });
    expect(r).toMatchObject({ state: 'running', stepIndex: 0, abortReason: null });
    expect(r).toMatchObject({ canaryDeployment: null, scaleDown: null });
    r = run(r, { kind: 'promote', input: { full: true } });
    expect(r.stepIndex).toBe(r.steps.length);
    r = run(r, { kind: 'complete', traffic: traffic(100) }, system);
    expect(r).toMatchObject({ state: 'completed', canaryWeight: 100 });
    expect(r.history.map((h) => [h.action, h.by])).toEqual(
      expect.arrayContaining([
        ['rollout.start', 'op@example.com'],
        ['rollout.pause', 'op@example.com'],
        ['rollout.rollback', 'op@example.com'],
        ['rollout.promote_full', 'op@example.com'],
        ['rollout.complete', 'tollgate'],
      ]),
    );
  });

  test('operators need rollout:operate; wrong states answer 409 with the state', () => {
    const r = created();
    expect(() => run(r, { kind: 'start', input: {}, plan }, viewer)).toThrow(expect.objectContaining({ kind: 'forbidden' }));
    let err: unknown;
    try {
      run(r, { kind: 'advance', input: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ kind: 'invalid_state', code: 'INVALID_STATE_TRANSITION', details: { currentState: 'created' } });
    expect(() => run(r, { kind: 'retry', input: {} })).toThrow(expect.objectContaining({ code: 'INVALID_STATE_TRANSITION' }));
    expect(canMove('completed', 'running')).toBe(false);
  });

  test('a step result for a step the rollout has left changes nothing', () => {
    let r = run(created(), { kind: 'start', input: {}, plan });
    r = run(r, { kind: 'promote', input: { full: false } });
    const stale = decide(r, { kind: 'traffic', stepIndex: 0, traffic: traffic(10), canaryWeight: 10, activeMatch: null }, { now: at(3), actor: system });
    expect(stale.events).toEqual([]);
  });
});

describe('advance ends a wait, never a step being applied', () => {
  test('at a weight step advance is NOT_WAITING (with the step); promote still goes to the next step', () => {
    const r = run(created(), { kind: 'start', input: {}, plan });
    expect(() => run(r, { kind: 'advance', input: {} })).toThrow(expect.objectContaining({ code: 'NOT_WAITING', details: expect.objectContaining({ stepIndex: 0, step: 'set weight 10%' }) }));
    expect(run(r, { kind: 'promote', input: { full: false } }).stepIndex).toBe(1);
  });
  test('at a pause or an analysis (running or held) advance goes past it', () => {
    let r = run(created(), { kind: 'start', input: {}, plan });
    r = run(r, { kind: 'stepDone', stepIndex: 0 }, system);
    expect(run(r, { kind: 'advance', input: {} }).stepIndex).toBe(2);
    r = run(run(r, { kind: 'stepDone', stepIndex: 1 }, system), { kind: 'stepDone', stepIndex: 2 }, system);
    r = run(r, { kind: 'hold', stepIndex: 3, reason: 'inconclusive' }, system);
    expect(run(r, { kind: 'advance', input: {} })).toMatchObject({ state: 'running', stepIndex: 4 });
  });
});

describe('pause and resume keep the time left', () => {
  test('a person’s pause moves the step’s start and the analysis window by the time held; its measurements stay', () => {
    let r = run(created(), { kind: 'start', input: {}, plan }, operator, 0);
    r = { ...r, stepIndex: 3, stepStartedAt: at(10), analysis: { stepIndex: 3, startedAt: at(10), measurements: 4, failures: 1, inconclusive: 0, passes: 3 } };
    r = run(r, { kind: 'pause', input: {} }, operator, 20);
    expect(r.pausedAt).toBe(at(20));
    r = run(r, { kind: 'resume', input: {} }, operator, 50);
    expect(r).toMatchObject({ state: 'running', stepIndex: 3, stepStartedAt: at(40), pausedAt: null, analysis: { startedAt: at(40), measurements: 4, failures: 1, passes: 3 } });
  });
  test('resuming what the rollout held itself: an inconclusive analysis measures again from the start', () => {
    let r = run(created(), { kind: 'start', input: {}, plan }, operator, 0);
    r = { ...r, stepIndex: 3, analysis: { stepIndex: 3, startedAt: at(10), measurements: 4, failures: 0, inconclusive: 4, passes: 0 } };
    r = run(r, { kind: 'hold', stepIndex: 3, reason: 'inconclusive' }, system, 20);
    r = run(r, { kind: 'resume', input: {} }, operator, 50);
    expect(r).toMatchObject({ state: 'running', stepIndex: 3, stepStartedAt: at(50), analysis: null });
  });
});

describe('the rollout deploys its canary and scales it down', () => {
  const undeployed: RolloutPlan = { ...plan, canaryToDeploy: ['t2'] };
  test('a start on canary targets that do not run the canary release deploys it first: no step moves until it is deployed', () => {
    let r = run(created(), { kind: 'start', input: {}, plan: undeployed });
    expect(r.canaryDeployment).toMatchObject({ releaseId: r.canaryReleaseId, targetIds: ['t2'], status: 'pending', jobId: null });
    expect(() => run(r, { kind: 'promote', input: { full: true } })).toThrow(expect.objectContaining({ code: 'CANARY_DEPLOYING' }));
    expect(() => run(r, { kind: 'advance', input: {} })).toThrow(expect.objectContaining({ code: 'CANARY_DEPLOYING' }));
    r = run(r, { kind: 'deploying', which: 'canaryDeployment', jobId: 'j1' }, system);
    expect(r.canaryDeployment).toMatchObject({ status: 'deploying', jobId: 'j1' });
    expect(run(r, { kind: 'deployed', which: 'canaryDeployment', jobId: 'other', ok: true, reason: null }, system).canaryDeployment!.status).toBe('deploying');
    r = run(r, { kind: 'deployed', which: 'canaryDeployment', jobId: 'j1', ok: true, reason: null }, system, 9);
    expect(r).toMatchObject({ canaryDeployment: { status: 'deployed' }, stepStartedAt: at(9) });
    expect(r.history.map((h) => h.action)).toEqual(expect.arrayContaining(['rollout.deploy_canary', 'rollout.canary_deployed']));
    expect(run(created(), { kind: 'start', input: {}, plan }).canaryDeployment).toBeNull();
  });
  test('retried while it scales down: once the canary targets run stable, the canary release goes back on them before any step', () => {
    let r = run(run(created(), { kind: 'start', input: {}, plan }), { kind: 'rollback', input: { reason: 'bad' } });
    r = run(r, { kind: 'deploying', which: 'scaleDown', jobId: 'j2' }, system);
    r = run(r, { kind: 'retry', input: {}, plan });
    expect(r).toMatchObject({ state: 'running', canaryDeployment: null, scaleDown: { status: 'deploying' } });
    r = run(r, { kind: 'deployed', which: 'scaleDown', jobId: 'j2', ok: true, reason: null }, system);
    expect(r).toMatchObject({ scaleDown: { status: 'deployed' }, canaryDeployment: { targetIds: ['t2'], status: 'pending' } });
  });
  test('a rollback scales the canary targets down to stable; a failure is on record; a retry deploys the canary again', () => {
    let r = run(created(), { kind: 'start', input: {}, plan });
    r = run(r, { kind: 'rollback', input: { reason: 'bad' } });
    expect(r.scaleDown).toMatchObject({ releaseId: r.stableReleaseId, releaseName: 'myapp 2.3', targetIds: ['t2'], status: 'pending' });
    r = run(r, { kind: 'deploying', which: 'scaleDown', jobId: 'j2' }, system);
    r = run(r, { kind: 'deployed', which: 'scaleDown', jobId: 'j2', ok: false, reason: 'agent offline' }, system);
    expect(r).toMatchObject({ state: 'aborted', scaleDown: { status: 'failed', reason: 'deployment job j2 failed: agent offline' } });
    expect(r.history.at(-1)).toMatchObject({ action: 'rollout.scale_down_failed', by: 'tollgate' });
    // The stickers (the plan at retry) say where the canary release is missing.
    expect(run(r, { kind: 'retry', input: {}, plan }).canaryDeployment).toBeNull();
    expect(run(r, { kind: 'retry', input: {}, plan: { ...plan, canaryToDeploy: ['t2'] } }).canaryDeployment).toMatchObject({ targetIds: ['t2'], status: 'pending' });
    expect(run(created(), { kind: 'rollback', input: { reason: 'never started' } }).scaleDown).toBeNull();
  });
});

describe('backends', () => {
  const target = (name: string, extra: Partial<PlanTargetRow> = {}): PlanTargetRow => ({ id: name, name, labels: {}, properties: { port: '4001' }, releaseId: 'stable', ...extra });
  const input = (targets: PlanTargetRow[], withRouter = true) => ({
    environmentName: 'prod',
    agent: withRouter ? { id: 'a1', router: { provider: 'haproxy' as const, listen: ':8080' } } : undefined,
    targets,
    canaryReleaseId: 'canary',
    canaryReleaseName: 'myapp 2.4',
    stableVersion: '2.3',
    canaryVersion: '2.4',
  });
  test('track=canary (label or property) is canary, the rest stable; host defaults to 127.0.0.1', () => {
    const p = planOf(input([target('s1'), target('c1', { labels: { track: 'canary' }, releaseId: 'canary', properties: { port: '4002', host: '10.0.0.2' } })]));
    expect(p.stable).toEqual([{ name: 's1', targetId: 's1', host: '127.0.0.1', port: 4001 }]);
    expect(p.canary).toEqual([{ name: 'c1', targetId: 'c1', host: '10.0.0.2', port: 4002 }]);
  });
  test.each([
    ['NO_ROUTER', input([target('s1')], false)],
    ['NO_CANARY_TARGETS', input([target('s1')])],
    ['NO_STABLE_TARGETS', input([target('c1', { properties: { port: '1', track: 'canary' }, releaseId: 'canary' })])],
    ['TARGET_PORT_MISSING', input([target('s1', { properties: {} }), target('c1', { labels: { track: 'canary' }, releaseId: 'canary' })])],
  ])('%s', (code, i) => {
    expect(() => planOf(i)).toThrow(expect.objectContaining({ code }));
  });
  test('canary targets that do not run the canary release are for the rollout to deploy', () => {
    const p = planOf(input([target('s1'), target('c1', { labels: { track: 'canary' } }), target('c2', { properties: { port: '4003', track: 'canary' }, releaseId: 'canary' })]));
    expect(p.canaryToDeploy).toEqual(['c1']);
  });
  test('NO_ROUTER says how to start one', () => {
    expect(() => planOf(input([], false))).toThrow(/npm run agent -- --router haproxy --router-listen/);
  });
});

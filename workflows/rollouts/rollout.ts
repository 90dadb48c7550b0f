import * as wf from '@temporalio/workflow';
import { Mutex } from 'async-mutex';
import type { Activities } from '../../activities';
import { agentTaskQueue } from '../../domain/deployments/model';
import { DomainError } from '../../domain/errors';
import { analysisOutcome, judge } from '../../domain/rollouts/judge';
import { decide, type DeploymentKind, type RolloutCommand, type RolloutDecision } from '../../domain/rollouts/commands';
import type { AnalysisProgress, Rollout, RolloutPlan, RolloutVerdict } from '../../domain/rollouts/model';
import type { AgentTrafficActivities } from '../../domain/rollouts/ports';
import { prometheusQueries } from '../../domain/rollouts/promql';
import { prometheusSample, probeSample, routerSample, thresholdsOf } from '../../domain/rollouts/samples';
import { describeStep, type AnalysisSpec } from '../../domain/rollouts/steps';
import type { RouterStats, TrafficMatch, TrafficState } from '../../domain/traffic';
import { DEFAULT_DEPLOYMENT_SETTINGS } from '../../domain/deployments/strategy';
import { uiDetails } from '../../domain/ui-details';
import { workflowId } from '../../domain/workflow-ids';
import { deploymentTitle } from '../../domain/workflow-titles';
import type { deploymentJob } from '../deployments/deployment-job';
import { DEPLOYMENT_JOB_WORKFLOW_TYPE, searchAttributesOf as jobSearchAttributesOf } from '../deployments/messages';
import { Entity, ENTITY_ACTIVITY_OPTIONS, historyFull, showInUi, SYSTEM } from '../entity';
import { rethrowAsFailure } from '../failures';
import {
  advanceRollout,
  createRollout,
  getRollout,
  pauseRollout,
  promoteRollout,
  readRolloutTraffic,
  resumeRollout,
  retryRollout,
  rollbackRollout,
  searchAttributesOf,
  startRollout,
  type RolloutWorkflowInput,
  type RolloutWorkflowResult,
  type TrafficReading,
} from './messages';

const { persistRollout, measurePrometheus, setIntegrationTraffic, readIntegrationTraffic } = wf.proxyActivities<Activities>(ENTITY_ACTIVITY_OPTIONS);
const agent = wf.proxyActivities<AgentTrafficActivities>({ startToCloseTimeout: '15s', retry: { maximumAttempts: 2, initialInterval: '200ms' } });

/** How long an agent may take to pick up a traffic activity: past it the router's agent is offline, and the rollout says so. */
const DEFAULT_AGENT_PICKUP_MS = 5_000;
/** How often an aborted or failed rollout tries again to put traffic back on stable while the router's agent is away. */
const RESTORE_RETRY = '10s';

/**
 * One rollout of a canary release beside the stable one in an environment:
 * the steps walked in order (weights set on the environment's router through
 * its agent and read back, pauses, analyses judged at every measurement), a
 * rollback (by a person, a failed analysis or a missed progress deadline) that
 * puts traffic back on stable first, and completion at 100 % to the canary.
 * Every traffic change goes through one lock; an abort or cancellation runs
 * the undo (weight 0, no match) in a non-cancellable scope.
 */
export async function rollout(input: RolloutWorkflowInput): Promise<RolloutWorkflowResult> {
  const { tenantId, rolloutId } = input;
  const now = () => new Date(Date.now()).toISOString();
  const pickupMs = input.agentPickupTimeoutMs ?? DEFAULT_AGENT_PICKUP_MS;
  const trafficLock = new Mutex();
  /** Set while a rollback puts traffic back: no step may set a weight in between. */
  let aborting = false;

  const entity = new Entity<Rollout, RolloutCommand, RolloutDecision>({
    initial: input.carried,
    decide: (current, command, meta) => decide(current, command, { now: now(), actor: meta.actor }),
    async commit(decision, meta) {
      const r = decision.next;
      const measured = decision.events.some((e) => e.action === 'rollout.measure');
      await persistRollout.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Persist ${r.name} (record version ${r.version}): ${r.state}, step ${r.stepIndex + 1}, canary ${r.canaryWeight}%` }, [
        { tenantId, rollout: r, events: [...decision.events], actor: meta.actor, requestId: meta.requestId, measurement: measured ? r.lastVerdict : null },
      ]);
      return r;
    },
    publish,
  });
  const current = () => entity.current!;

  const agentOptions = (plan: RolloutPlan, summary: string): wf.ActivityOptions => ({
    taskQueue: agentTaskQueue(plan.routerAgentId!),
    scheduleToStartTimeout: pickupMs,
    startToCloseTimeout: '15s',
    retry: { maximumAttempts: 2, initialInterval: '200ms' },
    summary,
  });

  /**
   * A traffic-webhook integration's calls (on the orchestrator's queue; the
   * activity reads its URL and token). Each call is bounded by the
   * integration's timeoutMs (at most 60 s); a receiver down is tried three times.
   */
  const webhookOptions = (summary: string): wf.ActivityOptions => ({
    startToCloseTimeout: '70s',
    retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
    summary,
  });

  /** Asks the router for a split and answers what it read back; never cancelled half-way, so the rollout always knows what the router has. */
  function setTraffic(plan: Rollout['plan'] & object, r: Rollout, canaryWeight: number, match: TrafficMatch | null): Promise<TrafficState> {
    const spec = { routeId: r.environmentId, stable: plan.stable, canary: plan.canary, canaryWeight, match };
    const summary = `Router: ${canaryWeight}% to ${r.canaryReleaseName}${match ? ' + match' : ''}`;
    // A plan made with a traffic integration goes through it; no history before it has one, so theirs replay on the agent's path.
    const integration = plan.trafficIntegration;
    if (integration) {
      return wf.CancellationScope.nonCancellable(() =>
        setIntegrationTraffic.executeWithOptions(webhookOptions(`Traffic integration ${integration.name}: ${canaryWeight}% to ${r.canaryReleaseName}${match ? ' + match' : ''}`), [
          { tenantId, rolloutId, integrationId: integration.id, spec },
        ]),
      );
    }
    return wf.CancellationScope.nonCancellable(() => agent.setTraffic.executeWithOptions(agentOptions(plan, summary), [{ tenantId, rolloutId, spec }]));
  }

  /** The undo of every traffic change: all to stable, no match. */
  async function restoreStable(): Promise<TrafficState | null> {
    const r = current();
    if (!r.plan) return null;
    return trafficLock.runExclusive(() => setTraffic(r.plan!, r, 0, null));
  }

  /** A step's traffic change, unless the rollout moved on (or is being rolled back) meanwhile. */
  async function applyTraffic(stepIndex: number, canaryWeight: number, match: TrafficMatch | null): Promise<boolean> {
    const traffic = await trafficLock.runExclusive(async () => {
      const r = current();
      if (aborting || r.state !== 'running' || r.stepIndex !== stepIndex) return null;
      return setTraffic(r.plan!, r, canaryWeight, match);
    });
    if (!traffic) return false;
    await entity.execute({ kind: 'traffic', stepIndex, traffic, canaryWeight, activeMatch: match }, SYSTEM);
    return true;
  }

  /** Rolls back by itself: traffic to stable first (the goal is seconds from the failing measurement), then the record. */
  async function autoAbort(reason: string): Promise<void> {
    aborting = true;
    try {
      let traffic: TrafficState | null = null;
      try {
        traffic = await restoreStable();
      } catch (err) {
        reason = `${reason}; putting traffic back on stable failed (${messageOf(err)}), retried every ${RESTORE_RETRY}`;
      }
      await entity.execute({ kind: 'abort', reason, traffic }, SYSTEM);
    } finally {
      aborting = false;
    }
  }

  wf.setHandler(createRollout, ({ input: body, names }, meta) => entity.execute({ kind: 'create', id: rolloutId, input: body, names }, meta), {
    validator: (_args, _meta) =>
      rethrowAsFailure(() => {
        if (entity.current) throw new DomainError('invalid_state', 'ROLLOUT_EXISTS', `Rollout ${rolloutId} was already created`);
      }),
    description: 'Create the rollout (update-with-start); it waits for start',
  });
  entity.bind(startRollout, ({ input: body, plan }, meta) => [{ kind: 'start', input: body, plan }, meta], 'Start walking the steps on the router resolved at the request');
  entity.bind(advanceRollout, (body, meta) => [{ kind: 'advance', input: body }, meta], 'Go past the current step (a pause until advance, an inconclusive analysis)');
  entity.bind(promoteRollout, (body, meta) => [{ kind: 'promote', input: body }, meta], 'The next step, or with full: 100% to the canary at once');
  entity.bind(pauseRollout, (body, meta) => [{ kind: 'pause', input: body }, meta], 'Hold at the current weights until resume');
  entity.bind(resumeRollout, (body, meta) => [{ kind: 'resume', input: body }, meta], 'Go on from a pause');
  entity.bind(retryRollout, ({ input: body, plan }, meta) => [{ kind: 'retry', input: body, plan }, meta], 'Run an aborted or failed rollout again from its first step');
  wf.setHandler(
    rollbackRollout,
    async (body, meta) => {
      aborting = true;
      try {
        let traffic: TrafficState | null = null;
        try {
          traffic = await restoreStable();
        } catch {
          // Recorded aborted all the same; the loop keeps putting traffic back until the router's agent answers.
        }
        const aborted = await entity.execute({ kind: 'rollback', input: body }, meta);
        return traffic ? entity.execute({ kind: 'restored', traffic }, SYSTEM) : aborted;
      } finally {
        aborting = false;
      }
    },
    { validator: (body, meta) => entity.validate({ kind: 'rollback', input: body }, meta), description: 'Traffic back to stable at once, then the rollout is aborted (retry runs it again)' },
  );
  wf.setHandler(
    readRolloutTraffic,
    async (): Promise<TrafficReading> => {
      const r = entity.current;
      if (!r?.plan) return { traffic: r?.traffic ?? null, live: false, note: 'The rollout has not started: no traffic was set' };
      const integration = r.plan.trafficIntegration;
      if (integration) {
        try {
          const traffic = await readIntegrationTraffic.executeWithOptions(webhookOptions(`Read traffic integration ${integration.name} back`), [
            { tenantId, rolloutId, integrationId: integration.id, routeId: r.environmentId },
          ]);
          return { traffic, live: true, note: null };
        } catch (err) {
          return { traffic: r.traffic, live: false, note: `Traffic integration ${integration.name} did not answer (${messageOf(err)}); this is the last read-back, at ${r.traffic?.readAt ?? 'never'}` };
        }
      }
      try {
        const traffic = await agent.readTraffic.executeWithOptions(agentOptions(r.plan, 'Read the router back'), [{ tenantId, rolloutId, routeId: r.environmentId }]);
        return { traffic, live: true, note: null };
      } catch (err) {
        return { traffic: r.traffic, live: false, note: `The router's agent ${r.plan.routerAgentId} did not answer (${messageOf(err)}); this is the last read-back, at ${r.traffic?.readAt ?? 'never'}` };
      }
    },
    { description: 'Read the weights the router has now, through its agent' },
  );
  wf.setHandler(getRollout, () => entity.current ?? null);

  if (!(await entity.created())) return { id: rolloutId, state: 'never_created' };

  try {
    for (;;) {
      const r = current();
      if (r.state === 'completed') break;
      if (historyFull(input.maxHistoryEvents)) {
        await wf.condition(wf.allHandlersFinished);
        return wf.continueAsNew<typeof rollout>({ ...input, carried: entity.current });
      }
      const version = r.version;
      const moved = () => current().version !== version;
      if ((r.state === 'running' || r.state === 'paused') && r.canaryDeployment?.status === 'pending') {
        await deployToCanaryTargets('canaryDeployment');
      } else if (r.state === 'running') {
        await runStep(r);
      } else if ((r.state === 'aborted' || r.state === 'failed') && r.plan && (r.canaryWeight !== 0 || r.activeMatch !== null || r.traffic === null)) {
        const traffic = await restoreStable().catch(() => null);
        if (traffic) await entity.execute({ kind: 'restored', traffic }, SYSTEM);
        else await wf.condition(moved, RESTORE_RETRY, { summary: 'retry putting traffic back on stable' });
      } else if (r.state === 'aborted' && r.scaleDown?.status === 'pending') {
        await deployToCanaryTargets('scaleDown');
      } else {
        await wf.condition(() => moved() || historyFull(input.maxHistoryEvents));
      }
    }
  } catch (err) {
    if (!wf.isCancellation(err)) throw err;
    // Cancelled: the undo runs whatever happens to the run, then the record says why.
    await wf.CancellationScope.nonCancellable(async () => {
      aborting = true;
      const traffic = await restoreStable().catch(() => null);
      await entity.execute({ kind: 'abort', reason: 'the rollout workflow was cancelled; traffic put back on stable', traffic }, SYSTEM);
    });
    throw err;
  }
  await wf.condition(wf.allHandlersFinished);
  return { id: rolloutId, state: current().state };

  /**
   * A deployment job (the deployments module's own workflow, as a child) of
   * the canary targets: the canary release before any traffic moves, or the
   * stable release again once traffic is back on stable (scale-down). A
   * rollback cancels a canary deployment still running; a failed one fails
   * the rollout with traffic untouched. A failed scale-down is reported on
   * the rollout and leaves traffic on stable.
   */
  async function deployToCanaryTargets(which: DeploymentKind): Promise<void> {
    const r = current();
    const d = r[which]!;
    const jobId = wf.uuid4();
    await entity.execute({ kind: 'deploying', which, jobId }, SYSTEM);
    const scope = new wf.CancellationScope();
    let done = false;
    if (which === 'canaryDeployment') {
      void wf.condition(() => done || current().state === 'aborted' || current().state === 'failed').then(() => {
        if (!done) scope.cancel();
      });
    }
    const purpose = which === 'scaleDown' ? `scale-down of rollout ${r.id}` : `canary of rollout ${r.id}`;
    let ok = false;
    let reason: string | null = null;
    try {
      const result = await scope.run(() =>
        wf.executeChild<typeof deploymentJob>(DEPLOYMENT_JOB_WORKFLOW_TYPE, {
          workflowId: workflowId(tenantId, 'deployment', jobId),
          args: [
            {
              tenantId,
              jobId,
              kind: 'rollout',
              environmentId: r.environmentId,
              releaseId: d.releaseId,
              labelSelector: {},
              targetIds: d.targetIds,
              requestedBy: r.createdBy,
              reason: `${purpose} (${r.name})`,
              settings: input.deploymentSettings ?? DEFAULT_DEPLOYMENT_SETTINGS,
            },
          ],
          // The job holds the environment's deployment slot: if the rollout goes away, the job is cancelled and gives it back.
          parentClosePolicy: wf.ParentClosePolicy.REQUEST_CANCEL,
          typedSearchAttributes: jobSearchAttributesOf(
            tenantId,
            jobId,
            { status: 'queued', environmentName: r.environmentName, releaseName: d.releaseName },
            deploymentTitle({ kind: 'rollout', releaseName: d.releaseName, environmentName: r.environmentName, targetCount: d.targetIds.length }),
          ),
          staticSummary: `${d.releaseName} → canary targets of ${r.environmentName}`,
          staticDetails: `Deployment job of the ${purpose}`,
        }),
      );
      ok = result.status === 'deployed';
      reason = ok ? null : `the job ended ${result.status}${result.statusReason ? `: ${result.statusReason}` : ''}`;
    } catch (err) {
      if (wf.isCancellation(err) && scope.consideredCancelled) reason = 'cancelled: the rollout was rolled back';
      else if (err instanceof wf.ChildWorkflowFailure) reason = err.cause?.message ?? err.message;
      else throw err;
    } finally {
      done = true;
    }
    await entity.execute({ kind: 'deployed', which, jobId, ok, reason }, SYSTEM);
    const after = current();
    if (which === 'canaryDeployment' && !ok && (after.state === 'running' || after.state === 'paused')) {
      await entity.execute({ kind: 'fail', reason: `deploying ${d.releaseName} to the canary targets failed (deployment job ${jobId}: ${reason}); no traffic was moved` }, SYSTEM);
    }
  }

  /** Runs the current step once; a person's command, a pause or the progress deadline interrupts it. */
  async function runStep(r: Rollout): Promise<void> {
    const i = r.stepIndex;
    const step = r.steps[i];
    if (!step) {
      // Past the last step (or promote --full): the canary takes all traffic and the match is done with.
      try {
        const traffic = await trafficLock.runExclusive(() => (aborting ? null : setTraffic(r.plan!, r, 100, null)));
        if (traffic && current().state === 'running' && current().stepIndex === i) await entity.execute({ kind: 'complete', traffic }, SYSTEM);
      } catch (err) {
        await failOnRouter(err, 'sending 100% to the canary');
      }
      return;
    }
    const indefinite = 'pause' in step && step.pause.durationMs === null;
    if (indefinite) {
      await entity.execute({ kind: 'hold', stepIndex: i, reason: `step ${i + 1}: pause until advance` }, SYSTEM);
      return;
    }
    const budget = r.progressDeadlineMs + ('analysis' in step ? step.analysis.windowMs : 0) + ('pause' in step ? (step.pause.durationMs ?? 0) : 0);
    const elapsed = r.stepStartedAt ? Date.now() - Date.parse(r.stepStartedAt) : 0;
    let expired = false;
    let finished = false;
    const interrupted = () => expired || current().state !== 'running' || current().stepIndex !== i;
    // The deadline cancels what the step waits on (a measurement that hangs); traffic changes are never cut half-way.
    const work = new wf.CancellationScope();
    const deadline = wf
      .condition(() => finished || current().state !== 'running' || current().stepIndex !== i, Math.max(1, budget - elapsed), { summary: `progress deadline of step ${i + 1}` })
      .then(
        (settled) => {
          expired = !settled;
          if (expired) work.cancel();
        },
        // A Cancel of the workflow cancels this timer too; the step's work rethrows it, and an unhandled rejection here would fail every workflow task, leaving the canary its traffic.
        (err) => {
          if (!wf.isCancellation(err)) throw err;
        },
      );
    try {
      await work.run(async () => {
        if ('setWeight' in step) await applyTraffic(i, step.setWeight, r.strategy === 'abTest' ? r.match : r.activeMatch);
        else if ('setMatch' in step) await applyTraffic(i, r.canaryWeight, step.setMatch);
        // What is left of it: a person's pause moved stepStartedAt by the time it held.
        else if ('pause' in step) await wf.condition(interrupted, Math.max(1, step.pause.durationMs! - elapsed), { summary: `step ${i + 1}: ${describeStep(step)}` });
        else await runAnalysis(i, step.analysis, interrupted);
      });
    } catch (err) {
      if (wf.isCancellation(err) && !expired) throw err;
      if (!expired) {
        await failOnRouter(err, describeStep(step));
        return;
      }
    } finally {
      finished = true;
    }
    await deadline;
    if (expired && current().state === 'running' && current().stepIndex === i) {
      await autoAbort(`step ${i + 1} (${describeStep(step)}) made no progress within its deadline of ${Math.round(budget / 1000)}s`);
      return;
    }
    const after = current();
    // A step whose work is done moves on; a timed pause that ran out too. An analysis moves on by itself.
    if (!('analysis' in step) && after.state === 'running' && after.stepIndex === i && !expired) await entity.execute({ kind: 'stepDone', stepIndex: i }, SYSTEM);
  }

  /** The router (or its agent) failed a traffic change: the rollout fails, and traffic goes back to stable as soon as the agent answers. */
  async function failOnRouter(err: unknown, what: string): Promise<void> {
    const r = current();
    const where = r.plan?.trafficIntegration ? `through traffic integration ${r.plan.trafficIntegration.name}` : `on the router of agent ${r.plan?.routerAgentId ?? 'unknown'}`;
    await entity.execute({ kind: 'fail', reason: `${what} failed ${where}: ${messageOf(err)}` }, SYSTEM);
  }

  /** Measures every interval and judges each measurement at once: the failure limit rolls back, a window with no conclusive pass pauses. */
  async function runAnalysis(i: number, spec: AnalysisSpec, interrupted: () => boolean): Promise<void> {
    const r = current();
    const plan = r.plan!;
    const resumed = r.analysis?.stepIndex === i ? r.analysis : null;
    let progress: AnalysisProgress = resumed ?? { stepIndex: i, startedAt: now(), measurements: 0, failures: 0, inconclusive: 0, passes: 0 };
    const startedAt = Date.parse(progress.startedAt);
    let previous: RouterStats | null = spec.provider === 'router' ? await routerStats(plan) : null;
    const thresholds = thresholdsOf(spec);
    for (;;) {
      if (await wf.condition(interrupted, spec.intervalMs, { summary: `step ${i + 1}: measure ${spec.metric} (${spec.provider})` })) return;
      let sample;
      let measuredBy: RolloutVerdict['integration'] = null;
      if (spec.provider === 'router') {
        const stats = await routerStats(plan);
        sample = routerSample(previous!, stats);
        previous = stats;
      } else if (spec.provider === 'http') {
        const urls = [
          ...plan.stable.map((b) => ({ variant: 'stable' as const, url: `http://${b.host}:${b.port}${spec.path}` })),
          ...plan.canary.map((b) => ({ variant: 'canary' as const, url: `http://${b.host}:${b.port}${spec.path}` })),
        ];
        sample = probeSample(await agent.probeHttp.executeWithOptions(agentOptions(plan, `Probe ${spec.path} on ${urls.length} backends`), [{ tenantId, rolloutId, urls, count: spec.probeCount, timeoutMs: 2000 }]));
      } else {
        const queries = prometheusQueries(spec, plan.stableVersion, plan.canaryVersion);
        // The integration's id (and the tenant it belongs to) only: the activity reads its URL and token.
        const values = await measurePrometheus.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, startToCloseTimeout: '10s', retry: { maximumAttempts: 2 }, summary: `PromQL ${spec.metric}` }, [
          queries.integrationId ? { ...queries, tenantId } : queries,
        ]);
        sample = prometheusSample(values);
        measuredBy = values.integration ?? null;
      }
      if (interrupted()) return;
      const judgement = judge(sample, thresholds);
      progress = {
        ...progress,
        measurements: progress.measurements + 1,
        failures: progress.failures + (judgement.verdict === 'fail' ? 1 : 0),
        passes: progress.passes + (judgement.verdict === 'pass' ? 1 : 0),
        inconclusive: progress.inconclusive + (judgement.verdict === 'inconclusive' ? 1 : 0),
      };
      const verdict: RolloutVerdict = { ...judgement, stepIndex: i, at: now(), metric: spec.metric, provider: spec.provider, sample, thresholds, ...(measuredBy ? { integration: measuredBy } : {}) };
      const outcome = analysisOutcome(progress, spec.failureLimit, Date.now() - startedAt >= spec.windowMs);
      if (outcome === 'failed') {
        aborting = true;
        try {
          const traffic = await restoreStable().catch(() => null);
          await entity.execute({ kind: 'measured', stepIndex: i, verdict, analysis: progress }, SYSTEM);
          const reason = `analysis of step ${i + 1} failed ${progress.failures} time(s): ${judgement.reason}`;
          if (traffic) await entity.execute({ kind: 'abort', reason, traffic }, SYSTEM);
          else {
            aborting = false;
            await autoAbort(reason);
          }
        } finally {
          aborting = false;
        }
        return;
      }
      await entity.execute({ kind: 'measured', stepIndex: i, verdict, analysis: progress }, SYSTEM);
      if (outcome === 'passed') {
        await entity.execute({ kind: 'stepDone', stepIndex: i }, SYSTEM);
        return;
      }
      if (outcome === 'inconclusive') {
        await entity.execute({ kind: 'hold', stepIndex: i, reason: `analysis of step ${i + 1} inconclusive over its window (${judgement.reason}): advance to go on, resume to measure again, or roll back` }, SYSTEM);
        return;
      }
      if (historyFull(input.maxHistoryEvents)) return;
    }
  }

  function routerStats(plan: RolloutPlan): Promise<RouterStats> {
    return agent.routerStats.executeWithOptions(agentOptions(plan, 'Read the router’s counters'), [{ tenantId, rolloutId, routeId: current().environmentId }]);
  }

  function publish(r: Rollout): void {
    showInUi(searchAttributesOf(tenantId, r), details(r));
  }

  function details(r: Rollout): string {
    const step = r.steps[r.stepIndex];
    const deploying = r.canaryDeployment?.status === 'pending' || r.canaryDeployment?.status === 'deploying';
    const waits =
      r.state === 'created' ? 'start' : deploying && (r.state === 'running' || r.state === 'paused') ? `deploying canary (job ${r.canaryDeployment!.jobId ?? 'starting'})` : r.state === 'paused' ? (r.pausedReason ?? 'resume') : r.state === 'running' ? `step ${r.stepIndex + 1}: ${describeStep(step)}` : r.state === 'aborted' || r.state === 'failed' ? 'retry' : null;
    const match = r.activeMatch ? ` + ${'header' in r.activeMatch ? `header ${r.activeMatch.header.name}` : `cookie ${r.activeMatch.cookie.name}`} to canary` : '';
    const v = r.lastVerdict;
    return uiDetails({
      state: `**${r.name}** (${r.strategy}) · **${r.state}**`,
      missing: waits,
      deadline: null,
      more: [
        `Step ${Math.min(r.stepIndex + 1, r.steps.length)}/${r.steps.length}: ${describeStep(step)}`,
        `Weights: stable ${100 - r.canaryWeight}% · canary ${r.canaryWeight}%${match}${r.traffic ? ` (router read back ${r.traffic.canaryWeight}% at ${r.traffic.readAt})` : ''}`,
        r.plan?.trafficIntegration && `Traffic through integration ${r.plan.trafficIntegration.name}`,
        v && `Last verdict: **${v.verdict}** — ${v.reason}${v.score === null ? '' : ` (score ${v.score})`}`,
        r.abortReason && `Reason: ${r.abortReason}`,
        r.canaryDeployment && `Canary deployment: ${r.canaryDeployment.status}${r.canaryDeployment.jobId ? ` (job ${r.canaryDeployment.jobId})` : ''}`,
        r.scaleDown && `Scale-down: ${r.scaleDown.status}${r.scaleDown.jobId ? ` (job ${r.scaleDown.jobId})` : ''}${r.scaleDown.status === 'failed' ? ` — ${r.scaleDown.reason}` : ''}`,
      ],
    });
  }
}

function messageOf(err: unknown): string {
  if (err instanceof wf.ActivityFailure) return err.cause?.message ?? err.message;
  return err instanceof Error ? err.message : String(err);
}

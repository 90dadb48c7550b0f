import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { decide, type PromotionCommand, type PromotionDecision } from '../../domain/promotions/commands';
import { clearDeployment } from '../../domain/promotions/clearance';
import { promotionOutcomeOf, type DeploymentOutcome } from '../../domain/promotions/deployment-outcome';
import type { Promotion } from '../../domain/promotions/model';
import { isFinished, UNDECIDED } from '../../domain/promotions/state-machine';
import { DEFAULT_DEPLOYMENT_SETTINGS } from '../../domain/deployments/strategy';
import { DomainError } from '../../domain/errors';
import { workflowId } from '../../domain/workflow-ids';
import { Entity, ENTITY_ACTIVITY_OPTIONS, historyFull, showInUi, SYSTEM } from '../entity';
import type { deploymentJob } from '../deployments/deployment-job';
import { DEPLOYMENT_JOB_WORKFLOW_TYPE, searchAttributesOf as jobSearchAttributesOf, type DeploymentJobWorkflowResult } from '../deployments/messages';
import { evidenceDecisionOf } from '../../domain/promotions/evidence-decision';
import { uiDetails } from '../../domain/ui-details';
import { deploymentTitle } from '../../domain/workflow-titles';
import { rethrowAsFailure } from '../failures';
import {
  approvePromotion,
  cancelPromotion,
  createPromotion,
  getPromotion,
  promotionInputsChanged,
  rejectPromotion,
  searchAttributesOf,
  type PromotionWorkflowInput,
  type PromotionWorkflowResult,
} from './messages';

const { loadPromotionInputs, persistPromotion } = wf.proxyActivities<Activities>(ENTITY_ACTIVITY_OPTIONS);

/** Patch marker: an approved promotion whose bound inputs moved goes back to awaiting_approval instead of deploying. */
const REBIND_BEFORE_DEPLOY = 'promotion-rebind-before-deploy';
/** Patch marker: approvals count by person (a shared user id or email), not by user id. */
const ONE_PERSON_ONE_VOTE = 'promotion-one-person-one-vote';

/**
 * One promotion of a release to an environment: gates at request, approvals
 * counted by distinct person and bound to what they approved, a durable expiry,
 * a freeze that holds an approved promotion until it ends, then the deployment
 * (a deploymentJob child: the promotion ends deployed, rolled_back, failed or
 * cancelled with it) and a signed evidence packet for every decision.
 */
export async function promotion(input: PromotionWorkflowInput): Promise<PromotionWorkflowResult> {
  const { tenantId, promotionId } = input;
  const now = () => new Date(Date.now()).toISOString();
  // Decided once per run: a run from before the rule replays (and goes on) counting by user id, as its history did.
  const voterRule = wf.patched(ONE_PERSON_ONE_VOTE) ? 'person' : 'user-id';
  let stale = false;
  /** The deployment job of the `deploying` phase, shown in the UI while it runs. */
  let deploymentJobId: string | null = null;

  const entity = new Entity<Promotion, PromotionCommand, PromotionDecision>({
    initial: input.carried,
    decide: (current, command, meta) => decide(current, command, { now: now(), actor: meta.actor, settings: input.settings, voterRule }),
    async commit(decision, meta) {
      const p = decision.next;
      const label = `${p.releaseName} → ${p.targetEnvironmentName} (record version ${p.version})`;
      const decided = decision.events.some((e) => 'status' in e.after);
      // The activity signs a packet only for a decision (approved, rejected, an ending), never for awaiting or held.
      const evidence = decided ? evidenceDecisionOf(p) : undefined;
      await persistPromotion.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Persist ${label}: ${p.status}${evidence ? `, signed ${evidence} evidence` : ''}` }, [
        { tenantId, promotion: p, events: [...decision.events], actor: meta.actor, requestId: meta.requestId, decided },
      ]);
      return p;
    },
    publish,
  });

  const inputsFor = (p: { releaseId: string; targetEnvironmentId: string; changeId?: string | null }) =>
    loadPromotionInputs.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: 'Gather gate inputs' }, [
      { tenantId, releaseId: p.releaseId, targetEnvironmentId: p.targetEnvironmentId, changeId: p.changeId ?? null, now: now() },
    ]);

  wf.setHandler(
    createPromotion,
    (body, meta) => entity.execute(async () => ({ kind: 'create', id: promotionId, input: body, gateInputs: await inputsFor(body) }), meta),
    {
      validator: (_body, _meta) =>
        rethrowAsFailure(() => {
          if (entity.current) throw new DomainError('invalid_state', 'PROMOTION_EXISTS', `Promotion ${promotionId} was already created`);
        }),
      description: 'Create the promotion (update-with-start): gates evaluated, blocking failures refused',
    },
  );
  // The approval is bound to inputs loaded now, so a missed inputsChanged signal cannot let it approve stale ones.
  entity.bind(approvePromotion, (body, meta) => [{ kind: 'approve', input: body }, meta], 'An approval; the last one needed approves the promotion', {
    prepare: async (command) => (command.kind === 'approve' && entity.current ? { ...command, gateInputs: await inputsFor(entity.current) } : command),
  });
  entity.bind(rejectPromotion, (body, meta) => [{ kind: 'reject', input: body }, meta], 'A rejection ends the promotion');
  entity.bind(cancelPromotion, (body, meta) => [{ kind: 'cancel', input: body }, meta], 'Cancel a pending, awaiting or held promotion');
  wf.setHandler(promotionInputsChanged, () => {
    stale = true;
  });
  wf.setHandler(getPromotion, () => entity.current ?? null);

  if (!(await entity.created())) return { id: promotionId, status: 'never_created' };

  for (;;) {
    const p = entity.current!;
    if (isFinished(p.status)) break;
    if (historyFull(input.maxHistoryEvents)) {
      await wf.condition(wf.allHandlersFinished);
      return wf.continueAsNew<typeof promotion>({ ...input, carried: entity.current });
    }
    const moved = () => entity.current!.version !== p.version || stale || historyFull(input.maxHistoryEvents);

    if (p.status === 'pending') {
      await entity.execute({ kind: 'open' }, SYSTEM);
    } else if (UNDECIDED.includes(p.status)) {
      if (stale) {
        stale = false;
        await entity.execute(async () => ({ kind: 'reevaluate', gateInputs: await inputsFor(p) }), SYSTEM);
        continue;
      }
      const wait = p.expiresAt ? Date.parse(p.expiresAt) - Date.now() : undefined;
      if (wait === undefined) await wf.condition(moved);
      else if (wait <= 0 || !(await wf.condition(moved, wait, { summary: 'approval expires' }))) await entity.execute({ kind: 'expire' }, SYSTEM);
    } else if (p.status === 'approved') {
      stale = false;
      const fresh = await inputsFor(p);
      // The one check every deploying path runs (domain/promotions/clearance.ts), on inputs loaded now.
      let clearance = clearDeployment(fresh, { kind: 'promotion', promotion: p }, now());
      if (clearance.outcome === 'rebind') {
        // A hook, scan or digest moved since the approval: approvals are given again. Histories from before keep their path.
        if (wf.patched(REBIND_BEFORE_DEPLOY)) {
          await entity.execute({ kind: 'rebind', gateInputs: fresh }, SYSTEM);
          continue;
        }
        clearance = clearDeployment(fresh, { kind: 'promotion', promotion: p, ignoreBindings: true }, now());
      }
      if (clearance.outcome === 'hold') {
        const until = clearance.until;
        await entity.execute({ kind: 'hold', until }, SYSTEM);
        // An edit of the environment's freeze windows (inputsChanged) looks again at once: a freeze lifted early releases it.
        await wf.condition(() => entity.current!.status !== 'approved' || stale, Math.max(1000, Date.parse(until) - Date.now()), { summary: 'freeze ends' });
        continue;
      }
      if (clearance.outcome === 'refuse') {
        await entity.execute({ kind: 'finish', outcome: 'failed', message: clearance.error.message }, SYSTEM);
        continue;
      }
      await entity.execute({ kind: 'deploy' }, SYSTEM);
    } else if (p.status === 'deploying') {
      const outcome = await deploy(p);
      await entity.execute({ kind: 'finish', ...outcome }, SYSTEM);
    }
  }
  await wf.condition(wf.allHandlersFinished);
  return { id: promotionId, status: entity.current!.status };

  /** Runs the deployment as a child job and says how the promotion ends with it. */
  async function deploy(p: Promotion): Promise<{ outcome: DeploymentOutcome; message?: string | null }> {
    const jobId = wf.uuid4();
    deploymentJobId = jobId;
    publish(p);
    let result: DeploymentJobWorkflowResult;
    try {
      result = await wf.executeChild<typeof deploymentJob>(DEPLOYMENT_JOB_WORKFLOW_TYPE, {
        workflowId: workflowId(tenantId, 'deployment', jobId),
        args: [
          {
            tenantId,
            jobId,
            kind: 'promotion',
            environmentId: p.targetEnvironmentId,
            releaseId: p.releaseId,
            promotionId: p.id,
            requestedBy: p.requestedBy,
            settings: input.settings?.deployment ?? DEFAULT_DEPLOYMENT_SETTINGS,
          },
        ],
        // The job owns the environment's deployment slot: if the promotion goes away, the job is cancelled and gives it back.
        parentClosePolicy: wf.ParentClosePolicy.REQUEST_CANCEL,
        typedSearchAttributes: jobSearchAttributesOf(
          tenantId,
          jobId,
          { status: 'queued', environmentName: p.targetEnvironmentName, releaseName: p.releaseName },
          deploymentTitle({ kind: 'promotion', releaseName: p.releaseName, environmentName: p.targetEnvironmentName }),
        ),
        staticSummary: `${p.releaseName} → ${p.targetEnvironmentName}`,
        staticDetails: `Deployment job of promotion ${p.id}`,
      });
    } catch (err) {
      if (!(err instanceof wf.ChildWorkflowFailure)) throw err;
      return { outcome: 'failed', message: `deployment job ${jobId} failed: ${err.cause?.message ?? err.message}` };
    }
    return promotionOutcomeOf(result);
  }

  function publish(p: Promotion): void {
    showInUi(searchAttributesOf(tenantId, p), details(p));
  }

  function details(p: Promotion): string {
    const failing = p.gates.filter((g) => !g.passed);
    const waits: string[] = [];
    if (UNDECIDED.includes(p.status)) {
      const voters = p.approvals.filter((a) => a.decision === 'approved' && !a.invalidated).map((a) => a.approverEmail ?? a.approverId);
      const short = p.requiredApprovals - p.approvalCount;
      if (short > 0) waits.push(`${short} more approval${short === 1 ? '' : 's'} (${p.approvalCount}/${p.requiredApprovals}${voters.length ? `: ${voters.join(', ')}` : ''})`);
      // The approval gate fails exactly while approvals are short, which the line above already says.
      const others = failing.filter((g) => g.gateName !== 'approval-gate');
      if (others.length) waits.push(`gates to pass: ${others.map((g) => `${g.gateName} (${g.message})`).join('; ')}`);
    }
    if (p.heldUntil) waits.push('the freeze to end');
    if (p.status === 'deploying') waits.push(deploymentJobId ? `deployment job ${deploymentJobId}` : 'its deployment job');
    const deadline = p.heldUntil ? `freeze ends at ${p.heldUntil}` : p.expiresAt && UNDECIDED.includes(p.status) ? `approval expires at ${p.expiresAt}` : null;
    return uiDetails({
      state: `**${p.releaseName} → ${p.targetEnvironmentName}** · **${p.status}**`,
      missing: waits.length ? waits.join('; ') : null,
      deadline,
      more: [p.statusReason && `Reason: ${p.statusReason}`, !UNDECIDED.includes(p.status) && failing.length > 0 && `Gates not passed: ${failing.map((g) => g.gateName).join(', ')}`],
    });
  }
}

import * as wf from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { CommandMeta } from '../../domain/actor';
import { DomainError } from '../../domain/errors';
import { celCondition } from '../../domain/cel';
import type { NodePhase, RunStatus, TemplateNode, WorkflowRun } from '../../domain/templates/model';
import { checkRunCommand, nodeAwaitingDecision, type RunCommandKind } from '../../domain/templates/run-commands';
import { checkStepDecider, stepApprovalOf, type ApprovalStepInputs } from '../../domain/templates/step-approvals';
import { uiDetails } from '../../domain/ui-details';
import { ENTITY_ACTIVITY_OPTIONS, historyFull, showInUi } from '../entity';
import { rethrowAsFailure } from '../failures';
import { cancelRun, decideStep, getRun, pauseRun, resumeRun, searchAttributesOf, type ItemProgress, type RunCommandBody, type TemplateRunInput, type TemplateRunResult } from './messages';
import { ALL_SKIPPED, HANDOVER, runNodeSteps, type Engine } from './node-runner';
import { failureOf, initialRun, now, RunState, templateNodes } from './run-state';
import { isNodeFinished, readiness, stepsScope } from './scheduling';

const { persistWorkflowRun } = wf.proxyActivities<Activities>(ENTITY_ACTIVITY_OPTIONS);

/**
 * One run of a workflow template: the template's DAG interpreted durably.
 * Nodes start once their dependencies are finished (in the template's
 * order), `when` skips, a failure stops scheduling and fails the run once the
 * running nodes end; pause holds new nodes back, cancel cancels the running
 * ones; then `onCancel` (after a cancel) and `finally` nodes run where nobody
 * can cancel them. The run's row follows every change (coalesced: one write
 * at a time, of the newest version). Continues as new when the history grows
 * long, between nodes: activities finish first, waits and approvals are
 * carried as they stand.
 */
export async function templateRun(input: TemplateRunInput): Promise<TemplateRunResult> {
  const { tenantId } = input;
  const nodes = templateNodes(input.spec);
  const specOf = new Map(nodes.map(({ node }) => [node.id, node]));
  const state = new RunState(input.carried ?? initialRun(input), publish);
  let persisted = input.carried?.version ?? 0;
  let closing = false;
  let handingOver = false;
  /** Every running node's scope: a cancel cancels them (the cleanup nodes' scopes are not cancellable). */
  const nodeScopes = new Map<string, wf.CancellationScope>();
  const engine: Engine = {
    input,
    state,
    handingOver: () => handingOver,
    paused: () => state.run.status === 'paused',
    items: structuredCloneItems(input.carriedItems),
    approvalInputs: new Map<string, ApprovalStepInputs>(),
  };
  const requester: CommandMeta = { actor: { userId: input.requestedBy, email: input.requestedByEmail, permissions: [] } };

  if (!input.carried) state.commit({}, [{ action: 'template-run.start', before: null, after: { status: 'running', templateVersion: input.templateVersion } }], requester);
  else publish(state.run);
  const persisting = wf.CancellationScope.nonCancellable(persistLoop);

  const settled = async (): Promise<WorkflowRun> => {
    const version = state.run.version;
    await wf.condition(() => persisted >= version);
    return state.run;
  };
  const guarded = <T>(check: () => T): T => rethrowAsFailure(check);

  const bindCommand = (definition: typeof pauseRun, kind: RunCommandKind, apply: (body: RunCommandBody, meta: CommandMeta) => void, description: string) =>
    wf.setHandler(
      definition,
      (body, meta) => {
        guarded(() => checkRunCommand(state.run, kind));
        apply(body, meta);
        return settled();
      },
      { validator: (_body, _meta) => guarded(() => checkRunCommand(state.run, kind)), description },
    );
  const moveTo = (status: 'paused' | 'running', action: string) => (body: RunCommandBody, meta: CommandMeta) =>
    state.commit({ status }, [{ action, before: { status: state.run.status }, after: { status, reason: body.reason ?? null } }], meta);
  bindCommand(pauseRun, 'pause', moveTo('paused', 'template-run.pause'), 'Stop starting nodes; running ones finish');
  bindCommand(resumeRun, 'resume', moveTo('running', 'template-run.resume'), 'Start nodes again after a pause');
  bindCommand(cancelRun, 'cancel', (body, meta) => requestCancel(meta, body.reason), 'Cancel the running nodes, then run the onCancel and finally nodes');
  wf.setHandler(
    decideStep,
    (body, meta) => {
      const node = guarded(() => checkDecision(body.nodeId, meta));
      const approval = stepApprovalOf(meta.actor, body.decision, now(), body.comment);
      state.updateNode(body.nodeId, { approvals: [...(node.approvals ?? []), approval] }, meta);
      state.commit({}, [{ action: `template-run.step.${body.decision === 'approved' ? 'approve' : 'reject'}`, before: null, after: { nodeId: body.nodeId, ...approval } }], meta);
      return settled();
    },
    { validator: (body, meta) => void guarded(() => checkDecision(body.nodeId, meta)), description: "An approver's decision on an approval step" },
  );
  wf.setHandler(getRun, () => state.run);

  function checkDecision(nodeId: string, meta: CommandMeta) {
    const node = nodeAwaitingDecision(state.run, nodeId);
    const inputs = engine.approvalInputs.get(nodeId);
    if (!inputs) throw new DomainError('invalid_state', 'STEP_NOT_AWAITING_DECISION', `Step ${nodeId} is not waiting for a decision yet`, { nodeId });
    checkStepDecider(state.run, node, inputs, meta.actor);
    return node;
  }

  function requestCancel(meta: CommandMeta, reason?: string): void {
    if (state.run.status === 'cancelling') return;
    state.commit({ status: 'cancelling' }, [{ action: 'template-run.cancel', before: { status: state.run.status }, after: { status: 'cancelling', reason: reason ?? null } }], meta);
    for (const scope of nodeScopes.values()) scope.cancel();
  }

  try {
    await runPhase('main');
  } catch (err) {
    // The workflow itself was cancelled (from Temporal): the same as a cancel command.
    if (!wf.isCancellation(err)) throw err;
    requestCancel({ actor: { userId: 'tollgate', permissions: [] } }, 'the workflow was cancelled');
  }
  if (state.run.status !== 'cancelling' && handingOver && !mainFailed()) {
    closing = true;
    await persisting;
    await wf.condition(wf.allHandlersFinished);
    return wf.continueAsNew<typeof templateRun>({ ...input, carried: state.run, carriedItems: engine.items });
  }

  return wf.CancellationScope.nonCancellable(async () => {
    // Whatever a cancelled node was doing has stopped by now (its scope waited for its activity to end).
    await wf.condition(() => nodeScopes.size === 0);
    const cancelled = state.run.status === 'cancelling';
    for (const n of state.run.nodes) {
      if (n.phase === 'main' && n.status === 'running') state.updateNode(n.nodeId, { status: 'cancelled', endedAt: now(), reason: cancelled ? 'cancelled with the run' : 'the run failed' });
      if (n.phase === 'main' && n.status === 'pending') {
        state.updateNode(n.nodeId, { status: 'cancelled', endedAt: now(), reason: cancelled ? 'the run was cancelled before it started' : 'the run failed before it started' });
      }
    }
    if (cancelled) await runPhase('onCancel');
    await runPhase('finally');
    const failed = state.run.nodes.some((n) => n.status === 'failed' && !specOf.get(n.nodeId)!.continueOnError);
    const status: RunStatus = cancelled ? 'cancelled' : failed ? 'failed' : 'succeeded';
    for (const n of state.run.nodes) {
      if (n.status === 'pending') state.updateNode(n.nodeId, { status: 'skipped', endedAt: now(), reason: n.phase === 'onCancel' ? 'the run was not cancelled' : 'its dependencies never ran' });
    }
    state.commit({ status, endedAt: now() }, [{ action: `template-run.${status}`, before: { status: state.run.status }, after: { status } }]);
    closing = true;
    await persisting;
    await wf.condition(wf.allHandlersFinished);
    return { id: input.runId, status };
  });

  /**
   * Starts what may start, waits for a node to end or a command, again. Main
   * stops starting nodes on a failure, a cancel or a handover; cleanup phases
   * run every node whose dependencies allow it.
   */
  async function runPhase(phase: NodePhase): Promise<void> {
    const section = nodes.filter((n) => n.phase === phase).map((n) => n.node);
    let ended = 0;
    const running = new Map<string, Promise<void>>();
    for (;;) {
      const stopping = phase === 'main' && (state.run.status === 'cancelling' || mainFailed());
      if (!handingOver) resumeHandedOver(section, running, () => ended++, stopping);
      if (!stopping && !handingOver && state.run.status !== 'paused') startReady(section, phase, running, () => ended++);
      if (running.size === 0) {
        if (stopping || handingOver) return;
        if (state.run.status === 'paused') {
          await wf.condition(() => state.run.status !== 'paused');
          continue;
        }
        return;
      }
      const seen = ended;
      const version = state.run.version;
      await wf.condition(() => ended !== seen || state.run.version !== version || (phase === 'main' && !handingOver && historyFull(input.maxHistoryEvents)));
      if (phase === 'main' && !handingOver && historyFull(input.maxHistoryEvents)) handingOver = true;
    }
  }

  /** Nodes the previous run handed over (a wait, an approval, a forEach between items) show running: they go on here, whatever a pause says. */
  function resumeHandedOver(section: readonly TemplateNode[], running: Map<string, Promise<void>>, onEnd: () => void, stopping: boolean): void {
    for (const node of section) {
      if (running.has(node.id) || state.node(node.id)!.status !== 'running') continue;
      if (stopping) state.updateNode(node.id, { status: 'cancelled', endedAt: now(), reason: state.run.status === 'cancelling' ? 'cancelled with the run' : 'the run failed' });
      else start(node, running, onEnd);
    }
  }

  function mainFailed(): boolean {
    return state.run.nodes.some((n) => n.phase === 'main' && n.status === 'failed' && !specOf.get(n.nodeId)!.continueOnError);
  }

  function startReady(section: readonly TemplateNode[], phase: NodePhase, running: Map<string, Promise<void>>, onEnd: () => void): void {
    for (let moved = true; moved; ) {
      moved = false;
      for (const node of section) {
        if (state.node(node.id)!.status !== 'pending') continue;
        const ready = readiness(node, (id) => state.node(id), (id) => Boolean(specOf.get(id)?.continueOnError));
        if (ready.kind === 'wait') continue;
        if (ready.kind === 'blocked') {
          if (phase !== 'main') {
            state.updateNode(node.id, { status: 'skipped', endedAt: now(), reason: ready.reason });
            moved = true;
          }
          continue;
        }
        moved = true;
        if (ready.kind === 'skip') {
          state.updateNode(node.id, { status: 'skipped', endedAt: now(), reason: ready.reason });
          continue;
        }
        if (node.when && !node.forEach) {
          let go: boolean;
          try {
            go = celCondition(node.when, { parameters: input.parameters, steps: stepsScope(state.run.nodes) });
          } catch (err) {
            state.updateNode(node.id, { status: 'failed', startedAt: now(), endedAt: now(), error: { code: 'WHEN_FAILED', message: `when \`${node.when}\`: ${(err as Error).message}` } });
            if (phase === 'main' && mainFailed()) return;
            continue;
          }
          if (!go) {
            state.updateNode(node.id, { status: 'skipped', endedAt: now(), reason: `when \`${node.when}\` is false` });
            continue;
          }
        }
        state.updateNode(node.id, { status: 'running', startedAt: now(), reason: null });
        start(node, running, onEnd);
      }
    }
  }

  function start(node: TemplateNode, running: Map<string, Promise<void>>, onEnd: () => void): void {
    const scope = new wf.CancellationScope();
    nodeScopes.set(node.id, scope);
    const done = scope
      .run(() => runNode(node))
      .finally(() => {
        running.delete(node.id);
        nodeScopes.delete(node.id);
        onEnd();
      });
    running.set(node.id, done);
  }

  async function runNode(node: TemplateNode): Promise<void> {
    try {
      const outcome = await runNodeSteps(engine, node);
      if (outcome === HANDOVER) return;
      if (outcome === ALL_SKIPPED) state.updateNode(node.id, { status: 'skipped', endedAt: now(), reason: `when \`${node.when}\` is false for every item` });
      else state.updateNode(node.id, { status: 'succeeded', endedAt: now(), outputs: outcome, reason: null, error: null });
    } catch (err) {
      if (wf.isCancellation(err)) state.updateNode(node.id, { status: 'cancelled', endedAt: now(), reason: 'cancelled with the run' });
      else {
        const items = engine.items[node.id];
        state.updateNode(node.id, { status: 'failed', endedAt: now(), error: failureOf(err), reason: null, ...(items ? { outputs: { items: items.map((i) => i.outputs) } } : {}) });
      }
    }
  }

  /** Writes the newest version, one write at a time; what changed meanwhile goes in the next one. */
  async function persistLoop(): Promise<void> {
    for (;;) {
      await wf.condition(() => state.run.version > persisted || closing);
      if (state.run.version <= persisted) return;
      const run = state.run;
      const batches = state.batches.splice(0);
      await persistWorkflowRun.executeWithOptions({ ...ENTITY_ACTIVITY_OPTIONS, summary: `Persist run version ${run.version}: ${run.status}, ${progressOf(run)}` }, [{ tenantId, run, batches }]);
      persisted = run.version;
    }
  }

  function publish(run: WorkflowRun): void {
    showInUi(searchAttributesOf(tenantId, run), details(run));
  }

  function details(run: WorkflowRun): string {
    const running = run.nodes.filter((n) => n.status === 'running');
    const failed = run.nodes.filter((n) => n.status === 'failed');
    const waits = running.map((n) => `${n.nodeId}${n.items ? ` (${n.items.succeeded + n.items.failed + n.items.skipped}/${n.items.total} items)` : ''}${n.reason ? `: ${n.reason}` : ''}`);
    return uiDetails({
      state: `**${run.templateName} v${run.templateVersion}** · **${run.status}** · ${progressOf(run)}`,
      missing: run.status === 'paused' ? 'resume' : waits.length ? waits.join('; ') : null,
      deadline: null,
      more: [running.length > 0 && `Running: ${running.map((n) => n.nodeId).join(', ')}`, failed.length > 0 && `Failed: ${failed.map((n) => `${n.nodeId} (${n.error?.code})`).join(', ')}`],
    });
  }
}

function progressOf(run: WorkflowRun): string {
  const done = run.nodes.filter((n) => isNodeFinished(n.status)).length;
  return `${done} of ${run.nodes.length} nodes done`;
}

function structuredCloneItems(items: Record<string, ItemProgress[]> | undefined): Record<string, ItemProgress[]> {
  return items ? Object.fromEntries(Object.entries(items).map(([id, list]) => [id, list.map((i) => ({ ...i }))])) : {};
}

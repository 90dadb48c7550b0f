import * as wf from '@temporalio/workflow';
import { celCondition, celEvaluate } from '../../domain/cel';
import { parseDuration } from '../../domain/duration';
import type { ApprovalRequest, TemplateNode } from '../../domain/templates/model';
import { resolveReferences, type ReferenceScope } from '../../domain/templates/references';
import { approvalOutcome, type ApprovalStepInputs } from '../../domain/templates/step-approvals';
import { STEP_TYPE_DEFINITIONS } from '../../domain/templates/step-types';
import type { ItemProgress, TemplateRunInput } from './messages';
import { failureOf, NodeFailure, now, type RunState } from './run-state';
import { backoffMs, stepsScope } from './scheduling';
import { callStep } from './step-calls';

/**
 * Runs one node to its end: inputs resolved from earlier outputs, each try
 * bounded by the node's timeout, failed tries retried after workflow timers
 * (the engine retries every step type the same way), forEach items at most
 * `concurrency` at once. A wait or approval, or a forEach between items,
 * hands over when the run continues as new: the node stays running and the
 * next run picks it up where it stood.
 */

export const HANDOVER = Symbol('handover');
export const ALL_SKIPPED = Symbol('all-skipped');
export type NodeOutcome = Record<string, unknown> | typeof HANDOVER | typeof ALL_SKIPPED;

/** Failures no second try can cure. */
const NOT_RETRIED = new Set(['REFERENCE_FAILED', 'INVALID_STEP_INPUTS', 'STEP_TYPE_UNAVAILABLE', 'ITEMS_FAILED', 'WHEN_FAILED']);
const DEFAULT_CONCURRENCY = 10;

export interface Engine {
  input: TemplateRunInput;
  state: RunState;
  /** The run is about to continue as new: nothing new starts, waits hand over. */
  handingOver(): boolean;
  paused(): boolean;
  /** forEach items' states, carried across continue-as-new. */
  items: Record<string, ItemProgress[]>;
  /** Approval nodes' resolved inputs, for the decideStep validator. */
  approvalInputs: Map<string, ApprovalStepInputs>;
}

interface Item {
  index: number;
  value: unknown;
}

export function referenceScope(engine: Engine, item?: Item): ReferenceScope {
  const scope: ReferenceScope = { parameters: engine.input.parameters, steps: stepsScope(engine.state.run.nodes) };
  if (item) {
    scope.item = item.value;
    scope.index = item.index;
  }
  return scope;
}

export async function runNodeSteps(engine: Engine, node: TemplateNode): Promise<NodeOutcome> {
  if (node.forEach) return runForEach(engine, node);
  return runWithRetry(engine, node, undefined);
}

async function runWithRetry(engine: Engine, node: TemplateNode, item: Item | undefined): Promise<Record<string, unknown> | typeof HANDOVER> {
  let inputs: Record<string, unknown>;
  try {
    inputs = resolveReferences(node.inputs, referenceScope(engine, item)) as Record<string, unknown>;
  } catch (err) {
    throw new NodeFailure('REFERENCE_FAILED', (err as Error).message);
  }
  const attempts = Math.max(1, node.retry?.attempts ?? 1);
  const retry = {
    backoff: node.retry?.backoff ? parseDuration(node.retry.backoff) : undefined,
    coefficient: node.retry?.backoffCoefficient,
    max: node.retry?.maxBackoff ? parseDuration(node.retry.maxBackoff) : undefined,
  };
  const label = item ? `${node.id}[${item.index}]` : node.id;
  // A wait or approval handed over by the previous run goes on with the try it was in.
  const current = engine.state.node(node.id)!;
  const first = !item && current.attempts > 0 && (node.type === 'wait' || node.type === 'approval') ? current.attempts : 1;
  for (let attempt = first; ; attempt++) {
    noteAttempt(engine, node, item, attempt);
    try {
      return await tryOnce(engine, node, inputs, attempt, item, label);
    } catch (err) {
      if (wf.isCancellation(err)) throw err;
      const failure = failureOf(err);
      if (attempt >= attempts || NOT_RETRIED.has(failure.code)) throw new NodeFailure(failure.code, failure.message);
      const wait = backoffMs(retry, attempt);
      if (!item) engine.state.updateNode(node.id, { reason: `try ${attempt} of ${attempts} failed (${failure.message}); next try at ${new Date(Date.now() + wait).toISOString()}` });
      await wf.sleep(wait, { summary: `${label}: wait before try ${attempt + 1} of ${attempts}` });
    }
  }
}

function noteAttempt(engine: Engine, node: TemplateNode, item: Item | undefined, attempt: number): void {
  if (item) {
    const progress = engine.items[node.id][item.index];
    progress.attempts = attempt;
  }
  const current = engine.state.node(node.id)!;
  if (attempt > current.attempts || (!item && current.reason)) engine.state.updateNode(node.id, { attempts: Math.max(attempt, current.attempts), reason: item ? current.reason : null });
}

async function tryOnce(engine: Engine, node: TemplateNode, inputs: Record<string, unknown>, attempt: number, item: Item | undefined, label: string): Promise<Record<string, unknown> | typeof HANDOVER> {
  const timeoutMs = node.timeout ? parseDuration(node.timeout) : undefined;
  const body = async (): Promise<Record<string, unknown> | typeof HANDOVER> => {
    switch (STEP_TYPE_DEFINITIONS[node.type].runsOn) {
      case 'timer':
        return waitStep(engine, node, inputs, item);
      case 'approval':
        return approvalStep(engine, node, inputs);
      default: {
        const { input } = engine;
        const result = await callStep(
          {
            tenantId: input.tenantId,
            runId: input.runId,
            nodeId: node.id,
            ...(item ? { itemIndex: item.index } : {}),
            type: node.type,
            inputs,
            attempt,
            requestedBy: { userId: input.requestedBy, email: input.requestedByEmail },
          },
          { summary: label, timeoutMs },
        );
        return result.outputs;
      }
    }
  };
  return timeoutMs === undefined ? body() : withTimeout(timeoutMs, `${label}: timeout of try ${attempt}`, node.timeout!, body);
}

/** Runs `fn` in a scope cancelled after `ms`; a try cut short fails with STEP_TIMED_OUT, a cancelled run stays a cancellation. */
async function withTimeout<T>(ms: number, summary: string, text: string, fn: () => Promise<T>): Promise<T> {
  const work = new wf.CancellationScope();
  const timer = new wf.CancellationScope();
  let timedOut = false;
  timer
    .run(() => wf.sleep(ms, { summary }))
    .then(() => {
      timedOut = true;
      work.cancel();
    })
    .catch(() => undefined);
  try {
    return await work.run(fn);
  } catch (err) {
    if (timedOut && wf.isCancellation(err)) throw new NodeFailure('STEP_TIMED_OUT', `the try took longer than its timeout of ${text}`);
    throw err;
  } finally {
    timer.cancel();
  }
}

async function waitStep(engine: Engine, node: TemplateNode, inputs: Record<string, unknown>, item: Item | undefined): Promise<Record<string, unknown> | typeof HANDOVER> {
  const parsed = parseInputs<{ duration?: string; until?: string }>(node, inputs);
  const startedAt = Date.parse(engine.state.node(node.id)!.startedAt ?? now());
  const deadline = parsed.until ? Date.parse(parsed.until) : startedAt + (parseDuration(parsed.duration!) ?? 0);
  const until = new Date(deadline).toISOString();
  if (!item) engine.state.updateNode(node.id, { reason: `waiting until ${until}` });
  const left = deadline - Date.now();
  if (left > 0 && (await wf.condition(() => engine.handingOver(), left, { summary: item ? `${node.id}[${item.index}]` : node.id }))) return HANDOVER;
  return { waitedUntil: until };
}

async function approvalStep(engine: Engine, node: TemplateNode, inputs: Record<string, unknown>): Promise<Record<string, unknown> | typeof HANDOVER> {
  const parsed = parseInputs<ApprovalStepInputs>(node, inputs);
  engine.approvalInputs.set(node.id, parsed);
  try {
    const startedAt = Date.parse(engine.state.node(node.id)!.startedAt ?? now());
    const expiresAt = parsed.expiresIn ? startedAt + (parseDuration(parsed.expiresIn) ?? 0) : undefined;
    const outcome = () => approvalOutcome(engine.state.node(node.id)!.approvals ?? [], parsed.approvals);
    const describe = () => {
      const o = outcome();
      return o.outcome === 'open' ? `${o.missing} more approval${o.missing === 1 ? '' : 's'}${parsed.groups.length ? ` from ${parsed.groups.join(', ')}` : ''}${expiresAt ? ` before ${new Date(expiresAt).toISOString()}` : ''}` : null;
    };
    // What the step waits for rides on its reason's updates (no write of its own, so histories replay as they were).
    const approval: ApprovalRequest = {
      required: parsed.approvals,
      groups: [...parsed.groups],
      separationOfDuties: parsed.separationOfDuties,
      expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
      message: parsed.message ?? null,
    };
    // Each decision moves what the step waits for: its reason says it again.
    for (;;) {
      const reason = describe();
      if (engine.state.node(node.id)!.reason !== reason) engine.state.updateNode(node.id, { reason, approval });
      if (outcome().outcome !== 'open' || engine.handingOver()) break;
      const seen = engine.state.node(node.id)!.approvals?.length ?? 0;
      const woken = () => (engine.state.node(node.id)!.approvals?.length ?? 0) !== seen || engine.handingOver();
      if (expiresAt === undefined) await wf.condition(woken);
      else {
        const left = expiresAt - Date.now();
        if (left <= 0 || !(await wf.condition(woken, left, { summary: `${node.id}: approval expires` }))) {
          throw new NodeFailure('APPROVAL_EXPIRED', `Step ${node.id} expired after ${parsed.expiresIn} without enough approvals`);
        }
      }
    }
    const o = outcome();
    if (o.outcome === 'rejected') throw new NodeFailure('APPROVAL_REJECTED', `Rejected by ${o.by.approverEmail ?? o.by.approverId}${o.by.comment ? `: ${o.by.comment}` : ''}`);
    if (o.outcome === 'open') return HANDOVER;
    return { approvedBy: o.approvedBy };
  } finally {
    engine.approvalInputs.delete(node.id);
  }
}

function parseInputs<T>(node: TemplateNode, inputs: Record<string, unknown>): T {
  const parsed = STEP_TYPE_DEFINITIONS[node.type].input.safeParse(inputs);
  if (!parsed.success) {
    throw new NodeFailure('INVALID_STEP_INPUTS', `Inputs of ${node.id} after resolving references: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(inputs)'} ${i.message}`).join('; ')}`);
  }
  return parsed.data as T;
}

/** The list a forEach fans out over: a literal list (its strings may hold references) or a CEL expression. */
function itemsOf(engine: Engine, node: TemplateNode): unknown[] {
  const spec = node.forEach!.items;
  let values: unknown;
  try {
    if (typeof spec === 'string') {
      const bare = spec.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1').trim();
      values = celEvaluate(bare, { parameters: engine.input.parameters, steps: stepsScope(engine.state.run.nodes) });
    } else values = resolveReferences(spec, referenceScope(engine));
  } catch (err) {
    throw new NodeFailure('ITEMS_FAILED', `forEach items of ${node.id}: ${(err as Error).message}`);
  }
  if (!Array.isArray(values)) throw new NodeFailure('ITEMS_FAILED', `forEach items of ${node.id} must be a list, got ${values === null ? 'null' : typeof values}`);
  return values;
}

async function runForEach(engine: Engine, node: TemplateNode): Promise<NodeOutcome> {
  const values = itemsOf(engine, node);
  const progress = (engine.items[node.id] ??= values.map(() => ({ status: 'pending', attempts: 0, outputs: null, error: null })));
  // Items a previous run left running were handed over between tries: they start again.
  for (const p of progress) if (p.status === 'running') p.status = 'pending';
  const limit = Math.max(1, node.forEach!.concurrency ?? DEFAULT_CONCURRENCY);
  let active = 0;
  let finished = 0;
  let failure: NodeFailure | null = null;
  const inflight = new Set<Promise<void>>();
  const show = () => {
    const count = (s: string) => progress.filter((p) => p.status === s).length;
    const items = { total: progress.length, succeeded: count('succeeded'), failed: count('failed'), running: count('running'), skipped: count('skipped') };
    const attempts = progress.reduce((m, p) => Math.max(m, p.attempts), 0);
    const current = engine.state.node(node.id)!;
    if (current.attempts !== attempts || JSON.stringify(current.items) !== JSON.stringify(items)) engine.state.updateNode(node.id, { items, attempts });
  };

  const runItem = async (index: number): Promise<void> => {
    const p = progress[index];
    const item = { index, value: values[index] };
    try {
      if (node.when && !celCondition(node.when, { parameters: engine.input.parameters, steps: stepsScope(engine.state.run.nodes), item: item.value, index })) {
        p.status = 'skipped';
        return;
      }
      const outputs = await runWithRetry(engine, node, item);
      if (outputs === HANDOVER) p.status = 'pending';
      else {
        p.status = 'succeeded';
        p.outputs = outputs;
      }
    } catch (err) {
      if (wf.isCancellation(err)) p.status = 'cancelled';
      else {
        const f = failureOf(err);
        p.status = 'failed';
        p.error = f;
        failure ??= new NodeFailure(f.code, `item ${index}: ${f.message}`);
      }
    } finally {
      active--;
      finished++;
      show();
    }
  };

  show();
  try {
    for (;;) {
      while (!failure && !engine.handingOver() && !engine.paused() && active < limit) {
        const next = progress.findIndex((p) => p.status === 'pending');
        if (next < 0) break;
        progress[next].status = 'running';
        active++;
        const running: Promise<void> = runItem(next).finally(() => inflight.delete(running));
        inflight.add(running);
      }
      show();
      if (active === 0 && (failure || engine.handingOver() || !progress.some((p) => p.status === 'pending'))) break;
      const seen = finished;
      const version = engine.state.run.version;
      const handing = engine.handingOver();
      // Woken by an item ending, or by a pause, resume or handover (each moves the run's version or the handover flag).
      // Once the handover is under way its flag no longer wakes the loop: a condition already true would spin without
      // ever yielding to the activation that ends the running items (the worker thread dies of it).
      await wf.condition(() => finished !== seen || engine.state.run.version !== version || engine.handingOver() !== handing);
    }
  } catch (err) {
    // Cancelled: the items' own scopes were cancelled too; their states settle before the node's does.
    await Promise.all([...inflight]);
    throw err;
  }
  if (failure) throw failure;
  if (progress.some((p) => p.status === 'pending')) return HANDOVER;
  if (progress.length > 0 && progress.every((p) => p.status === 'skipped')) return ALL_SKIPPED;
  return { items: progress.map((p) => p.outputs) };
}

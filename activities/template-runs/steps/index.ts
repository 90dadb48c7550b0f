import { CancelledFailure, Context } from '@temporalio/activity';
import type { StepRequest, StepResult, StepTypeName } from '../../../domain/templates/model';
import { STEP_TYPE_DEFINITIONS } from '../../../domain/templates/step-types';
import type { ActivityDeps } from '../../deps';
import { appendRunLog } from '../persist';
import { stepFailure, type StepExecutor } from './executor';
import { gateStep } from './gate';
import { httpStep } from './http';
import { notifyStep } from './notify';

/** The step types an activity runs, by type; each parses nothing itself (the dispatcher does, with the type's schema). */
const EXECUTORS: Partial<Record<StepTypeName, StepExecutor<never>>> = {
  gate: gateStep as StepExecutor<never>,
  http: httpStep as StepExecutor<never>,
  notify: notifyStep as StepExecutor<never>,
};

/** How often a running step heartbeats: cancellation reaches it through heartbeats, and a dead worker shows by their absence. */
const HEARTBEAT_EVERY_MS = 2_000;

/**
 * The `runTemplateStep` activity: parses the resolved inputs with the step
 * type's own schema, runs its executor while heartbeating, and hands back
 * its outputs.
 */
export function runTemplateStepActivity(deps: ActivityDeps) {
  return async function runTemplateStep(request: StepRequest): Promise<StepResult> {
    const executor = EXECUTORS[request.type];
    if (!executor) throw stepFailure('STEP_TYPE_UNAVAILABLE', `Step type ${request.type} has no executor on this worker`);
    const parsed = STEP_TYPE_DEFINITIONS[request.type].input.safeParse(request.inputs);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(inputs)'} ${i.message}`).join('; ');
      throw stepFailure('INVALID_STEP_INPUTS', `Inputs of ${request.nodeId} after resolving references: ${problems}`);
    }
    const activity = Context.current();
    const place = { tenantId: request.tenantId, runId: request.runId, nodeId: request.nodeId, itemIndex: request.itemIndex };
    const beat = setInterval(() => activity.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      const outputs = await executor(parsed.data as never, {
        deps,
        request,
        signal: activity.cancellationSignal,
        // A log line the database could not take must not fail (and so repeat) a step that did its work: the worker's log says so.
        log: (lines, stream) =>
          appendRunLog(deps.pool, place, (typeof lines === 'string' ? [lines] : lines).map((line) => ({ line, stream }))).catch((err: unknown) => {
            deps.log.warn({ err, runId: request.runId, nodeId: request.nodeId }, 'a template step log line was not stored');
          }),
      });
      return { outputs };
    } catch (err) {
      if (activity.cancellationSignal.aborted) throw new CancelledFailure(`step ${request.nodeId} cancelled`);
      throw err;
    } finally {
      clearInterval(beat);
    }
  };
}

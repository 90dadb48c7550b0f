import * as wf from '@temporalio/workflow';
import type { StepRequest, StepResult } from '../../domain/templates/model';
import type { ShapeNode } from './shapes';

/** What the bare run is given: the DAG, the step every node runs, and the queue of the worker that runs the steps. */
export interface BareDagInput {
  nodes: ShapeNode[];
  /** Every node's step, its nodeId filled in per node. */
  step: Omit<StepRequest, 'nodeId'>;
  /** The orchestrator's task queue: the same worker runs the same `runTemplateStep` as the engine's run. */
  activityQueue: string;
}

export interface BareDagResult {
  nodes: number;
  /** Workflow time from the first step scheduled to the last one done. */
  wallMs: number;
}

interface StepActivities {
  runTemplateStep(request: StepRequest): Promise<StepResult>;
}

/**
 * The floor for a template run of the same shape: each node's `runTemplateStep`
 * activity, with the options the engine gives an activity step, started as soon
 * as every node it depends on is done, and nothing else — no references, no
 * conditions, no run state, no read-model writes, no search attributes.
 */
export async function bareDag(input: BareDagInput): Promise<BareDagResult> {
  const options: wf.ActivityOptions = {
    taskQueue: input.activityQueue,
    startToCloseTimeout: 60 * 60 * 1000 + 5_000,
    heartbeatTimeout: '15s',
    cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2 },
  };
  const { runTemplateStep } = wf.proxyActivities<StepActivities>(options);
  const started = Date.now();
  const done = new Map<string, Promise<void>>();
  for (const node of input.nodes) {
    const deps = node.dependsOn.map((d) => done.get(d)!);
    done.set(
      node.id,
      Promise.all(deps).then(async () => {
        // The node id as the activity's summary, as the engine shows it.
        await runTemplateStep.executeWithOptions({ ...options, summary: node.id }, [{ ...input.step, nodeId: node.id }]);
      }),
    );
  }
  await Promise.all(done.values());
  return { nodes: input.nodes.length, wallMs: Date.now() - started };
}

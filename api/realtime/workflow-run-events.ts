import { type WorkflowRunEvent } from '../../store/workflow-run-events';
import { notifyFields } from './notify-payload';

export { notifyWorkflowRun, WORKFLOW_RUN_CHANNEL, type WorkflowRunEvent } from '../../store/workflow-run-events';

/** The event a NOTIFY payload holds, or undefined for anything else on the channel. */
export function parseWorkflowRunEvent(payload: string | undefined): WorkflowRunEvent | undefined {
  const fields = notifyFields(payload);
  if (!fields) return undefined;
  const { tenantId, runId, kind, nodeId } = fields;
  if (typeof tenantId !== 'string' || typeof runId !== 'string' || (kind !== 'run' && kind !== 'log')) return undefined;
  return { tenantId, runId, kind, ...(typeof nodeId === 'string' ? { nodeId } : {}) };
}

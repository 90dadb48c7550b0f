import { DEPLOYMENT_CHANNEL, type DeploymentEvent } from '../../store/deployment-events';
import { notifyFields } from './notify-payload';

export { DEPLOYMENT_CHANNEL, type DeploymentEvent };

const KINDS: ReadonlyArray<DeploymentEvent['kind']> = ['job', 'task', 'log', 'artifact'];

/** The event a NOTIFY payload holds (store/deployment-events.ts writes them), or undefined for anything else on the channel. */
export function parseDeploymentEvent(payload: string | undefined): DeploymentEvent | undefined {
  const fields = notifyFields(payload);
  if (!fields) return undefined;
  const { tenantId, kind, jobId, taskId, agentId } = fields;
  if (typeof tenantId !== 'string' || typeof jobId !== 'string' || !KINDS.includes(kind as DeploymentEvent['kind'])) return undefined;
  return {
    tenantId,
    kind: kind as DeploymentEvent['kind'],
    jobId,
    ...(typeof taskId === 'string' ? { taskId } : {}),
    ...(typeof agentId === 'string' ? { agentId } : {}),
  };
}

import { DEPLOYMENT_CHANNEL, type DeploymentEvent } from '../../store/deployment-events';

export { DEPLOYMENT_CHANNEL, type DeploymentEvent };

const KINDS: ReadonlyArray<DeploymentEvent['kind']> = ['job', 'task', 'log', 'artifact'];

/** The event a NOTIFY payload holds (store/deployment-events.ts writes them), or undefined for anything else on the channel. */
export function parseDeploymentEvent(payload: string | undefined): DeploymentEvent | undefined {
  if (!payload) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  const { tenantId, kind, jobId, taskId, agentId } = value as Record<string, unknown>;
  if (typeof tenantId !== 'string' || typeof jobId !== 'string' || !KINDS.includes(kind as DeploymentEvent['kind'])) return undefined;
  return {
    tenantId,
    kind: kind as DeploymentEvent['kind'],
    jobId,
    ...(typeof taskId === 'string' ? { taskId } : {}),
    ...(typeof agentId === 'string' ? { agentId } : {}),
  };
}

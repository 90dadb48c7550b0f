import { DomainError } from '../errors';
import type { RolloutPlan } from './model';
import type { AgentRouter, RouterBackend } from '../traffic';

/**
 * Which targets of the environment serve which variant: canary = those
 * labelled or propertied `track: canary`, stable = the rest; each reached at
 * its `host` property (default 127.0.0.1) and `port` property. Canary targets
 * whose sticker names another release get the canary release deployed by the
 * rollout itself before any traffic moves.
 */
export interface PlanTargetRow {
  id: string;
  name: string;
  labels: Record<string, string>;
  properties: Record<string, string>;
  /** The release its sticker names, or null when Tollgate never deployed it. */
  releaseId: string | null;
}

export interface RouterAgentRow {
  id: string;
  router: AgentRouter;
}

export const isCanaryTarget = (t: Pick<PlanTargetRow, 'labels' | 'properties'>) => t.labels?.track === 'canary' || t.properties?.track === 'canary';

export function planOf(input: {
  environmentName: string;
  agent: RouterAgentRow | undefined;
  /** The rollout's traffic-webhook integration: it replaces the router agent. */
  trafficIntegration?: { id: string; name: string } | null;
  targets: PlanTargetRow[];
  canaryReleaseId: string;
  canaryReleaseName: string;
  stableVersion: string;
  canaryVersion: string;
}): RolloutPlan {
  const { agent, targets, environmentName, trafficIntegration } = input;
  if (!agent && !trafficIntegration) {
    throw new DomainError(
      'invalid_state',
      'NO_ROUTER',
      `No agent of environment ${environmentName} drives a traffic router: start one with \`npm run agent -- --router haproxy --router-listen 127.0.0.1:8080\` (or nginx, or webhook) and start the rollout again`,
    );
  }
  const canary = targets.filter(isCanaryTarget);
  const stable = targets.filter((t) => !isCanaryTarget(t));
  if (canary.length === 0) throw new DomainError('invalid_state', 'NO_CANARY_TARGETS', `Environment ${environmentName} has no target labelled or propertied track=canary to run the canary release`);
  if (stable.length === 0) throw new DomainError('invalid_state', 'NO_STABLE_TARGETS', `Environment ${environmentName} has no target without track=canary to keep serving the stable release`);
  const portless = targets.filter((t) => !/^\d{1,5}$/.test(t.properties?.port ?? '') || Number(t.properties.port) < 1 || Number(t.properties.port) > 65535);
  if (portless.length) {
    throw new DomainError('invalid_state', 'TARGET_PORT_MISSING', `Target(s) ${portless.map((t) => t.name).join(', ')} have no valid \`port\` property: the router cannot reach them`, {
      targets: portless.map((t) => t.name),
    });
  }
  const backend = (t: PlanTargetRow): RouterBackend => ({ name: t.name, targetId: t.id, host: t.properties.host || '127.0.0.1', port: Number(t.properties.port) });
  const router = trafficIntegration
    ? { routerAgentId: null, routerProvider: 'traffic-webhook', routerListen: trafficIntegration.name, trafficIntegration: { id: trafficIntegration.id, name: trafficIntegration.name } }
    : { routerAgentId: agent!.id, routerProvider: agent!.router.provider, routerListen: agent!.router.listen };
  return {
    ...router,
    stable: stable.map(backend),
    canary: canary.map(backend),
    stableVersion: input.stableVersion,
    canaryVersion: input.canaryVersion,
    canaryToDeploy: canary.filter((t) => t.releaseId !== input.canaryReleaseId).map((t) => t.id),
  };
}

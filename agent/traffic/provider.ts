import { ApplicationFailure } from '@temporalio/common';
import type { AgentRouter, RouterStats, TrafficSpec, TrafficState } from '../../domain/traffic';

/**
 * A traffic router the agent drives for its environment's route. Each answer is read back from the router itself
 * (its runtime API, the config it loaded, or the webhook's answer), never from what was last asked.
 */
export interface TrafficProvider {
  readonly router: AgentRouter;
  apply(spec: TrafficSpec): Promise<TrafficState>;
  read(routeId: string): Promise<TrafficState>;
  stats(routeId: string): Promise<RouterStats>;
  /** Stops a router the agent runs itself (managed mode); a webhook has nothing to stop. */
  close(): Promise<void>;
}

/** The agent was asked to drive a router it does not have: retrying on the same agent cannot help. */
export function noRouter(activity: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`this agent drives no traffic router (start it with --router haproxy|nginx|webhook) and cannot run ${activity}`, 'NO_ROUTER');
}

/** A spec or route the router cannot serve (e.g. another route than the one it serves): not worth retrying. */
export function badTraffic(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'BAD_TRAFFIC_SPEC');
}

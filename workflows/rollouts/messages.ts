import type { SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CommandMeta } from '../../domain/actor';
import type { DeploymentSettings } from '../../domain/deployments/model';
import type { RolloutNames } from '../../domain/rollouts/commands';
import type { Rollout, RolloutPlan } from '../../domain/rollouts/model';
import type { CreateRolloutBody, PromoteRolloutBody, RollbackRolloutBody, RolloutCommandBody } from '../../domain/rollouts/requests';
import type { TrafficState } from '../../domain/traffic';
import { SA } from '../../domain/search-attributes';

/** Messages of the `rollout` workflow; the API imports these definitions. */

export const ROLLOUT_WORKFLOW_TYPE = 'rollout';

export interface RolloutWorkflowInput {
  tenantId: string;
  rolloutId: string;
  /** How long an agent may take to pick up a traffic activity before the rollout says it is offline (ms). */
  agentPickupTimeoutMs?: number;
  /** The timeouts and caps of the deployment jobs the rollout runs on its canary targets (from the API's configuration). */
  deploymentSettings?: DeploymentSettings;
  /** State carried across continue-as-new. */
  carried?: Rollout;
  maxHistoryEvents?: number;
}

export interface RolloutWorkflowResult {
  id: string;
  state: string;
}

/**
 * A rollout's search attributes, one list for both ends: the API sets it at
 * the start and the workflow upserts what moved. The environment and the
 * release are names (the canary's: the release being rolled out).
 */
export function searchAttributesOf(tenantId: string, r: Pick<Rollout, 'id' | 'state' | 'environmentName' | 'canaryReleaseName'>, title?: string): SearchAttributePair[] {
  const attributes: SearchAttributePair[] = [
    { key: SA.tenant, value: tenantId },
    { key: SA.kind, value: 'rollout' },
    { key: SA.resourceId, value: r.id },
    { key: SA.state, value: r.state },
    { key: SA.environment, value: r.environmentName },
    { key: SA.release, value: r.canaryReleaseName },
  ];
  return title === undefined ? attributes : [...attributes, { key: SA.title, value: title }];
}

export interface CreateRolloutArgs {
  input: CreateRolloutBody;
  names: RolloutNames;
}
export interface StartRolloutArgs {
  input: RolloutCommandBody;
  plan: RolloutPlan;
}
/** A retry runs on a plan resolved again at the request (the router's agent or targets may have changed). */
export type RetryRolloutArgs = StartRolloutArgs;

/** What GET …/traffic answers: the router's weights read back now, or the last read-back when the router's agent is away. */
export interface TrafficReading {
  traffic: TrafficState | null;
  live: boolean;
  /** Why the reading is not live (the agent did not answer in time, or the rollout never set traffic). */
  note: string | null;
}

export const createRollout = defineUpdate<Rollout, [CreateRolloutArgs, CommandMeta]>('create');
export const startRollout = defineUpdate<Rollout, [StartRolloutArgs, CommandMeta]>('start');
export const advanceRollout = defineUpdate<Rollout, [RolloutCommandBody, CommandMeta]>('advance');
export const promoteRollout = defineUpdate<Rollout, [PromoteRolloutBody, CommandMeta]>('promote');
export const rollbackRollout = defineUpdate<Rollout, [RollbackRolloutBody, CommandMeta]>('rollback');
export const pauseRollout = defineUpdate<Rollout, [RolloutCommandBody, CommandMeta]>('pause');
export const resumeRollout = defineUpdate<Rollout, [RolloutCommandBody, CommandMeta]>('resume');
export const retryRollout = defineUpdate<Rollout, [RetryRolloutArgs, CommandMeta]>('retry');
/** Reads the router's traffic through its agent (readTraffic), for GET …/traffic. */
export const readRolloutTraffic = defineUpdate<TrafficReading, []>('readTraffic');

export const getRollout = defineQuery<Rollout | null>('getRollout');

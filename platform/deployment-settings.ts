import type { DeploymentSettings } from '../domain/deployments/model';
import type { Config } from './config';

/** The timeouts and caps a deployment job runs with, fixed from configuration when the job starts. */
export function deploymentSettings(config: Config): DeploymentSettings {
  return {
    heartbeatTimeoutMs: config.DEPLOY_HEARTBEAT_TIMEOUT,
    pickupTimeoutMs: config.DEPLOY_PICKUP_TIMEOUT,
    taskTimeoutMs: config.DEPLOY_TASK_TIMEOUT,
    cancelGraceMs: config.DEPLOY_CANCEL_GRACE,
    logCapBytes: config.DEPLOY_LOG_CAP_BYTES,
    ...(config.DEPLOY_JOB_MAX_HISTORY_EVENTS ? { maxHistoryEvents: config.DEPLOY_JOB_MAX_HISTORY_EVENTS } : {}),
  };
}

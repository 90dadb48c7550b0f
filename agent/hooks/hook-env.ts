import type { AgentTaskInput, PlanComponent } from '../../domain/deployments/model';

/** `TOLLGATE_PROP_<KEY>`: the key upper-cased, anything but A-Z and 0-9 turned into `_` (`http-port` → `HTTP_PORT`). */
export const propertyVariable = (key: string) => `TOLLGATE_PROP_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

export interface HookDirs {
  workDir: string;
  artifactsDir: string;
}

/**
 * What a deploy hook (or a health-check command) sees: the agent's own environment plus the task, release,
 * component and target. Without a component (a health-check command) the component variables are left out.
 */
export function hookEnvironment(input: AgentTaskInput, component: PlanComponent | null, dirs: HookDirs, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // A stale variable inherited from whoever started the agent must not pass for this task's.
  for (const name of Object.keys(env)) if (name.startsWith('TOLLGATE_PROP_')) delete env[name];
  // The registration token is the agent's to keep, not every hook's.
  delete env.TOLLGATE_AGENT_TOKEN;
  for (const [key, value] of Object.entries(input.target.properties ?? {})) env[propertyVariable(key)] = String(value);
  const digests = Object.fromEntries(input.release.components.map((c) => [c.name, c.digest]));
  Object.assign(env, {
    TOLLGATE_ACTION: input.phase,
    TOLLGATE_JOB_ID: input.jobId,
    TOLLGATE_TASK_ID: input.taskId,
    TOLLGATE_ATTEMPT: String(input.attempt),
    TOLLGATE_RELEASE_ID: input.release.id,
    TOLLGATE_RELEASE_NAME: input.release.name,
    TOLLGATE_RELEASE_VERSION: input.release.version,
    TOLLGATE_DIGESTS: JSON.stringify(digests),
    TOLLGATE_TARGET_ID: input.target.id,
    TOLLGATE_TARGET_NAME: input.target.name,
    TOLLGATE_TARGET_LABELS: JSON.stringify(input.target.labels ?? {}),
    TOLLGATE_TARGET_PROPERTIES: JSON.stringify(input.target.properties ?? {}),
    TOLLGATE_ENVIRONMENT_ID: input.environment.id,
    TOLLGATE_ENVIRONMENT_NAME: input.environment.name,
    TOLLGATE_ARTIFACTS_DIR: dirs.artifactsDir,
    TOLLGATE_WORK_DIR: dirs.workDir,
  });
  for (const name of ['TOLLGATE_COMPONENT', 'TOLLGATE_COMPONENT_VERSION', 'TOLLGATE_COMPONENT_DIGEST']) delete env[name];
  if (component) {
    env.TOLLGATE_COMPONENT = component.name;
    env.TOLLGATE_COMPONENT_VERSION = component.version;
    env.TOLLGATE_COMPONENT_DIGEST = component.digest ?? '';
  }
  return env;
}

import { SCRIPT_CAPABILITY, type ScriptTaskInput } from '../../../domain/script-task';
import type { StepRequest } from '../../../domain/templates/model';
import type { ActivityDeps } from '../../deps';
import { stepFailure, stepInputs } from './step-failures';

/** Lines of output a script keeps per try. */
export const SCRIPT_LOG_CAP_LINES = 10_000;
/** Between SIGTERM and SIGKILL when a script step is cancelled. */
const CANCEL_GRACE_MS = 10_000;

export interface ScriptStepPlan {
  agentId: string;
  agentName: string;
  task: ScriptTaskInput;
}

/**
 * The `script` step's first half: which agent runs it. Only an agent of the
 * step's environment, not revoked, that reports the `scripts` capability (its
 * operator started it with --allow-scripts; the agent checks its flag again
 * itself). A named agent must be all of that; otherwise the online one that
 * beat last is taken.
 */
export function prepareScriptStep(deps: ActivityDeps) {
  return async (request: StepRequest): Promise<ScriptStepPlan> => {
    const input = stepInputs(request, 'script') as { environmentId: string; agentId?: string; command: string; env?: Record<string, string>; artifacts?: string[] };
    const { rows } = await deps.pool.query<{ id: string; name: string; environment_id: string; revoked: boolean; scripts: boolean; online: boolean }>(
      `SELECT id::text, name, environment_id::text, revoked_at IS NOT NULL AS revoked, capabilities ? $4 AS scripts,
              COALESCE(last_heartbeat_at > now() - $5 * interval '1 millisecond', false) AS online
         FROM agents WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id = $2) AND ($2::uuid IS NOT NULL OR environment_id = $3)
        ORDER BY last_heartbeat_at DESC NULLS LAST`,
      [request.tenantId, input.agentId ?? null, input.environmentId, SCRIPT_CAPABILITY, deps.config.AGENT_OFFLINE_AFTER],
    );
    let agent;
    if (input.agentId) {
      agent = rows[0];
      if (!agent) throw stepFailure('AGENT_NOT_FOUND', `Agent ${input.agentId} not found`);
      if (agent.environment_id !== input.environmentId) throw stepFailure('AGENT_NOT_IN_ENVIRONMENT', `Agent ${agent.name} is not an agent of environment ${input.environmentId}: a script runs only on its environment's agents`);
      if (agent.revoked) throw stepFailure('AGENT_REVOKED', `Agent ${agent.name} is revoked`);
      if (!agent.scripts) throw stepFailure('SCRIPTS_NOT_ALLOWED', `Agent ${agent.name} runs no template commands: its operator did not start it with --allow-scripts`);
    } else {
      agent = rows.find((a) => !a.revoked && a.scripts && a.online);
      if (!agent) {
        const why = rows.some((a) => !a.revoked && a.online) ? 'none of its online agents was started with --allow-scripts' : 'it has no online agent';
        throw stepFailure('NO_SCRIPT_AGENT', `No agent of environment ${input.environmentId} can run the script: ${why}`);
      }
    }
    return {
      agentId: agent.id,
      agentName: agent.name,
      task: {
        tenantId: request.tenantId,
        runId: request.runId,
        nodeId: request.nodeId,
        itemIndex: request.itemIndex ?? -1,
        attempt: request.attempt,
        command: input.command,
        env: input.env ?? {},
        artifacts: input.artifacts ?? [],
        logCapLines: SCRIPT_LOG_CAP_LINES,
        cancelGraceMs: CANCEL_GRACE_MS,
      },
    };
  };
}

import type { AgentTaskInput, HealthCheck } from '../../domain/deployments/model';
import type { ApiTarget, TargetReport } from './api-client';
import { probeTarget } from '../hooks/health-check';
import { readJsonFile, writeJsonFile } from './state-files';

export interface LastDeploy {
  releaseId: string;
  releaseName: string;
  version: string;
  jobId: string;
  taskId: string;
  phase: string;
  attempt: number;
  deployedAt: string;
}

export interface TargetRecord {
  targetId: string;
  name: string;
  /** From the last task for this target (the environment's default check included), for the heartbeat's probe. */
  healthCheck: HealthCheck | null;
  lastDeploy: LastDeploy | null;
}

/**
 * What this agent remembers about its targets, in memory and in `<name>.targets.json`, so a restarted agent
 * still reports what each target runs and still knows whether it finished a task it had claimed.
 */
export class TargetRecords {
  private readonly records = new Map<string, TargetRecord>();

  constructor(private readonly file: string) {
    const saved = readJsonFile<{ targets?: TargetRecord[] }>(file);
    for (const record of saved?.targets ?? []) if (record?.targetId) this.records.set(record.targetId, record);
  }

  get(targetId: string): TargetRecord | undefined {
    return this.records.get(targetId);
  }

  all(): TargetRecord[] {
    return [...this.records.values()];
  }

  /** A task arrived for the target: keep its name and health check. */
  rememberTask(input: AgentTaskInput): void {
    const previous = this.records.get(input.target.id);
    this.records.set(input.target.id, {
      targetId: input.target.id,
      name: input.target.name,
      healthCheck: input.target.healthCheck ?? null,
      lastDeploy: previous?.lastDeploy ?? null,
    });
    this.save();
  }

  /** The task's hooks and health check passed: the target now runs the task's release. */
  recordSuccess(input: AgentTaskInput, deployedAt: string): void {
    const record = this.records.get(input.target.id) ?? { targetId: input.target.id, name: input.target.name, healthCheck: input.target.healthCheck ?? null, lastDeploy: null };
    record.lastDeploy = {
      releaseId: input.release.id,
      releaseName: input.release.name,
      version: input.release.version,
      jobId: input.jobId,
      taskId: input.taskId,
      phase: input.phase,
      attempt: input.attempt,
      deployedAt,
    };
    this.records.set(input.target.id, record);
    this.save();
  }

  private save(): void {
    writeJsonFile(this.file, { targets: this.all() });
  }
}

/** How long one heartbeat probe of a target may take; a slow target must not hold up the agent's heartbeat. */
const PROBE_TIMEOUT_MS = 3_000;

/**
 * What each of the agent's targets runs, for the heartbeat: the release and version its health URL reports, else
 * the agent's record of its last successful deploy there. `healthy` is null when the target has no health URL.
 */
export async function reportTargets(targets: ApiTarget[], records: TargetRecords, signal?: AbortSignal): Promise<TargetReport[]> {
  return Promise.all(
    targets.map(async (target): Promise<TargetReport> => {
      const record = records.get(target.id);
      const url = target.healthCheck?.url ?? record?.healthCheck?.url ?? null;
      const timeoutMs = Math.min(PROBE_TIMEOUT_MS, (target.healthCheck?.timeoutSeconds ?? record?.healthCheck?.timeoutSeconds ?? 3) * 1000);
      const probe = url ? await probeTarget(url, timeoutMs, signal) : null;
      const fromProbe = probe && (probe.releaseId || probe.version);
      return {
        targetId: target.id,
        releaseId: reported(fromProbe ? probe.releaseId : (record?.lastDeploy?.releaseId ?? null)),
        version: reported(fromProbe ? probe.version : (record?.lastDeploy?.version ?? null)),
        healthy: probe ? probe.healthy : null,
      };
    }),
  );
}

/** What a target's own answer says goes to the API as short, storable text (it refuses the whole heartbeat otherwise). */
function reported(value: string | null): string | null {
  if (value === null) return null;
  const clean = value.replace(/[\u0000\ud800-\udfff]/g, '').trim().slice(0, 200);
  return clean || null;
}

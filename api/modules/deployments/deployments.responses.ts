import { z } from '@hono/zod-openapi';
import { FAILURE_POLICIES, JOB_STATUSES, STRATEGY_TYPES, TASK_STATUSES } from '../../../domain/deployments/model';

/** What the deployment-job, task, log, artifact and rollback routes answer (Stella: camelCase), as domain/deployments/model.ts types them. */

const TaskErrorSchema = z.object({ code: z.string(), message: z.string() });

export const StrategySchema = z
  .object({
    type: z.enum(STRATEGY_TYPES),
    batchSize: z.number().int().nullable().optional(),
    maxUnavailable: z.number().int().nullable().optional(),
    minHealthy: z.string().nullable().optional().openapi({ description: 'A count ("3") or a percentage ("75%") of targets that must stay healthy' }),
  })
  .openapi('DeploymentStrategy');

const DecisionSchema = z.object({
  action: z.enum(['retry', 'skip', 'rollback', 'abort', 'cancel']),
  taskId: z.string().nullable(),
  targetId: z.string().nullable(),
  by: z.string(),
  reason: z.string().nullable(),
  at: z.string(),
});

export const DeploymentJobSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    kind: z.enum(['promotion', 'rollback', 'rollout']),
    status: z.enum(JOB_STATUSES),
    statusReason: z.string().nullable(),
    environmentId: z.string(),
    environmentName: z.string(),
    releaseId: z.string(),
    releaseName: z.string(),
    releaseVersion: z.string(),
    promotionId: z.string().nullable(),
    rollbackId: z.string().nullable(),
    strategy: StrategySchema,
    failurePolicy: z.enum(FAILURE_POLICIES),
    labelSelector: z.record(z.string(), z.string()),
    requestedBy: z.string(),
    queuePosition: z.number().int().nullable().openapi({ description: 'Where a queued job stands (1 = next); null once it runs' }),
    pausedOn: z
      .object({ taskId: z.string(), targetId: z.string(), targetName: z.string(), error: TaskErrorSchema })
      .nullable()
      .openapi({ description: 'The failure a paused job waits on: answer it with retry, skip, rollback or abort naming its taskId' }),
    progress: z
      .object({
        total: z.number().int(),
        succeeded: z.number().int(),
        failed: z.number().int(),
        skipped: z.number().int(),
        cancelled: z.number().int().openapi({ description: 'Targets whose deploy task a cancel stopped or never let start' }),
        running: z.number().int(),
        pending: z.number().int(),
      })
      .openapi({ description: 'Targets counted by their newest deploy task; they add up to total' }),
    batch: z.object({ index: z.number().int(), count: z.number().int() }).nullable(),
    decisions: z.array(DecisionSchema).openapi({ description: 'Every operator decision: what, on which task, who and why' }),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi('DeploymentJob');

const LogInfoSchema = z
  .object({
    size: z.number().int().openapi({ description: 'Characters the task logged: offsets run to here (past the cap, not all of them are stored)' }),
    capped: z.boolean().openapi({
      description: 'True once the log passed its cap: its first and last capBytes/2 characters are kept, and a marker line stands where the rest was dropped',
    }),
    capBytes: z.number().int(),
  })
  .openapi('DeploymentTaskLogInfo');

export const DeploymentTaskSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    jobId: z.string(),
    targetId: z.string(),
    targetName: z.string(),
    agentId: z.string().nullable(),
    phase: z.enum(['deploy', 'rollback']),
    attempt: z.number().int(),
    status: z.enum(TASK_STATUSES),
    releaseId: z.string(),
    releaseName: z.string(),
    releaseVersion: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    exitCode: z.number().int().nullable(),
    healthChecks: z.number().int(),
    error: TaskErrorSchema.nullable(),
    stoppedBy: z.enum(['SIGTERM', 'SIGKILL']).nullable().openapi({ description: 'How a hook still running when the job was cancelled was stopped' }),
    log: LogInfoSchema,
  })
  .openapi('DeploymentTask');

export const LedgerEntrySchema = z
  .object({
    jobId: z.string(),
    targetId: z.string(),
    phase: z.enum(['deploy', 'rollback']),
    attempt: z.number().int(),
    taskId: z.string(),
    agentId: z.string(),
    claimedAt: z.string(),
  })
  .openapi('DeploymentLedgerEntry');

export const DeploymentTaskDetailSchema = DeploymentTaskSchema.extend({
  ledger: z.array(LedgerEntrySchema).openapi({ description: 'The claim of this job, target, phase and attempt: the hook ran once, under the task that claimed it' }),
}).openapi('DeploymentTaskDetail');

export const TaskLogSchema = z
  .object({
    taskId: z.string(),
    offset: z.number().int(),
    nextOffset: z.number().int().openapi({ description: 'Ask for this offset next to follow the log' }),
    data: z.string().openapi({ description: 'The log from offset; where a capped log dropped text, a "[tollgate] … characters … dropped here" line, and nextOffset jumps past it' }),
    size: z.number().int(),
    capped: z.boolean(),
    complete: z.boolean().openapi({ description: 'The task has finished and nothing is left to read' }),
  })
  .openapi('DeploymentTaskLog');

export const ArtifactSchema = z
  .object({
    id: z.string(),
    taskId: z.string(),
    targetId: z.string().nullable(),
    name: z.string(),
    size: z.number().int(),
    sha256: z.string().openapi({ description: 'Hex SHA-256 of the content' }),
    createdAt: z.string(),
    downloadUrl: z.string(),
  })
  .openapi('DeploymentArtifact');

const FreezeOverrideSchema = z
  .object({ windowId: z.string(), name: z.string(), start: z.string(), end: z.string(), by: z.string(), reason: z.string() })
  .openapi('FreezeOverride');

export const RollbackSchema = z
  .object({
    id: z.string(),
    environmentId: z.string(),
    releaseId: z.string().openapi({ description: 'The release the environment goes back to' }),
    fromReleaseId: z.string().nullable().openapi({ description: 'The release the environment ran when the rollback was asked for' }),
    jobId: z.string().openapi({ description: 'The deployment job that redeploys releaseId' }),
    reason: z.string(),
    requestedBy: z.string(),
    freezeOverride: FreezeOverrideSchema.nullable().openapi({ description: 'Set when the rollback went ahead during a freeze: which freeze, who overrode it (deployment:override-freeze) and why' }),
    createdAt: z.string(),
  })
  .openapi('Rollback');

export const IdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
export const TaskParams = IdParam.extend({ taskId: z.uuid().openapi({ param: { name: 'taskId', in: 'path' } }) });
export const ArtifactParams = IdParam.extend({ artifactId: z.uuid().openapi({ param: { name: 'artifactId', in: 'path' } }) });

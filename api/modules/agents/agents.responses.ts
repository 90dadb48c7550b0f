import { z } from '@hono/zod-openapi';
import { ROUTER_PROVIDERS } from '../../../domain/traffic';

/** What the agents API answers (Stella: camelCase). */

export const AGENT_STATUSES = ['online', 'offline', 'revoked'] as const;

export const AgentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    environmentId: z.string(),
    labels: z.record(z.string(), z.string()),
    version: z.string().nullable(),
    capabilities: z.array(z.string()),
    router: z
      .object({ provider: z.enum(ROUTER_PROVIDERS), listen: z.string() })
      .nullable()
      .openapi({ description: 'The traffic router the agent drives for its environment, as it last reported it (rollouts send their traffic changes to it); null: none' }),
    status: z.enum(AGENT_STATUSES).openapi({ description: 'revoked; online when it heartbeated within AGENT_OFFLINE_AFTER; else (or before its first heartbeat) offline' }),
    lastHeartbeatAt: z.string().nullable(),
    registeredAt: z.string(),
    registeredBy: z.string(),
    updatedAt: z.string(),
    targetIds: z.array(z.string()).openapi({ description: 'The targets this agent deploys to' }),
    taskQueue: z.string().openapi({ description: 'The Temporal task queue its tasks are scheduled on; the API polls it while the agent’s work channel is open' }),
  })
  .openapi('Agent');

export const AgentRegistrationSchema = z
  .object({
    agent: AgentSchema,
    credential: z.string().openapi({ description: 'The agent’s own bearer credential (tga_…), shown only here: use it for every later call' }),
    taskQueue: z.string(),
    workChannel: z.string().openapi({ description: 'Where the agent opens its WebSocket to receive tasks (relative to the API base URL); it needs no Temporal access' }),
    heartbeatIntervalSeconds: z.number(),
  })
  .openapi('AgentRegistered');

export const HeartbeatAnswerSchema = z
  .object({
    agent: AgentSchema,
    serverTime: z.string(),
    offlineAfterSeconds: z.number().openapi({ description: 'Without a heartbeat for this long the agent shows offline' }),
    ignoredTargets: z.array(z.string()).openapi({ description: 'Reported targets that are not this agent’s: their reports were not recorded' }),
    lostTargets: z
      .array(
        z.object({
          targetId: z.string(),
          targetName: z.string(),
          takenByAgentId: z.string(),
          takenByAgentName: z.string(),
          takenAt: z.string(),
        }),
      )
      .openapi({ description: 'Targets another agent’s registration took from this agent since the last answer (each told once): stop deploying to and reporting them' }),
  })
  .openapi('AgentHeartbeatAnswer');

export const ClaimAnswerSchema = z.object({ claimed: z.literal(true) }).openapi('TaskClaimed');

export const LogAnswerSchema = z
  .object({
    size: z.number().int().openapi({ description: 'Characters of the log the server has taken, kept or not: the next offset to send' }),
    capped: z.boolean().openapi({
      description: 'The log passed its cap: the server keeps its head and a rolling tail of what follows, so keep sending to the end (the last lines are kept)',
    }),
    capBytes: z.number().int(),
  })
  .openapi('TaskLogAppended');

export const ArtifactSchema = z
  .object({
    id: z.string(),
    jobId: z.string(),
    taskId: z.string(),
    name: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    createdAt: z.string(),
  })
  // Not DeploymentArtifact: that is the job's artifact list item (deployments.responses.ts), a shape of its own.
  .openapi('UploadedArtifact');

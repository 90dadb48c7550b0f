import { z } from 'zod';
import { ROUTER_PROVIDERS, TRAFFIC_ACTIVITIES, type TrafficActivityInputs, type TrafficActivityResults } from '../traffic';
import { scriptResultSchema, type ScriptTaskInput, type ScriptTaskResult } from '../script-task';
import { storableCopy, storableText } from '../text';
import type { AgentTaskInput, AgentTaskResult } from './model';
import { unclaimedError } from './task-errors';
import type { TargetHealthInput, TargetHealthResult } from './target-health';

/**
 * The agent's work channel: how a task Temporal schedules on `agent-<id>`
 * reaches the agent without the agent holding any Temporal access. The API
 * polls the agent's queue while the agent's WebSocket is open, hands each
 * task over as a delivery, and completes the activity when the agent reports
 * back over HTTP with its own credential (docs/ARCHITECTURE.md, "Agents").
 */
export const AGENT_ACTIVITIES = ['deployTarget', 'checkTargetHealth', ...TRAFFIC_ACTIVITIES, 'runScript'] as const;
export type AgentActivity = (typeof AGENT_ACTIVITIES)[number];

export interface DeliveryInputs extends TrafficActivityInputs {
  deployTarget: AgentTaskInput;
  checkTargetHealth: TargetHealthInput;
  runScript: ScriptTaskInput;
}
export interface DeliveryResults extends TrafficActivityResults {
  deployTarget: AgentTaskResult;
  checkTargetHealth: TargetHealthResult;
  runScript: ScriptTaskResult;
}

/** Server → agent, over the work channel. */
export type WorkMessage =
  | { type: 'ready'; agentId: string }
  | {
      type: 'task';
      deliveryId: string;
      activity: AgentActivity;
      input: DeliveryInputs[AgentActivity];
      attempt: number;
      startToCloseTimeoutMs: number | null;
      heartbeatTimeoutMs: number | null;
    };

const text = (max: number) => storableText().max(max);
const instant = text(40);
const taskError = z.strictObject({ code: text(100), message: text(8_000) });

/** A deployTarget's answer as the agent reports it; checked before it reaches the workflow. */
export const agentTaskResultSchema = z.strictObject({
  outcome: z.enum(['succeeded', 'failed']),
  exitCode: z.number().int().min(-1_000).max(1_000).nullable(),
  healthChecks: z.number().int().min(0).max(1_000_000),
  error: taskError.nullable(),
  alreadyClaimed: z.boolean(),
  startedAt: instant,
  finishedAt: instant,
});

export const targetHealthResultSchema = z.strictObject({
  healthy: z.boolean(),
  checks: z.number().int().min(0).max(1_000_000),
  lastStatus: text(200).nullable(),
  message: text(8_000),
  checkedAt: instant,
  reported: z.strictObject({ releaseId: text(200).nullable(), version: text(200).nullable() }),
});

/** What the agent's router reports (domain/traffic.ts): read back from the router, so checked like any report. */
const variant = z.enum(['stable', 'canary']);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const millis = z.number().min(0).max(86_400_000).nullable();
const percent = z.number().min(0).max(100);
const matchSchema = z.union([
  z.strictObject({ header: z.strictObject({ name: text(200), value: text(500) }) }),
  z.strictObject({ cookie: z.strictObject({ name: text(200), value: text(500) }) }),
]);
export const trafficStateSchema = z.strictObject({
  provider: z.enum(ROUTER_PROVIDERS),
  routeId: text(200),
  canaryWeight: percent,
  stableWeight: percent,
  match: matchSchema.nullable(),
  servers: z.array(z.strictObject({ name: text(200), variant, weight: z.number().int().min(0).max(1_000_000), state: text(100) })).max(500),
  readAt: instant,
});
const counters = z.strictObject({ requests: count, errors5xx: count, meanResponseMs: millis });
export const routerStatsSchema = z.strictObject({ routeId: text(200), stable: counters, canary: counters, at: instant });
export const probeResultsSchema = z.array(z.strictObject({ variant, requests: count, errors: count, p50Ms: millis, p99Ms: millis })).max(200);

export const RESULT_SCHEMAS = {
  deployTarget: agentTaskResultSchema,
  checkTargetHealth: targetHealthResultSchema,
  setTraffic: trafficStateSchema,
  readTraffic: trafficStateSchema,
  routerStats: routerStatsSchema,
  probeHttp: probeResultsSchema,
  runScript: scriptResultSchema,
} as const;

/**
 * What an agent reports quotes targets and hooks (a health answer's body, a
 * hook's output), whose text Tollgate does not choose: a NUL or half a
 * surrogate pair there is kept as U+FFFD (domain/text's storableCopy), never a
 * reason to refuse the report, which would leave its task running.
 */
const reported = (max: number) => z.string().max(max);

/** A free-form object an agent reports: at most `keys` keys and `bytes` characters of JSON, both stated in the document. */
const reportedObject = (keys: number, bytes: number) =>
  z
    .record(reported(100), z.unknown())
    .refine((v) => Object.keys(v).length <= keys, { message: `at most ${keys} keys` })
    .refine((v) => JSON.stringify(v).length <= bytes, { message: `must be at most ${bytes / 1024} KiB as JSON` })
    .meta({ maxProperties: keys });
const details = reportedObject(50, 16_384);

export const deliveryHeartbeatSchema = z
  .strictObject({ details: details.optional().meta({ description: 'What the task is doing (shown as the activity’s heartbeat details)' }) })
  .overwrite(storableCopy)
  .meta({ id: 'DeliveryHeartbeat', description: 'NUL characters and unpaired surrogates in any text are kept as U+FFFD' });

export const deliveryResultSchema = z
  .discriminatedUnion('status', [
    z.strictObject({
      status: z.literal('completed'),
      result: z
        .union([
          reportedObject(50, 65_536),
          z
            .array(reportedObject(50, 4_096))
            .max(200)
            .refine((v) => JSON.stringify(v).length <= 65_536, { message: 'must be at most 64 KiB as JSON' }),
        ])
        .meta({
          description:
            'The activity’s answer: an AgentTaskResult for deployTarget, a TargetHealthResult for checkTargetHealth, a TrafficState for setTraffic and readTraffic, RouterStats for routerStats, an array of ProbeResult for probeHttp, a ScriptTaskResult for runScript; at most 64 KiB as JSON',
        }),
    }),
    z.strictObject({
      status: z.literal('failed'),
      error: z.strictObject({ message: reported(8_000), type: reported(200).optional(), nonRetryable: z.boolean().optional() }),
    }),
    z.strictObject({ status: z.literal('cancelled'), details: details.optional().meta({ description: 'How the task ended, e.g. {stoppedBy, exitCode}' }) }),
  ])
  .overwrite(storableCopy)
  .meta({ id: 'DeliveryResult', description: 'NUL characters and unpaired surrogates in any text are kept as U+FFFD' });

export type DeliveryResult = z.infer<typeof deliveryResultSchema>;

/**
 * A deployTarget that says `succeeded` counts only if the ledger shows this
 * agent claimed that (job, target, phase, attempt): a result without a claim
 * ran no hook under the ledger's guard (or ran none at all) and must not move
 * the target's sticker.
 */
export function unclaimedResult(result: AgentTaskResult, agentId: string): AgentTaskResult {
  return { ...result, outcome: 'failed', exitCode: null, error: unclaimedError(agentId) };
}

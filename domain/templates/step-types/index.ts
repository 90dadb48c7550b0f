import { z } from 'zod';
import type { StepTypeName } from '../model';

/**
 * What each step type takes and gives: the one declaration the template
 * validator checks inputs against, `GET /step-types` publishes as JSON
 * Schema, and the step's code parses its resolved inputs with.
 */

/** Where a step runs: an activity on the orchestrator's queue, an agent's work channel, a durable timer, the run's own approval handler, or a child workflow. */
export type StepRunsOn = 'activity' | 'agent' | 'timer' | 'approval' | 'child';

export interface StepTypeDefinition {
  type: StepTypeName;
  description: string;
  runsOn: StepRunsOn;
  input: z.ZodType;
  output: z.ZodType;
  /** Why this type cannot run yet, when it cannot: a template using it is refused at validation, not failed mid-run. */
  unavailable?: string;
}

const uuid = z.uuid({ message: 'must be a UUID' });
const duration = z.string().min(1).max(32).regex(/^\s*(?:\d+|(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)\s*$/, { message: 'must be a duration such as 30s, 5m or 1h30m' });
const text = (max: number) => z.string().max(max);
const shortMap = z.record(z.string().min(1).max(128), z.string().max(4096));

export const STEP_TYPE_DEFINITIONS: Record<StepTypeName, StepTypeDefinition> = {
  script: {
    type: 'script',
    description: "Runs a command on an agent of an environment (the agent's own work channel); its output lines are the step's logs, `name=value` lines written to $TOLLGATE_OUTPUT its outputs, listed files its artifacts.",
    runsOn: 'agent',
    input: z.strictObject({
      environmentId: uuid,
      /** One agent of the environment; absent: any online agent of it. */
      agentId: uuid.optional(),
      command: text(8192).min(1),
      env: shortMap.optional(),
      artifacts: z.array(text(512).min(1)).max(20).optional(),
    }),
    output: z.object({ exitCode: z.number().int(), agentId: z.string(), outputs: z.record(z.string(), z.string()) }),
  },
  http: {
    type: 'http',
    description: 'Calls a URL; fails unless the status is expected and every JSON path check holds. Outputs the status and the JSON (or text) body.',
    runsOn: 'activity',
    input: z.strictObject({
      url: z.url({ message: 'must be an http(s) URL' }).max(2048),
      method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).default('GET'),
      headers: shortMap.optional(),
      body: z.unknown().optional(),
      expectStatus: z.array(z.number().int().min(100).max(599)).min(1).max(20).optional(),
      checks: z.array(z.strictObject({ path: text(256).min(1), equals: z.unknown().optional(), exists: z.boolean().optional() })).max(20).optional(),
    }),
    output: z.object({ status: z.number().int(), body: z.unknown() }),
  },
  wait: {
    type: 'wait',
    description: 'A durable timer: waits for a duration or until a time; survives restarts.',
    runsOn: 'timer',
    input: z.union([z.strictObject({ duration }), z.strictObject({ until: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with offset' }) })]),
    output: z.object({ waitedUntil: z.string() }),
  },
  approval: {
    type: 'approval',
    description: "Waits for N approvals from members of the groups (promotions' rules: one vote per person, separation of duties from the run's requester, any rejection fails it), or fails when it expires.",
    runsOn: 'approval',
    input: z.strictObject({
      approvals: z.number().int().min(1).max(20).default(1),
      groups: z.array(text(128).min(1)).max(20).default([]),
      separationOfDuties: z.boolean().default(true),
      expiresIn: duration.optional(),
      message: text(2000).optional(),
    }),
    output: z.object({ approvedBy: z.array(z.string()) }),
  },
  gate: {
    type: 'gate',
    description: "Evaluates the promotion gates (policy, freeze, scans, order, SoD, CEL gates) for a release on an environment, as preview-gates does; fails when a gate blocks unless `failOnBlocked` is false.",
    runsOn: 'activity',
    input: z.strictObject({ releaseId: uuid, environmentId: uuid, failOnBlocked: z.boolean().default(true) }),
    output: z.object({ passed: z.boolean(), gates: z.array(z.unknown()) }),
  },
  promote: {
    type: 'promote',
    description: 'Requests a promotion of a release to an environment (its own policy, approvals and gates) and waits for its outcome; succeeds when it is deployed.',
    runsOn: 'child',
    input: z.strictObject({ releaseId: uuid, environmentId: uuid, reason: text(2000).optional() }),
    output: z.object({ promotionId: z.string(), status: z.string(), deploymentJobId: z.string().nullable() }),
  },
  deploy: {
    type: 'deploy',
    description: 'Runs a deployment job of a promotion that is approved for its environment (the same clearance every deploy meets: no path around the gates) and waits for it.',
    runsOn: 'child',
    input: z.strictObject({ promotionId: uuid }),
    output: z.object({ deploymentJobId: z.string(), status: z.string() }),
  },
  'change-request': {
    type: 'change-request',
    description:
      "Opens a change request (the changes module's own create, as POST /changes), submits it (a normal change goes to CAB review) and waits until it is scheduled; fails when it is rejected or cancelled. A step tried again finds the change its first try opened.",
    runsOn: 'child',
    input: z.strictObject({
      title: text(255).min(1),
      description: text(10000).optional(),
      type: z.enum(['standard', 'normal', 'emergency']).default('normal'),
      assignmentGroup: text(255).optional(),
      implementationPlan: text(20000).optional(),
      backoutPlan: text(20000).optional(),
      testPlan: text(20000).optional(),
      scheduledStart: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with offset' }).optional(),
      scheduledEnd: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with offset' }).optional(),
      ciId: text(64).optional(),
      cabApprovers: z.array(z.email({ message: 'must be an email address' }).max(320)).max(50).optional(),
      cabQuorum: z.number().int().min(1).max(50).optional(),
    }),
    output: z.object({ changeId: z.string(), state: z.string(), riskLevel: z.string(), riskScore: z.number() }),
  },
  rollout: {
    type: 'rollout',
    description:
      "Starts a created rollout (canary, blue-green or A/B on the environment's router) through the rollouts module's own start, as POST /ab-releases/{id}/start does, and waits for its outcome: completed succeeds; aborted (a rollback) or failed fails the step. The environment needs an agent driving a router (else the step fails with NO_ROUTER).",
    runsOn: 'child',
    input: z.strictObject({ rolloutId: uuid, reason: text(2000).optional() }),
    output: z.object({ rolloutId: z.string(), state: z.string(), canaryWeight: z.number() }),
  },
  notify: {
    type: 'notify',
    description:
      'Posts a JSON message to `url` (Slack- and Teams-compatible `text`, signed with an HMAC header when the worker has TEMPLATE_NOTIFY_SECRET), or delivers it through a webhook integration (`integrationId`: its format, signing secret and retries, secrets never in the run), or through a notifier plugin instance (`pluginInstanceId`: the plugin\'s notify, bounded by PLUGIN_CALL_TIMEOUT). Exactly one of the three.',
    runsOn: 'activity',
    input: z
      .strictObject({
        url: z.url({ message: 'must be an http(s) URL' }).max(2048).optional(),
        integrationId: uuid.optional(),
        pluginInstanceId: uuid.optional(),
        title: text(200).min(1).optional(),
        text: text(4000).min(1),
        payload: z.record(z.string(), z.unknown()).optional(),
      })
      .refine((v) => [v.url, v.integrationId, v.pluginInstanceId].filter((x) => x !== undefined).length === 1, {
        message: 'give exactly one of url, integrationId or pluginInstanceId',
        path: ['url'],
      }),
    output: z.object({ status: z.number().int().optional(), attempts: z.number().int().optional(), pluginId: z.string().optional() }),
  },
};

import { z } from 'zod';
import { environmentDeploymentSchema, healthCheckSchema, LABEL_KEY, labelsSchema, propertiesSchema } from '../inventory-fields';
import { acrossFields } from '../cross-field';
import { instant } from '../instant';
import { parseIsoDuration } from '../iso-duration';
import { DOCUMENTED_NON_BLANK_TEXT, storableText } from '../text';
import { wallClockAt, wallClockToFloating } from '../time-zone';
import { CEL_MAX_LENGTH } from '../cel';
import { celGateProblem } from './cel-gates';
import { recurrenceProblem } from './freeze';
import { freezeRuleProblem, normalizeRule } from './freeze-rule-limits';
import { PROMOTION_STATUSES } from './statuses';

/** Request bodies of the promotion and inventory APIs (Stella spec: camelCase field names). */

// The length limit is on the text as sent, as the documents state it; trimming comes after.
const text = (max: number) => storableText().max(max).trim();
/** Text that must say something: the document states that blanks are refused, as the server does after trimming. */
const name = text(100).min(1, { message: 'is required' }).meta({ pattern: DOCUMENTED_NON_BLANK_TEXT });
const uuid = z.uuid({ message: 'must be a UUID' });
const count = z.number().int().min(0).max(1_000_000);

// A change's number as the change module issues it (CHG and at least seven digits); modules never import each other.
// At most 18 digits, as incidents take them: the number is carried in gates, decisions and evidence, so it must stay short.
const CHANGE_NUMBER = /^CHG\d{7,18}$/;

export const RELEASE_CLASS = /^[a-z][a-z0-9_-]{0,31}$/;
const releaseClass = z.string().max(32).regex(RELEASE_CLASS, { message: 'must be a lower-case word such as standard or hotfix' });

export const securityThresholdsSchema = z.strictObject({ maxCritical: count, maxHigh: count }).meta({ id: 'SecurityThresholds' });
export const securityScanSchema = z.strictObject({ criticalCount: count, highCount: count }).meta({ id: 'SecurityScan' });

export const environmentSchema = z
  .strictObject({
    name,
    description: text(2_000).nullable().optional(),
    order: z.number().int().min(0).max(10_000).meta({ description: 'Position in the pipeline (dev 1 → staging 2 → prod 3); unique per tenant' }),
    requireSod: z.boolean().default(false),
    requiredApprovals: z.number().int().min(0).max(50).default(1),
    securityThresholds: securityThresholdsSchema.nullable().optional(),
    requireChangeRequest: z.boolean().default(false),
    deployment: environmentDeploymentSchema
      .nullable()
      .optional()
      .meta({ description: 'How deployments to this environment run: strategy, failure policy, a default deploy hook and health check' }),
  })
  .meta({ id: 'EnvironmentInput' });

export const freezeWindowSchema = z
  .strictObject({
    name,
    reason: text(2_000).nullable().optional(),
    start: instant()
      .optional()
      .meta({ description: 'One-off: when the freeze starts. Recurring: its first occurrence (at most a year ago; by default local midnight of the day the window is created)' }),
    end: instant().optional().meta({ description: 'One-off: when the freeze ends (at most five years from now)' }),
    rrule: text(500)
      .overwrite(normalizeRule)
      .optional()
      .meta({ description: 'RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=SA (recurring form): DAILY, WEEKLY, MONTHLY or YEARLY, at most one occurrence a day, each ending before the next starts' }),
    timezone: text(64).optional().meta({ description: 'IANA time zone of the recurrence, e.g. Europe/Berlin' }),
    duration: text(64).optional().meta({ description: 'ISO 8601 duration of each occurrence, e.g. PT48H; at most P366D' }),
    exemptReleaseClasses: z.array(releaseClass).max(20).default([]),
  })
  .superRefine((w, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (w.rrule !== undefined) {
      if (w.end !== undefined) issue('end', 'a recurring window has a duration, not an end');
      if (!w.timezone) issue('timezone', 'is required with rrule');
      if (!w.duration) issue('duration', 'is required with rrule');
      if (w.timezone && w.duration) {
        const problem = recurrenceProblem(w.rrule, w.timezone, w.duration);
        if (problem) return issue(problem.field, problem.message);
        const first = w.start === undefined ? undefined : wallClockToFloating(wallClockAt(Date.parse(w.start), w.timezone));
        const limit = freezeRuleProblem(w.rrule, parseIsoDuration(w.duration)!, first);
        if (limit) issue(limit.field, limit.message);
      }
      return;
    }
    if (w.start === undefined) issue('start', 'is required (or give rrule, timezone and duration for a recurring window)');
    if (w.end === undefined) issue('end', 'is required (or give rrule, timezone and duration for a recurring window)');
    if (w.start && w.end && Date.parse(w.end) <= Date.parse(w.start)) issue('end', 'must be after start');
    if (w.timezone !== undefined || w.duration !== undefined) issue(w.timezone !== undefined ? 'timezone' : 'duration', 'only applies with rrule');
  }, acrossFields('start', 'end', 'rrule', 'timezone', 'duration'))
  .meta({
    id: 'FreezeWindowInput',
    // Which fields go together, in the document as well as in the check above, so a body built from the document is
    // one of the two forms the server accepts (a field a form does not take is `false` there).
    oneOf: [
      { title: 'One-off', required: ['start', 'end'], properties: { rrule: false, timezone: false, duration: false } },
      { title: 'Recurring', required: ['rrule', 'timezone', 'duration'], properties: { end: false } },
    ],
  });

export { LABEL_KEY };
export const targetSchema = z
  .strictObject({
    name,
    environmentId: uuid,
    labels: labelsSchema(),
    properties: propertiesSchema,
    healthCheck: healthCheckSchema.nullable().optional().meta({ description: 'This target’s own health check; absent or null: the environment’s' }),
    agentId: uuid
      .nullable()
      .optional()
      .meta({ description: 'The agent (in the same environment) that deploys to this target; null: none. Absent on PUT: kept, unless the target moves to another environment' }),
    ciId: z
      .string()
      .max(20)
      .regex(/^CI\d{7,18}$/, { message: 'must be a CI id such as CI0000789' })
      .nullable()
      .optional()
      .meta({ description: 'The configuration item this target is in the CMDB (its host or service); null or absent: none' }),
  })
  .meta({ id: 'TargetInput' });

export const componentSchema = z
  .strictObject({
    name,
    repository: text(500).nullable().optional(),
    description: text(2_000).nullable().optional(),
    deployHook: text(2_000).nullable().optional().meta({ description: 'Command an agent runs to deploy this component to a target' }),
    pipelineId: uuid
      .nullable()
      .optional()
      .meta({ description: 'The promotion pipeline the component’s releases follow; absent or null: the default pipeline (every environment by order)' }),
  })
  .meta({ id: 'ComponentInput' });

const version = z.string().max(128).regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/, { message: 'must be a version such as 2.3.1' });
export const DIGEST = /^sha256:[a-f0-9]{64}$/;
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
export const syncVersionsSchema = z
  .strictObject({
    versions: z
      .array(z.strictObject({ version, digest: z.string().max(71).regex(DIGEST, { message: 'must be sha256: followed by 64 hex digits' }).nullable().optional() }))
      .min(1)
      .max(500)
      .optional(),
    fromRegistry: z
      .strictObject({
        integrationId: uuid,
        repository: z.string().min(1).max(255).regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/, { message: 'must be a repository name such as team/app' }),
      })
      .optional()
      .meta({ description: "Pull the versions from a container-registry integration instead: the repository's tags (those that read as versions) with their manifest digests" }),
  })
  .refine((b) => (b.versions === undefined) !== (b.fromRegistry === undefined), { message: 'give either versions or fromRegistry, not both and not neither', path: ['versions'] })
  // The rule above, as the document states it.
  .meta({ id: 'SyncVersionsInput', oneOf: [{ required: ['versions'] }, { required: ['fromRegistry'] }] });

export const releaseSchema = z
  .strictObject({
    name,
    version,
    description: text(2_000).nullable().optional(),
    class: releaseClass.default('standard'),
    components: z.array(z.strictObject({ componentId: uuid, version })).min(1).max(100),
    securityScan: securityScanSchema.nullable().optional(),
  })
  .meta({ id: 'ReleaseInput' });

export const releaseUpdateSchema = z
  .strictObject({
    description: text(2_000).nullable().optional(),
    class: releaseClass.optional(),
    securityScan: securityScanSchema.nullable().optional(),
  })
  .meta({ id: 'ReleaseUpdate' });

export const fromLatestSchema = z
  .strictObject({ name, version, componentIds: z.array(uuid).min(1).max(100).optional(), class: releaseClass.default('standard') })
  .meta({ id: 'ReleaseFromLatestInput' });

export const deprecateSchema = z.strictObject({ reason: text(2_000).nullable().optional() }).meta({ id: 'ReleaseDeprecate' });

export const celGateSchema = z
  .strictObject({
    name,
    expression: z
      .string()
      .max(CEL_MAX_LENGTH)
      .superRefine((expression, ctx) => {
        const problem = celGateProblem(expression);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .meta({
        description:
          'A CEL condition that must be true: over `release` (id, name, class, scan {critical, high}, components [{id, name, version, digest, scan}]), `environment` (id, name, order, securityThresholds), `approvals` (those that count: approverId, approverEmail, approvedAt) and `now` (a timestamp), e.g. `release.components.all(c, c.scan.critical == 0) && now.getDayOfWeek() < 5`',
      }),
    message: text(500).min(1, { message: 'is required: say what would unblock the gate' }).meta({ allOf: [{ pattern: DOCUMENTED_NON_BLANK_TEXT }] }),
  })
  .meta({ id: 'CelGateInput' });

export const httpGateSchema = z
  .strictObject({
    name,
    integrationId: uuid.optional().meta({ description: 'An http-gate integration of the tenant (POST /integrations with typeId http-gate); exactly one of integrationId and pluginInstanceId' }),
    pluginInstanceId: uuid
      .optional()
      .meta({ description: 'An instance (POST /plugin-instances) of a loaded plugin implementing http-gate, whose check is called; exactly one of integrationId and pluginInstanceId' }),
    message: text(500).min(1).nullable().optional().meta({ description: 'What would unblock the gate, shown when it fails' }),
    blocking: z.boolean().default(true).meta({ description: 'true: a failing gate stops the promotion; false: it is listed as failed and the promotion goes on' }),
  })
  .meta({ id: 'HttpGateInput' });

/** Gate names are unique within a list, case-insensitively: a gate result names its gate. */
const uniqueNames = (gates: { name: string }[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  gates.forEach((g, i) => {
    const key = g.name.toLowerCase();
    if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `repeats the name of an earlier gate (${g.name})` });
    seen.add(key);
  });
};

export const approvalPolicySchema = z
  .strictObject({
    name,
    environmentId: uuid,
    requiredApprovals: z.number().int().min(0).max(50),
    approverGroups: z.array(text(100).min(1).meta({ allOf: [{ pattern: DOCUMENTED_NON_BLANK_TEXT }] })).max(20).default([]),
    requireSeparationOfDuties: z.boolean().default(false),
    autoExpireHours: z.number().int().min(1).max(8_760).nullable().optional(),
    celGates: z
      .array(celGateSchema)
      .max(20)
      .default([])
      .superRefine(uniqueNames)
      .meta({ description: 'Gates of the policy’s own, evaluated with the built-in gates; one that does not hold blocks the promotion with its message' }),
    httpGates: z
      .array(httpGateSchema)
      .max(20)
      .default([])
      .superRefine(uniqueNames)
      .meta({
        description:
          'External checks, their names unique within the list: each calls an http-gate integration (its URL, method, expected statuses, bearer token and timeout) or an http-gate plugin instance’s check (bounded by PLUGIN_CALL_TIMEOUT) when the gates are evaluated (preview, request, approval, re-evaluation, before deploying); it passes when the service answers an expected status, or the plugin answers ok. A gate naming both or neither, an integrationId that is not an http-gate integration of the tenant, or a pluginInstanceId that is not an instance of a loaded http-gate plugin is refused (422)',
      }),
  })
  .meta({ id: 'ApprovalPolicyInput' });

export const createPromotionSchema = z
  .strictObject({
    releaseId: uuid,
    targetEnvironmentId: uuid,
    reason: text(2_000).min(1, { message: 'is required: say why this release goes there' }).meta({ allOf: [{ pattern: DOCUMENTED_NON_BLANK_TEXT }] }),
    changeId: z.string().max(21).regex(CHANGE_NUMBER, { message: 'must be a change number such as CHG0000456' }).nullable().optional(),
  })
  .meta({ id: 'PromotionInput' });

export const previewGatesSchema = z
  .strictObject({ releaseId: uuid, targetEnvironmentId: uuid, changeId: createPromotionSchema.shape.changeId })
  .meta({ id: 'PreviewGatesInput' });

export const approvePromotionSchema = z.strictObject({ comment: text(4_000).nullable().optional() }).meta({ id: 'PromotionApprove' });
export const rejectPromotionSchema = z
  .strictObject({ reason: text(4_000).min(1, { message: 'is required: say why the promotion is rejected' }).meta({ allOf: [{ pattern: DOCUMENTED_NON_BLANK_TEXT }] }), comment: text(4_000).nullable().optional() })
  .meta({ id: 'PromotionReject' });
export const cancelPromotionSchema = z.strictObject({ reason: text(2_000).nullable().optional() }).meta({ id: 'PromotionCancel' });

/** The command bodies, declared once above: the workflow's messages and `decide` take these types. */
export type ApprovePromotionBody = z.infer<typeof approvePromotionSchema>;
export type RejectPromotionBody = z.infer<typeof rejectPromotionSchema>;
export type CancelPromotionBody = z.infer<typeof cancelPromotionSchema>;

export const promotionStatusFilter = z.enum(PROMOTION_STATUSES);

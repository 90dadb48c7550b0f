import { z } from 'zod';
import { DOCUMENTED_STORABLE_TEXT, requiredTextField, storableText, textField } from './text';

/**
 * Fields the inventory (environments, targets) and the deployment module both
 * speak: labels, a target's properties and health check, an environment's
 * deployment settings. A root file, because domain modules never import each
 * other and the inventory's schemas live with promotions. Every rule a client
 * must follow is one the OpenAPI document can state (a pattern, a union of
 * strict objects), so a schema-driven client never builds a body the server
 * then refuses.
 */

export const STRATEGY_TYPES = ['all-at-once', 'rolling'] as const;
export interface Strategy {
  type: (typeof STRATEGY_TYPES)[number];
  /** rolling: how many targets each batch updates. */
  batchSize?: number | null;
  /** rolling: at most this many targets down at once (the batch size when batchSize is absent). */
  maxUnavailable?: number | null;
  /** Stop the job when fewer targets than this stay healthy: a count ("3") or a percentage ("75%"). */
  minHealthy?: string | null;
}

export const FAILURE_POLICIES = ['rollback', 'pause'] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

/** How a target's health is checked after its hook: an HTTP URL (2xx) or a command (exit 0), retried. */
export interface HealthCheck {
  url?: string | null;
  command?: string | null;
  retries: number;
  intervalSeconds: number;
  timeoutSeconds: number;
}

/** An environment's deployment settings (environments.deployment); every field optional, defaults in strategy.ts. */
export interface EnvironmentDeploymentSettings {
  strategy?: Strategy;
  failurePolicy?: FailurePolicy;
  /** Used for components that have no deploy hook of their own. */
  deployHook?: string | null;
  healthCheck?: HealthCheck | null;
  /** Which of the environment's targets a job deploys to (labels they must all carry); absent: every target. */
  targetLabels?: Record<string, string>;
}

const text = textField;
const required = requiredTextField;

export const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._\/-]{0,62}$/;
const labelKey = z.string().regex(LABEL_KEY, { message: 'label keys are letters, digits, . _ / -' });
// The document states the key rule as patternProperties, which schema-driven clients and fuzzers honour.
const labelsDoc = { patternProperties: { [LABEL_KEY.source]: { type: 'string', maxLength: 256, pattern: DOCUMENTED_STORABLE_TEXT } }, additionalProperties: false, maxProperties: 50 };
/** Labels key=value, as targets and agents carry them (an agent takes over the targets whose labels include its own). */
export const labelsSchema = () =>
  z
    .record(labelKey, text(256))
    .default({})
    .refine((l) => Object.keys(l).length <= 50, { message: 'at most 50 labels' })
    .meta({ description: 'Labels key=value; keys are letters, digits, . _ / - (at most 63), at most 50 labels', ...labelsDoc });

// Property keys are meant to reach the deploy hook as environment variable names, so they keep to a shell-safe alphabet.
export const PROPERTY_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const propertiesDoc = { patternProperties: { [PROPERTY_KEY.source]: { type: 'string', maxLength: 2000, pattern: DOCUMENTED_STORABLE_TEXT } }, additionalProperties: false, maxProperties: 50 };
export const propertiesSchema = z
  .record(z.string().regex(PROPERTY_KEY, { message: 'property keys are letters, digits and _, not starting with a digit (at most 64)' }), storableText().max(2000))
  .default({})
  .refine((p) => Object.keys(p).length <= 50, { message: 'at most 50 properties' })
  .meta({ description: 'What the deploy hook and the health check of this target need (e.g. its port), key=value; at most 50', ...propertiesDoc });

const H16 = '[0-9A-Fa-f]{1,4}';
const DEC_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const LS32 = `(?:${H16}:${H16}|${DEC_OCTET}(?:\\.${DEC_OCTET}){3})`;
/** `n` groups of h16 ":" (a plain repetition: a bounded quantifier reads the same in every regex engine). */
const h16s = (n: number) => (n === 0 ? '' : `(?:${H16}:){${n}}`);
/** RFC 3986's IPv6address: eight groups, or fewer with one "::", the last two groups possibly an IPv4 address. */
export const IPV6_ADDRESS = `(?:${[
  `${h16s(6)}${LS32}`,
  `::${h16s(5)}${LS32}`,
  ...[4, 3, 2, 1, 0].map((tail, i) => `(?:${i ? `(?:${H16}:){0,${i}}` : ''}${H16})?::${h16s(tail)}${LS32}`),
  `(?:(?:${H16}:){0,5}${H16})?::${H16}`,
  `(?:(?:${H16}:){0,6}${H16})?::`,
].join('|')})`;

// An http(s) URL as a pattern (not a parser's verdict), so the document says exactly what is accepted. Explicit ranges
// rather than \d and \s, which other regex engines (Python's, in the contract test) read as Unicode classes.
// A bracketed host is an IPv6 address exactly as RFC 3986 writes it (IPV6_ADDRESS), not any run of hex digits and colons.
export const HEALTH_URL = new RegExp(`^https?://(?:[A-Za-z0-9.-]+|\\[${IPV6_ADDRESS}\\])(?::[0-9]{1,5})?(?:[/?#][^\\u0000-\\u0020]*)?$`);
const checkTiming = {
  retries: z.number().int().min(0).max(20).default(3).meta({ description: 'Further attempts after a failed one' }),
  intervalSeconds: z.number().int().min(1).max(300).default(2).meta({ description: 'Pause between attempts' }),
  timeoutSeconds: z.number().int().min(1).max(120).default(5).meta({ description: 'Each attempt fails after this long' }),
};
const urlCheck = z.strictObject({
  url: z.string().max(2000).regex(HEALTH_URL, { message: 'must be an http:// or https:// URL' }).meta({ description: 'Healthy when a GET answers 2xx' }),
  command: z.null().optional(),
  ...checkTiming,
});
const commandCheck = z.strictObject({
  url: z.null().optional(),
  command: required(2000).meta({ description: 'Healthy when the command exits 0 (run by the agent, with the target in its environment)' }),
  ...checkTiming,
});
/** Exactly one of url and command: a union of two strict objects states that in the document itself. */
export const healthCheckSchema = z
  .union([urlCheck, commandCheck], { error: 'must give exactly one of url (http or https) and command' })
  .meta({ id: 'HealthCheckInput', description: 'An HTTP URL (2xx) or a command (exit 0), exactly one of them, retried' });

/** A health check in its stored and served form: both keys present, the absent one null. */
export interface NormalizedHealthCheck extends HealthCheck {
  url: string | null;
  command: string | null;
}

/** The stored and served form: both keys present, the absent one null. */
export function normalizeHealthCheck(check: z.infer<typeof healthCheckSchema> | null | undefined): NormalizedHealthCheck | null {
  if (!check) return null;
  return { url: check.url ?? null, command: check.command ?? null, retries: check.retries, intervalSeconds: check.intervalSeconds, timeoutSeconds: check.timeoutSeconds };
}

export const MIN_HEALTHY = /^(?:[0-9]{1,6}|(?:100|[1-9]?[0-9])%)$/;
export const strategySchema = z
  .strictObject({
    type: z.enum(STRATEGY_TYPES),
    batchSize: z.number().int().min(1).max(10_000).nullable().optional().meta({ description: 'rolling: targets per batch' }),
    maxUnavailable: z.number().int().min(1).max(10_000).nullable().optional().meta({ description: 'rolling: at most this many targets down at once (the batch size when batchSize is absent)' }),
    minHealthy: z
      .string()
      .max(6)
      .regex(MIN_HEALTHY, { message: 'must be a count such as "3" or a percentage such as "75%"' })
      .nullable()
      .optional()
      .meta({ description: 'Stop the job when fewer targets than this stay healthy: a count ("3") or a percentage ("75%")' }),
  })
  .meta({ id: 'DeploymentStrategyInput' });

export const environmentDeploymentSchema = z
  .strictObject({
    targetLabels: labelsSchema()
      .optional()
      .meta({ description: 'Deploy only to the targets carrying all these labels, e.g. {"role":"web"}; absent: every target of the environment' }),
    strategy: strategySchema.optional(),
    failurePolicy: z.enum(FAILURE_POLICIES).optional().meta({ description: 'rollback: return updated targets to what they ran before; pause: wait for an operator' }),
    deployHook: text(2_000).nullable().optional().meta({ description: 'Command an agent runs for components that have no deploy hook of their own' }),
    healthCheck: healthCheckSchema.nullable().optional(),
  })
  .meta({ id: 'EnvironmentDeploymentInput' });

/** Deployment settings in their stored and served form: a strategy names every field (null: not set), a health check both keys. */
export interface NormalizedDeploymentSettings extends EnvironmentDeploymentSettings {
  strategy?: Strategy & { batchSize: number | null; maxUnavailable: number | null; minHealthy: string | null };
  healthCheck?: NormalizedHealthCheck | null;
}

/** The stored and served form of an environment's deployment settings (keys in the documented order). */
export function normalizeDeploymentSettings(settings: z.infer<typeof environmentDeploymentSchema> | null | undefined): NormalizedDeploymentSettings | null {
  if (!settings) return null;
  const out: NormalizedDeploymentSettings = {};
  if (settings.strategy) {
    const s = settings.strategy;
    out.strategy = { type: s.type, batchSize: s.batchSize ?? null, maxUnavailable: s.maxUnavailable ?? null, minHealthy: s.minHealthy ?? null };
  }
  if (settings.failurePolicy) out.failurePolicy = settings.failurePolicy;
  if (settings.targetLabels && Object.keys(settings.targetLabels).length) out.targetLabels = settings.targetLabels;
  if (settings.deployHook !== undefined) out.deployHook = settings.deployHook;
  if (settings.healthCheck !== undefined) out.healthCheck = normalizeHealthCheck(settings.healthCheck);
  return out;
}

import { z } from 'zod';
import { FAILURE_POLICIES, healthCheckSchema, LABEL_KEY, PROPERTY_KEY, strategySchema } from '../inventory-fields';
import { DOCUMENTED_STORABLE_TEXT, storableText, textField } from '../text';
import { environmentSchema, targetSchema } from './requests';

/**
 * PATCH of targets and environments: merge semantics, so a one-field change
 * leaves the rest alone (a PUT replaces the whole entity, and drops what it
 * does not name). The rules, one level deep:
 *
 * - A field left out keeps its value; a field given replaces it.
 * - Maps merge key by key: `labels` and `properties` of a target, and an
 *   environment's `deployment` settings. A key given a value is set, a key given
 *   `null` is removed, other keys stay. Inside `deployment`, each setting
 *   (`strategy`, `failurePolicy`, `deployHook`, `healthCheck`, `targetLabels`) is
 *   replaced whole, never merged further; `"deployment": null` removes them all.
 * - Other objects (`healthCheck`, `securityThresholds`) are replaced whole;
 *   `null` clears them, as with PUT.
 *
 * The merged entity is then held to the PUT schema, so PATCH accepts exactly
 * the entities PUT does. The patch schemas carry no defaults: a field the
 * client did not send must not appear in the patch.
 */

const MAP_DOC = { additionalProperties: false, maxProperties: 100 };

/** A PATCH names at least one field: an empty one (or none at all) is a client's mistake, not a no-op. */
const SOMETHING = { message: 'send at least one field to change', when: (payload: { issues: unknown[] }) => payload.issues.length === 0 };
const atLeastOne = (v: object) => Object.keys(v).length > 0;

const labelsPatch = z
  .record(z.string().regex(LABEL_KEY, { message: 'label keys are letters, digits, . _ / -' }), textField(256).nullable())
  .refine((l) => Object.keys(l).length <= 100, { message: 'at most 100 labels in one patch' })
  .meta({
    description: 'Labels to set (a value) or remove (null); labels not named stay. At most 50 remain',
    patternProperties: { [LABEL_KEY.source]: { type: ['string', 'null'], maxLength: 256, pattern: DOCUMENTED_STORABLE_TEXT } },
    ...MAP_DOC,
  });

const propertiesPatch = z
  .record(z.string().regex(PROPERTY_KEY, { message: 'property keys are letters, digits and _, not starting with a digit (at most 64)' }), storableText().max(2000).nullable())
  .refine((p) => Object.keys(p).length <= 100, { message: 'at most 100 properties in one patch' })
  .meta({
    description: 'Properties to set (a value) or remove (null); properties not named stay. At most 50 remain',
    patternProperties: { [PROPERTY_KEY.source]: { type: ['string', 'null'], maxLength: 2000, pattern: DOCUMENTED_STORABLE_TEXT } },
    ...MAP_DOC,
  });

export const targetPatchSchema = z
  .strictObject({
    name: targetSchema.shape.name.optional(),
    environmentId: targetSchema.shape.environmentId.optional(),
    labels: labelsPatch.optional(),
    properties: propertiesPatch.optional(),
    healthCheck: healthCheckSchema.nullable().optional().meta({ description: 'Replaces the target’s own health check whole; null: the environment’s applies' }),
    agentId: targetSchema.shape.agentId,
    ciId: targetSchema.shape.ciId,
  })
  .refine(atLeastOne, SOMETHING)
  .meta({ id: 'TargetPatch', description: 'Only the fields given change; labels and properties merge key by key (null removes a key)', minProperties: 1 });

/** A label selector as a whole (values only): inside `deployment` a setting is replaced, never merged. */
const selectorLabels = z
  .record(z.string().regex(LABEL_KEY, { message: 'label keys are letters, digits, . _ / -' }), textField(256))
  .refine((l) => Object.keys(l).length <= 50, { message: 'at most 50 labels' })
  .meta({ patternProperties: { [LABEL_KEY.source]: { type: 'string', maxLength: 256, pattern: DOCUMENTED_STORABLE_TEXT } }, additionalProperties: false, maxProperties: 50 });

const deploymentPatch = z
  .strictObject({
    targetLabels: selectorLabels.nullable().optional().meta({ description: 'Replaces the label selector whole; null: every target of the environment' }),
    strategy: strategySchema.nullable().optional().meta({ description: 'Replaces the strategy whole; null: the default (all at once)' }),
    failurePolicy: z.enum(FAILURE_POLICIES).nullable().optional().meta({ description: 'null: the default (rollback)' }),
    deployHook: textField(2_000).nullable().optional().meta({ description: 'null: no environment hook' }),
    healthCheck: healthCheckSchema.nullable().optional().meta({ description: 'Replaces the check whole; null: none' }),
  })
  .meta({ id: 'EnvironmentDeploymentPatch', description: 'Each setting given replaces that setting; null removes it; settings not named stay' });

export const environmentPatchSchema = z
  .strictObject({
    name: environmentSchema.shape.name.optional(),
    description: environmentSchema.shape.description,
    order: environmentSchema.shape.order.optional(),
    requireSod: z.boolean().optional(),
    requiredApprovals: environmentSchema.shape.requiredApprovals.unwrap().optional(),
    securityThresholds: environmentSchema.shape.securityThresholds,
    requireChangeRequest: z.boolean().optional(),
    deployment: deploymentPatch.nullable().optional().meta({ description: 'Merged setting by setting; null removes every deployment setting' }),
  })
  .refine(atLeastOne, SOMETHING)
  .meta({ id: 'EnvironmentPatch', description: 'Only the fields given change; deployment settings merge setting by setting (null removes one)', minProperties: 1 });

export type TargetPatch = z.infer<typeof targetPatchSchema>;
export type EnvironmentPatch = z.infer<typeof environmentPatchSchema>;

type Entity = Record<string, unknown>;
type Map<V> = Record<string, V>;

/** A map with the patch's keys set, or removed where the patch says null. */
export function mergeMap<V>(current: Map<V> | null | undefined, patch: Map<V | null>): Map<V> {
  const out: Map<V> = { ...(current ?? {}) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = value;
  }
  return out;
}

/**
 * An entity's PUT form: the fields `schema` takes, read from the entity as the API presents it. Every field, so a
 * field PUT learns is carried through a PATCH that does not name it; `omit` names those whose absence means "keep"
 * (a target's agentId).
 */
export function putFormOf(schema: z.ZodObject, presented: Entity, omit: readonly string[] = []): Entity {
  return Object.fromEntries(Object.keys(schema.shape).filter((k) => !omit.includes(k)).map((k) => [k, presented[k]]));
}

/** The target as PUT would take it after `patch`; `current` is its PUT form, without agentId (absent keeps the agent). */
export function mergeTargetPatch(current: Entity, patch: TargetPatch): Entity {
  const { labels, properties, ...replaced } = patch;
  const merged: Entity = { ...current, ...replaced };
  if (labels) merged.labels = mergeMap(current.labels as Map<string> | null, labels);
  if (properties) merged.properties = mergeMap(current.properties as Map<string> | null, properties);
  return merged;
}

/** The environment as PUT would take it after `patch`; `current` is its PUT form. */
export function mergeEnvironmentPatch(current: Entity, patch: EnvironmentPatch): Entity {
  const { deployment, ...replaced } = patch;
  const merged: Entity = { ...current, ...replaced };
  if (deployment !== undefined) merged.deployment = deployment === null ? null : mergeMap(current.deployment as Entity | null, deployment);
  return merged;
}

import { z } from 'zod';
import { acrossFields } from '../cross-field';
import { DOCUMENTED_NON_BLANK_TEXT, storableText } from '../text';
import { attributeIssues, CI_CLASSES, type CiClass } from './classes';
import { CI_ID_PATTERN, LIFECYCLE_STATES, RELATIONSHIP_TYPES } from './model';

/** Request bodies of the CMDB API. The bulk job validates each record with these too. */

const text = (max: number) => storableText().trim().max(max);
const optionalText = (max: number) => text(max).nullable().optional();
const ciId = z.string().max(20).regex(CI_ID_PATTERN, { message: 'must be a CI id such as CI0000789' });
/** Most keys an object of a body takes (attributes, a bulk record): the house states a maximum for every map. */
const MAX_KEYS = 50;
const fewKeys = (r: Record<string, unknown>) => Object.keys(r).length <= MAX_KEYS;
const keysMessage = { message: `at most ${MAX_KEYS} keys` };
const attributes = z
  .record(z.string().max(64), z.unknown())
  .refine(fewKeys, keysMessage)
  .meta({ maxProperties: MAX_KEYS, description: 'Validated against the class: see the CMDB section of the README for each class’s attributes' });

const editable = {
  name: text(200).min(1, { message: 'is required' }).meta({ pattern: DOCUMENTED_NON_BLANK_TEXT, description: 'Unique per environment, case-insensitively' }),
  class: z.enum(CI_CLASSES),
  environment: optionalText(100),
  owner_group: optionalText(255),
  lifecycle_state: z.enum(LIFECYCLE_STATES).optional().meta({ description: 'Default: operational' }),
  description: optionalText(20_000),
};

/** Adds the class's attribute findings to a body that names both (a create, or a bulk record). */
function checkAttributes(value: { class?: CiClass; attributes?: Record<string, unknown> }, ctx: z.RefinementCtx) {
  if (!value.class || !value.attributes) return;
  for (const issue of attributeIssues(value.class, value.attributes)) {
    ctx.addIssue({ code: 'custom', path: issue.field.split('.'), message: issue.message, params: { code: issue.code } });
  }
}

export const createCiSchema = z
  .strictObject({ ...editable, attributes: attributes.optional() })
  .superRefine(checkAttributes, acrossFields('class', 'attributes'))
  .meta({
    id: 'ConfigurationItemCreate',
    example: {
      name: 'payments-db',
      class: 'database',
      environment: 'production',
      owner_group: 'Platform Engineering',
      lifecycle_state: 'operational',
      attributes: { engine: 'postgres', version: '16', port: 5432 },
    },
  });
export type CreateCiInput = z.infer<typeof createCiSchema>;

const patchFields = {
  name: editable.name.optional(),
  class: editable.class.optional(),
  environment: editable.environment,
  owner_group: editable.owner_group,
  lifecycle_state: editable.lifecycle_state,
  description: editable.description,
  attributes: z
    .record(z.string().max(64), z.unknown())
    .refine(fewKeys, keysMessage)
    .optional()
    .meta({ maxProperties: MAX_KEYS, description: 'Merged key by key into the CI’s attributes (null removes a key); the result is checked against the class' }),
};

export const patchCiSchema = z
  .strictObject(patchFields)
  // A PATCH without a body validates as {}: it must change something (the document says minProperties 1).
  .refine((v) => Object.keys(v).length > 0, { message: 'send at least one field to change', when: (payload) => payload.issues.length === 0 })
  .meta({ id: 'ConfigurationItemPatch', example: { lifecycle_state: 'maintenance', attributes: { version: '17' } } });
export type PatchCiInput = z.infer<typeof patchCiSchema>;

export const createRelationshipSchema = z
  .strictObject({
    type: z.enum(RELATIONSHIP_TYPES),
    target_id: ciId.meta({ description: 'The CI this one needs: when it goes down, this one is affected' }),
  })
  .meta({ id: 'CiRelationshipCreate', example: { type: 'depends_on', target_id: 'CI0000456' } });
export type CreateRelationshipInput = z.infer<typeof createRelationshipSchema>;

export const BULK_MAX_RECORDS = 100;

/**
 * The bulk envelope: records are validated one by one when the job runs, so a
 * bad record fails alone; the envelope (operation, count) is checked at once.
 */
export const bulkCiRequestSchema = z
  .strictObject({
    operation: z.enum(['create', 'update']),
    records: z
      .array(z.record(z.string().max(64), z.unknown()).refine(fewKeys, keysMessage).meta({ maxProperties: MAX_KEYS }))
      .min(1)
      .max(BULK_MAX_RECORDS, { message: `at most ${BULK_MAX_RECORDS} records per request` })
      .meta({ description: 'create: CI bodies; update: an "id" and the fields to change' }),
  })
  .meta({
    id: 'ConfigurationItemBulkRequest',
    example: {
      operation: 'create',
      records: [
        { name: 'orders-api', class: 'service', environment: 'production', attributes: { tier: 1 } },
        { name: 'orders-db', class: 'database', environment: 'production', attributes: { engine: 'postgres' } },
      ],
    },
  });
export type BulkCiRequest = z.infer<typeof bulkCiRequestSchema>;

/** A bulk update record: the CI's id and the fields to change. */
export const bulkUpdateCiSchema = z.strictObject({ id: ciId, ...patchFields });

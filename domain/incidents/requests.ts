import { z } from 'zod';
import { acrossFields } from '../cross-field';
import { DOCUMENTED_NON_BLANK_TEXT, storableText } from '../text';
import { INCIDENT_ID_PATTERN, INCIDENT_STATES, LEVELS, NOTE_VISIBILITIES, PRIORITIES } from './model';

/** Request bodies of the Incidents API, with the spec's field names. The bulk job validates each record with these too. */

const text = (max: number) => storableText().trim().max(max);
/** Text that must say something: the document states that blanks are refused, as the server does after trimming. */
const required = (max: number, message: string) => text(max).min(1, { message }).meta({ pattern: DOCUMENTED_NON_BLANK_TEXT });
const optionalText = (max: number) => text(max).nullable().optional();
// The pattern z.email() checks, stated in the document (format: email alone admits addresses zod refuses).
const email = z.email({ message: 'must be an email address' }).max(320).meta({ pattern: z.regexes.email.source });
const CHANGE_ID = /^CHG\d{7,18}$/;
const ID_MAX = 21; // the prefix and at most 18 digits, as the patterns say

const editable = {
  short_description: required(255, 'is required').meta({ description: 'One-line summary, max 255 chars' }),
  description: optionalText(20_000).meta({ description: 'Full description; Markdown' }),
  priority: z.enum(PRIORITIES).optional().meta({ description: 'Default: from impact × urgency when both are given, else P3' }),
  state: z.enum(INCIDENT_STATES).optional().meta({ description: 'Requests a transition along the state machine' }),
  category: optionalText(100),
  subcategory: optionalText(100),
  impact: z.enum(LEVELS).nullable().optional(),
  urgency: z.enum(LEVELS).nullable().optional(),
  assignment_group: optionalText(255),
  assigned_to: email.nullable().optional().meta({ description: 'Assignee email address' }),
  ci_id: optionalText(64).meta({ description: 'Related CI ID from the CMDB' }),
  change_id: z
    .string()
    .max(ID_MAX)
    .regex(CHANGE_ID, { message: 'must be a change id such as CHG0000456' })
    .nullable()
    .optional()
    .meta({ description: 'A change request of this tenant; the incident then shows in that change’s history' }),
  parent_problem_id: optionalText(64),
  notify_stakeholders: z.boolean().optional().meta({ description: "Notify the assignment group's webhook about this request" }),
};

export const createIncidentSchema = z.strictObject(editable).meta({
  id: 'IncidentCreate',
  example: {
    short_description: 'Redis cache miss rate above 90%',
    description: 'ElastiCache Redis cluster showing 95% cache miss rate since 15:00 UTC. All microservices impacted.',
    priority: 'P1',
    category: 'cache',
    subcategory: 'elasticache',
    impact: 'high',
    urgency: 'high',
    assignment_group: 'Platform Engineering',
    ci_id: 'CI0000456',
    notify_stakeholders: true,
  },
});

const resolutionNotes = required(20_000, 'must not be empty')
  .optional()
  .meta({ description: 'What fixed the incident; accepted with "state": "resolved" or "closed", or on a resolved incident' });

const patchFields = {
  ...editable,
  short_description: editable.short_description.optional(),
  work_note: required(20_000, 'must not be empty').optional().meta({ description: 'Adds a team work note in the same transaction' }),
  resolution_notes: resolutionNotes,
};

export const patchIncidentSchema = z
  .strictObject(patchFields)
  // Only an otherwise valid body can be empty; a body of unknown or read-only fields already says what is wrong.
  .refine((v) => Object.keys(v).length > 0, { message: 'send at least one field to change', when: (payload) => payload.issues.length === 0 })
  .meta({
    id: 'IncidentPatch',
    example: {
      state: 'in_progress',
      assigned_to: 'jane.doe@example.com',
      work_note: 'Investigating Aurora slow query log — identified missing index on incidents_created_at',
    },
  });

const attachment = z.strictObject({
  name: required(255, 'is required'),
  url: z
    .url({ protocol: /^https?$/, message: 'must be an http or https URL' })
    .max(2048)
    .nullable()
    .optional()
    .meta({ description: 'Where the file is: an http or https URL' }),
  content_type: optionalText(255),
  size_bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
});

export const createNoteSchema = z
  .strictObject({
    body: required(20_000, 'is required'),
    visibility: z.enum(NOTE_VISIBILITIES).optional().meta({ description: 'team (default) or public' }),
    attachments: z.array(attachment).max(20).optional().meta({ description: 'Attachment metadata (the files live elsewhere)' }),
  })
  .meta({
    id: 'IncidentNoteCreate',
    example: { body: 'Restarted Aurora connection pool. Error rate dropped to 0. Monitoring for 30 min.', visibility: 'team', attachments: [] },
  });

export const BULK_MAX_RECORDS = 100;

/** Fields a bulk update applies to every listed incident (no work note: that is per incident). */
export const bulkFieldsSchema = z.strictObject({ ...editable, short_description: editable.short_description.optional(), resolution_notes: resolutionNotes });

/**
 * What the envelope checks of each record: only known field names (the ones
 * of a create or an update), each holding a plain value. The values are
 * checked field by field when the job runs, so a bad value fails its record
 * alone; an unknown or read-only field name is a 400 for the request.
 */
const BULK_RECORD_FIELDS = ['id', ...Object.keys(patchFields)] as const;
// The longest any incident field takes (description, work_note); each value is checked against its own field's when the job runs.
const BULK_VALUE_MAX = 20_000;
const plainValue = z.union([storableText().max(BULK_VALUE_MAX), z.number(), z.boolean(), z.null()]).optional();
const bulkRecordShape = z.strictObject(Object.fromEntries(BULK_RECORD_FIELDS.map((f) => [f, plainValue])) as Record<(typeof BULK_RECORD_FIELDS)[number], typeof plainValue>);

/**
 * The bulk envelope. Records are validated one by one when the job runs, so a
 * bad record fails alone; the envelope itself (operation, sizes, shared
 * fields) is checked at once.
 */
export const bulkRequestSchema = z
  .strictObject({
    operation: z.enum(['create', 'update']),
    records: z
      .array(bulkRecordShape)
      .min(1)
      .max(BULK_MAX_RECORDS, { message: `at most ${BULK_MAX_RECORDS} records per request` })
      .optional()
      .meta({ description: 'create: incident bodies; update: bodies with an "id" and the fields to change' }),
    ids: z
      .array(z.string().max(ID_MAX).regex(INCIDENT_ID_PATTERN, { message: 'must be an incident id such as INC0001234' }))
      .min(1)
      .max(BULK_MAX_RECORDS, { message: `at most ${BULK_MAX_RECORDS} ids per request` })
      .optional()
      .meta({ description: 'update: the incidents to apply "fields" to' }),
    fields: bulkFieldsSchema.optional(),
  })
  .superRefine((v, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message, params: { code: 'invalid_combination' } });
    if (v.operation === 'create') {
      if (!v.records) issue('records', 'a bulk create needs "records"');
      if (v.ids) issue('ids', 'a bulk create takes "records", not "ids"');
      if (v.fields) issue('fields', 'a bulk create takes "records", not "fields"');
      return;
    }
    if (v.records && (v.ids || v.fields)) issue('records', 'a bulk update takes either "records" or "ids" with "fields"');
    else if (!v.records && !(v.ids && v.fields)) issue(v.ids ? 'fields' : 'ids', 'a bulk update needs "ids" with "fields", or "records"');
    else if (v.fields && Object.keys(v.fields).length === 0) issue('fields', 'send at least one field to change');
  }, acrossFields('operation', 'records', 'ids', 'fields'))
  .meta({
    id: 'IncidentBulkRequest',
    example: { operation: 'update', ids: ['INC0001230', 'INC0001231', 'INC0001232'], fields: { assignment_group: 'Platform Engineering', state: 'in_progress' } },
    // The combinations the refinement allows, stated in the document.
    anyOf: [
      { required: ['operation', 'records'], not: { anyOf: [{ required: ['ids'] }, { required: ['fields'] }] } },
      { properties: { operation: { const: 'update' }, fields: { minProperties: 1 } }, required: ['operation', 'ids', 'fields'], not: { required: ['records'] } },
    ],
  });

/** A bulk update record: the incident's id and the fields to change. */
export const bulkUpdateRecordSchema = z.strictObject({ id: z.string().regex(INCIDENT_ID_PATTERN, { message: 'must be an incident id such as INC0001234' }), ...patchFields });

export type CreateIncidentInput = z.infer<typeof createIncidentSchema>;
export type PatchIncidentInput = z.infer<typeof patchIncidentSchema>;
export type CreateNoteInput = z.infer<typeof createNoteSchema>;
export type BulkRequest = z.infer<typeof bulkRequestSchema>;

/** The records a bulk request names (what it spends from its sender's bulk budget). */
export const bulkRecordCount = (body: Pick<BulkRequest, 'records' | 'ids'>): number => (body.records ?? body.ids ?? []).length;

import { z } from '@hono/zod-openapi';
import { instant as storableInstant } from '../../../domain/instant';
import { INCIDENT_STATES, LEVELS, NOTE_VISIBILITIES, PRIORITIES, SLA_CLOCK_STATES } from '../../../domain/incidents/model';
import { storableText } from '../../../domain/text';
import { bulkJobSchema } from '../../bulk-job-responses';
import { csv, filterText } from '../../list-filters';
import { paginationQuery } from '../../pagination';

/** Response shapes and query parameters of the Incidents API, for the OpenAPI documents. */

const instant = z.string().openapi({ format: 'date-time' });

export const IncidentSlaSchema = z
  .object({
    clock: z.enum(SLA_CLOCK_STATES).openapi({ description: 'running; paused while on_hold; stopped when resolved, closed or cancelled' }),
    response_due_at: instant.nullable(),
    response_breached: z.boolean(),
    resolution_due_at: instant.nullable(),
    resolution_breached: z.boolean(),
    warned: z.boolean(),
    computed_at: instant,
  })
  .openapi('IncidentSla');

export const IncidentSchema = z
  .object({
    id: z.string().openapi({ example: 'INC0001234' }),
    number: z.string().openapi({ example: 'INC0001234' }),
    short_description: z.string(),
    description: z.string().nullable(),
    priority: z.enum(PRIORITIES),
    state: z.enum(INCIDENT_STATES),
    category: z.string().nullable(),
    subcategory: z.string().nullable(),
    impact: z.enum(LEVELS).nullable(),
    urgency: z.enum(LEVELS).nullable(),
    assignment_group: z.string().nullable(),
    assigned_to: z.string().nullable(),
    opened_by: z.string(),
    ci_id: z.string().nullable(),
    parent_problem_id: z.string().nullable(),
    change_id: z.string().nullable(),
    sla_breach_at: instant.nullable().openapi({ description: 'When the resolution target is (or was) breached; computed by the SLA clock' }),
    resolved_at: instant.nullable(),
    closed_at: instant.nullable(),
    created_at: instant,
    updated_at: instant,
    work_notes_count: z.number().int(),
    ai_suggested_resolution: z.string().nullable(),
    resolution_notes: z.string().nullable().openapi({ description: 'What fixed it, written when it was resolved or closed; null until then and after a reopen' }),
    sla_breached: z.boolean(),
    sla: IncidentSlaSchema.nullable().openapi({ description: 'The SLA clock as it stands after the latest state or priority change (recomputed by the SLA workflow as it runs)' }),
    version: z.number().int(),
  })
  .openapi('Incident', {
    example: {
      id: 'INC0001234',
      number: 'INC0001234',
      short_description: 'Database timeout in prod',
      description: 'Seeing intermittent timeouts on the main Aurora cluster...',
      priority: 'P2',
      state: 'in_progress',
      category: 'database',
      subcategory: 'aurora',
      impact: 'medium',
      urgency: 'medium',
      assignment_group: 'Platform Engineering',
      assigned_to: 'jane.doe@example.com',
      opened_by: 'john.smith@example.com',
      ci_id: 'CI0000789',
      parent_problem_id: null,
      change_id: null,
      sla_breach_at: '2026-05-19T18:30:00.000Z',
      resolved_at: null,
      closed_at: null,
      created_at: '2026-05-19T14:30:00.000Z',
      updated_at: '2026-05-19T14:45:00.000Z',
      work_notes_count: 3,
      ai_suggested_resolution: null,
      resolution_notes: null,
      sla_breached: false,
      sla: {
        clock: 'running',
        response_due_at: '2026-05-19T15:30:00.000Z',
        response_breached: false,
        resolution_due_at: '2026-05-19T18:30:00.000Z',
        resolution_breached: false,
        warned: false,
        computed_at: '2026-05-19T14:45:00.000Z',
      },
      version: 4,
    },
  });

/** A change an incident's detail lists: on the incident's CI, or on a CI that needs it (the CMDB's impact walk). */
const ChangeOnCiSchema = z.object({
  id: z.string().openapi({ example: 'CHG0000456' }),
  short_description: z.string(),
  state: z.string(),
  ci_id: z.string(),
  scheduled_start: instant.nullable(),
  scheduled_end: instant.nullable(),
  updated_at: instant,
});

export const IncidentDetailSchema = IncidentSchema.extend({
  ci_changes: z.array(ChangeOnCiSchema).openapi({
    description: 'The latest changes (at most 20) on ci_id and on the CIs that depend on it in the CMDB; empty without ci_id or without change:read',
  }),
}).openapi('IncidentDetail');

export const NoteSchema = z
  .object({
    id: z.string().openapi({ example: 'note_3f9a1c2b7d4e5f60a1b2' }),
    incident_id: z.string(),
    body: z.string(),
    visibility: z.enum(NOTE_VISIBILITIES),
    author: z.string(),
    attachments: z.array(
      z.object({ name: z.string(), url: z.string().nullable(), content_type: z.string().nullable(), size_bytes: z.number().int().nullable() }),
    ),
    created_at: instant,
  })
  .openapi('IncidentNote');

export const BulkJobSchema = bulkJobSchema('IncidentBulkJob', 'incident_id', 'bulk_5c1d2e3f4a5b6c7d8e9f');

export const INCIDENT_SORT_FIELDS = ['created_at', 'priority', 'updated_at', 'relevance'] as const;

export const IncidentListQuery = paginationQuery.extend({
  state: csv(INCIDENT_STATES).openapi({ description: 'One state or a comma-separated list, e.g. new' }),
  priority: csv(PRIORITIES).openapi({ description: 'One priority or a comma-separated list, e.g. P1' }),
  assignment_group: filterText(255).openapi({ description: 'e.g. Platform Engineering' }),
  assigned_to: filterText(320).openapi({ description: 'Assignee email, e.g. jane@example.com' }),
  category: filterText(100).openapi({ description: 'e.g. database' }),
  created_after: storableInstant().optional().openapi({ description: 'Created after this instant, e.g. 2026-05-01T00:00:00Z' }),
  created_before: storableInstant().optional().openapi({ description: 'Created before this instant, e.g. 2026-05-31T23:59:59Z' }),
  sort: z
    .string()
    .regex(new RegExp(`^-?(?:${INCIDENT_SORT_FIELDS.join('|')})$`), { message: `must be one of ${INCIDENT_SORT_FIELDS.join(', ')}, optionally prefixed with "-"` })
    .optional()
    .openapi({ description: 'created_at (default, newest first), priority, updated_at, or relevance (the default with q; without q it means created_at)' }),
  q: storableText()
    .max(500)
    .transform((v) => v.trim() || undefined)
    .optional()
    .openapi({ description: 'Full-text search over short description, description and work notes, ranked by relevance, e.g. database timeout' }),
});

const idParam = (example: string) => storableText().max(64).openapi({ param: { name: 'id', in: 'path' }, example });
export const IncidentIdParam = z.object({ id: idParam('INC0001234') });
export const BulkJobIdParam = z.object({ jobId: storableText().max(64).openapi({ param: { name: 'jobId', in: 'path' }, example: 'bulk_5c1d2e3f4a5b6c7d8e9f' }) });

export const NotesListQuery = paginationQuery.omit({ sort: true, order: true });

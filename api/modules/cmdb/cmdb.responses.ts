import { z } from '@hono/zod-openapi';
import { CI_CLASSES } from '../../../domain/cmdb/classes';
import { IMPACT_DEFAULT_DEPTH, IMPACT_MAX_DEPTH, LIFECYCLE_STATES, RELATIONSHIP_TYPES } from '../../../domain/cmdb/model';
import { storableText } from '../../../domain/text';
import { bulkJobSchema } from '../../bulk-job-responses';
import { csv, filterText } from '../../list-filters';
import { paginationQuery } from '../../pagination';

/** Response shapes and query parameters of the CMDB API, for the OpenAPI documents. */

const instant = z.string().openapi({ format: 'date-time' });

export const CiSchema = z
  .object({
    id: z.string().openapi({ example: 'CI0000789' }),
    name: z.string(),
    class: z.enum(CI_CLASSES),
    environment: z.string().nullable(),
    owner_group: z.string().nullable(),
    lifecycle_state: z.enum(LIFECYCLE_STATES),
    description: z.string().nullable(),
    attributes: z.record(z.string(), z.unknown()),
    created_by: z.string(),
    created_at: instant,
    updated_at: instant,
    version: z.number().int(),
  })
  .openapi('ConfigurationItem', {
    example: {
      id: 'CI0000789',
      name: 'payments-db',
      class: 'database',
      environment: 'production',
      owner_group: 'Platform Engineering',
      lifecycle_state: 'operational',
      description: 'Primary Aurora cluster of the payments service',
      attributes: { engine: 'aurora', version: '16', port: 5432 },
      created_by: 'jane.doe@example.com',
      created_at: '2026-05-19T14:30:00.000Z',
      updated_at: '2026-05-19T14:30:00.000Z',
      version: 1,
    },
  });

export const RelationshipSchema = z
  .object({
    id: z.string().openapi({ example: 'rel_5c1d2e3f4a5b6c7d8e9f' }),
    source_id: z.string().openapi({ description: 'The CI that needs the target' }),
    type: z.enum(RELATIONSHIP_TYPES),
    target_id: z.string(),
    direction: z.enum(['outgoing', 'incoming']).openapi({ description: 'outgoing when the CI in the path is the source' }),
    created_by: z.string(),
    created_at: instant,
  })
  .openapi('CiRelationship');

export const ImpactSchema = z
  .object({
    ci_id: z.string(),
    depth: z.number().int().openapi({ description: 'How many hops were walked' }),
    total: z.number().int().openapi({ description: 'How many CIs are affected' }),
    truncated: z.boolean().openapi({ description: 'The walk stopped at its path budget; deeper or further CIs may be missing' }),
    affected: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        class: z.enum(CI_CLASSES),
        environment: z.string().nullable(),
        lifecycle_state: z.enum(LIFECYCLE_STATES),
        depth: z.number().int().openapi({ description: '1 for a direct dependant' }),
        path: z.array(z.string()).openapi({ description: 'CI ids from the CI that goes down to this one, both included (a shortest path)' }),
        via: z.enum(RELATIONSHIP_TYPES).openapi({ description: 'The relationship of the last hop' }),
      }),
    ),
  })
  .openapi('CiImpact');

export const CiBulkJobSchema = bulkJobSchema('CiBulkJob', 'ci_id', 'cibulk_5c1d2e3f4a5b6c7d8e9f');

export const CI_SORT_FIELDS = ['created_at', 'updated_at', 'name', 'relevance'] as const;

export const CiListQuery = paginationQuery.extend({
  class: csv(CI_CLASSES).openapi({ description: 'One class or a comma-separated list, e.g. database' }),
  environment: filterText(100).openapi({ description: 'e.g. production' }),
  owner: filterText(255).openapi({ description: 'The owner group, e.g. Platform Engineering' }),
  lifecycle_state: csv(LIFECYCLE_STATES).openapi({ description: 'One lifecycle state or a comma-separated list' }),
  name: filterText(200).openapi({ description: 'Name prefix, case-insensitive, e.g. pay' }),
  sort: z
    .string()
    .regex(new RegExp(`^-?(?:${CI_SORT_FIELDS.join('|')})$`), { message: `must be one of ${CI_SORT_FIELDS.join(', ')}, optionally prefixed with "-"` })
    .optional()
    .openapi({ description: 'created_at (default, newest first), updated_at, name, or relevance (the default with q)' }),
  q: storableText()
    .max(500)
    .transform((v) => v.trim() || undefined)
    .optional()
    .openapi({ description: 'Full-text search over name and description, e.g. payments' }),
});

export const ImpactQuery = z.object({
  depth: z.coerce
    .number()
    .int()
    .min(1)
    .max(IMPACT_MAX_DEPTH)
    .optional()
    .openapi({ description: `Hops to walk, default ${IMPACT_DEFAULT_DEPTH}, at most ${IMPACT_MAX_DEPTH}` }),
});

export const RelationshipListQuery = paginationQuery.omit({ sort: true, order: true }).extend({
  direction: z.enum(['outgoing', 'incoming']).optional().openapi({ description: 'outgoing: what this CI needs; incoming: what needs it; both when left out' }),
  type: csv(RELATIONSHIP_TYPES).openapi({ description: 'One relationship type or a comma-separated list' }),
});

const idParam = (example: string) => storableText().max(64).openapi({ param: { name: 'id', in: 'path' }, example });
export const CiIdParam = z.object({ id: idParam('CI0000789') });
export const RelationshipParams = z.object({
  id: idParam('CI0000789'),
  relationshipId: storableText().max(64).openapi({ param: { name: 'relationshipId', in: 'path' }, example: 'rel_5c1d2e3f4a5b6c7d8e9f' }),
});
export const CiBulkJobIdParam = z.object({ jobId: storableText().max(64).openapi({ param: { name: 'jobId', in: 'path' }, example: 'cibulk_5c1d2e3f4a5b6c7d8e9f' }) });

import { z } from '@hono/zod-openapi';

const instant = z.string().openapi({ format: 'date-time' });

const RecordErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  validation_errors: z.array(z.object({ field: z.string(), code: z.string(), message: z.string() })).optional(),
});

/**
 * A bulk job as its GET answers it (incidents and CIs run the same loop): one
 * result per record, with the id of what it made (`idField`) or its error.
 */
export function bulkJobSchema<K extends string>(component: string, idField: K, idExample: string) {
  const made = { [idField]: z.string().nullable() } as Record<K, z.ZodNullable<z.ZodString>>;
  return z
    .object({
      id: z.string().openapi({ example: idExample }),
      operation: z.enum(['create', 'update']),
      status: z.enum(['queued', 'running', 'completed']),
      total: z.number().int(),
      processed: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int(),
      results: z.array(
        z.object({
          index: z.number().int().openapi({ description: 'Position of the record in the request, from 0' }),
          status: z.enum(['succeeded', 'failed']),
          ...made,
          error: RecordErrorSchema.nullable(),
        }),
      ),
      created_by: z.string(),
      created_at: instant,
      started_at: instant.nullable(),
      finished_at: instant.nullable(),
    })
    .openapi(component);
}

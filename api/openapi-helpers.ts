import { z } from '@hono/zod-openapi';

/** Shapes shared by every route's OpenAPI description (the Stella dialect is documented). */

export const ErrorSchema = z
  .object({
    success: z.literal(false),
    error: z.object({
      code: z.string().openapi({ example: 'INVALID_STATE_TRANSITION' }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
      validationErrors: z.array(z.object({ field: z.string(), message: z.string(), code: z.string() })).optional(),
    }),
    meta: z.object({ requestId: z.string(), timestamp: z.string() }),
  })
  .openapi('Error');

const Meta = z.object({ requestId: z.string(), timestamp: z.string() });
const PaginationMeta = z
  .object({
    page: z.number().int(),
    pageSize: z.number().int(),
    totalItems: z.number().int(),
    totalPages: z.number().int(),
    hasNext: z.boolean(),
    hasPrevious: z.boolean(),
  })
  .openapi('PaginationMeta');

export function envelope<T extends z.ZodType>(data: T) {
  return z.object({ success: z.literal(true), data, meta: Meta });
}

export function listEnvelope<T extends z.ZodType>(item: T) {
  return z.object({ success: z.literal(true), data: z.array(item), meta: Meta.extend({ pagination: PaginationMeta }) });
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request: validation failed (see validationErrors)',
  401: 'Missing or invalid bearer token',
  403: 'Insufficient permissions, or separation of duties',
  404: 'Not found (or belongs to another tenant)',
  409: 'Conflict with the resource state (details: current_state, allowed_next_states)',
  413: 'Request body too large',
  415: 'Request body is not JSON',
  422: 'Business rule violation',
  429: 'Rate limited (see Retry-After)',
  503: 'A dependency is unavailable; retry',
};

export function errorResponses(...codes: number[]) {
  return Object.fromEntries(
    [401, 429, ...codes].map((code) => [code, { description: DESCRIPTIONS[code] ?? 'Error', content: { 'application/json': { schema: ErrorSchema } } }]),
  );
}

export function jsonBody<T extends z.ZodType>(schema: T, required = true) {
  return { body: { required, content: { 'application/json': { schema } } } } as const;
}

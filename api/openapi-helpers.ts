import { createRoute, z, type RouteConfig } from '@hono/zod-openapi';
import type { Dialect } from './context';

/**
 * Shapes shared by every route's OpenAPI description. Routes are declared once,
 * in the Stella form the handlers are typed against; `renderRoute` turns the
 * same declaration into its StackFlow form (bare bodies, `{data, next_cursor,
 * total}` lists, the StackFlow error body, cursor/limit paging), so the two
 * documents cannot drift apart.
 */

const Meta = z.object({ requestId: z.string(), timestamp: z.string().openapi({ format: 'date-time' }) });
const ValidationErrorItem = z.object({ field: z.string(), message: z.string(), code: z.string() });
const errorCode = z.string().openapi({ example: 'INVALID_STATE_TRANSITION' });
const errorDetails = z.record(z.string(), z.unknown()).optional();

export const ErrorSchema = z
  .object({
    success: z.literal(false),
    error: z.object({ code: errorCode, message: z.string(), details: errorDetails, validationErrors: z.array(ValidationErrorItem).optional() }),
    meta: Meta,
  })
  .openapi('Error');

export const StackFlowErrorSchema = z
  .object({
    error: z.object({ code: errorCode, message: z.string(), details: errorDetails, validation_errors: z.array(ValidationErrorItem).optional() }),
    request_id: z.string(),
  })
  .openapi('Error');

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

/** The StackFlow form of a response body declared in Stella form. */
const stackflowForm = new WeakMap<z.ZodType, z.ZodType>([[ErrorSchema, StackFlowErrorSchema]]);

export function envelope<T extends z.ZodType>(data: T) {
  const schema = z.object({ success: z.literal(true), data, meta: Meta });
  stackflowForm.set(schema, data);
  return schema;
}

export function listEnvelope<T extends z.ZodType>(item: T) {
  const schema = z.object({ success: z.literal(true), data: z.array(item), meta: Meta.extend({ pagination: PaginationMeta }) });
  stackflowForm.set(
    schema,
    z.object({
      data: z.array(item),
      next_cursor: z.string().nullable().openapi({ description: 'Pass as cursor for the next page; null on the last page' }),
      total: z.number().int(),
    }),
  );
  return schema;
}

/** A body that differs between the dialects by more than the envelope (health's 503). */
export function perDialect<S extends z.ZodType>(stella: S, stackflow: z.ZodType): S {
  // A copy (same component name), so only this response changes shape in StackFlow.
  const own = stella.openapi({}) as unknown as S;
  stackflowForm.set(own, stackflow);
  return own;
}

/** Query parameters only one dialect's document declares (both are accepted at run time). */
const DIALECT_ONLY: Record<Dialect, readonly string[]> = {
  stella: ['pageSize'],
  stackflow: ['cursor', 'limit'],
};

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request does not match this document (see validationErrors / validation_errors)',
  401: 'Missing or invalid bearer token',
  403: 'Insufficient permissions, or separation of duties',
  404: 'Not found (or belongs to another tenant)',
  408: 'The request was not received in time (headers or body too slow)',
  409: 'Conflict with the resource state (details: current_state, allowed_next_states)',
  413: 'Request body too large (details: limitBytes)',
  415: 'Request body is not JSON',
  422: 'Business rule violation',
  429: 'Rate limited (see Retry-After)',
  503: 'A dependency (Postgres, Temporal, the worker) is unavailable or too slow; retry, with the same Idempotency-Key for commands',
};

const retryAfter = { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' as const, minimum: 1 } } };

function errorResponse(code: number, description?: string) {
  return {
    description: description ?? DESCRIPTIONS[code] ?? 'Error',
    ...(code === 429 || code === 503 ? { headers: retryAfter } : {}),
    content: { 'application/json': { schema: ErrorSchema } },
  };
}

/**
 * The error answers of an operation. Every authenticated operation can answer
 * 401, 429 and 503; `codes` adds the rest, and `described` replaces a status's
 * description (e.g. listing the business-rule codes a 422 can carry).
 */
export function errorResponses(codes: number[], described: Record<number, string> = {}) {
  const all = [...new Set([401, 429, 503, ...codes, ...Object.keys(described).map(Number)])].sort((a, b) => a - b);
  return Object.fromEntries(all.map((code) => [code, errorResponse(code, described[code])]));
}

/** Errors of an operation anyone may call (no 401). */
export function publicErrorResponses(codes: number[]) {
  return Object.fromEntries([429, ...codes].map((code) => [code, errorResponse(code)]));
}

/** A JSON body; bodies bring 408 (too slow), 413 (too large) and 415 (not JSON) with them. */
export function jsonBody<T extends z.ZodType>(schema: T, required = true) {
  return { body: { required, content: { 'application/json': { schema } } } } as const;
}
export const BODY_ERRORS = [400, 408, 413, 415];

/**
 * A list's `sort` parameter: one of `fields`, "-" in front for descending. As a
 * pattern, so the document admits exactly the values parseSort accepts.
 */
export function sortParam(fields: readonly string[]) {
  return z
    .string()
    .regex(new RegExp(`^-?(?:${fields.join('|')})$`), { message: `must be one of ${fields.join(', ')}, optionally prefixed with "-"` })
    .optional()
    .openapi({ description: `Sort by ${fields.join(', ')}; prefix "-" for descending, or use order` });
}

/** Same rule as the server applies (api/idempotency.ts): 1-255 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
export const idempotencyKeyHeader = z.object({
  'idempotency-key': z
    .string()
    .regex(IDEMPOTENCY_KEY_PATTERN, { message: 'must be 1-255 visible ASCII characters' })
    .optional()
    .openapi({
      description:
        'Makes a retried request count once: 1-255 visible ASCII characters (no spaces). Reusing a key with a different body or caller is refused (422 IDEMPOTENCY_KEY_REUSED).',
      pattern: '^[!-~]{1,255}$',
      example: '7d0c1e0a-3b59-4c1e-9d55-2f8f5b0e6a41',
    }),
});

type PathParams = NonNullable<NonNullable<RouteConfig['request']>['params']>;

/**
 * A command on one resource: a POST under the resource's path, with its id in
 * the path, an optional Idempotency-Key and a JSON body (which may be left out
 * when `required` is false). The module says which answers it can give.
 */
export function commandRoute<Params extends PathParams, Body extends z.ZodType, Answers extends RouteConfig['responses']>(spec: {
  path: string;
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  params: Params;
  body: Body;
  required?: boolean;
  responses: Answers;
}) {
  return createRoute({
    method: 'post',
    path: spec.path,
    operationId: spec.operationId,
    tags: spec.tags,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    request: { params: spec.params, headers: idempotencyKeyHeader, ...jsonBody(spec.body, spec.required ?? true) },
    responses: spec.responses,
  });
}

/**
 * Links from a response carrying a resource to the operations that take its
 * id, so a client (and stateful fuzzing) can walk from a create to every command.
 */
export function linksToResource(operationIds: readonly string[], idParam = 'id', idField = 'id') {
  const stella = Object.fromEntries(operationIds.map((op) => [op, { operationId: op, parameters: { [idParam]: `$response.body#/data/${idField}` } }]));
  const stackflow = Object.fromEntries(operationIds.map((op) => [op, { operationId: op, parameters: { [idParam]: `$response.body#/${idField}` } }]));
  stackflowLinks.set(stella, stackflow);
  return stella;
}
const stackflowLinks = new WeakMap<object, object>();

type Responses = RouteConfig['responses'];
type Response = { content?: Record<string, { schema?: unknown } | undefined>; links?: object };

/** A route declaration as the given dialect's document shows it. */
export function renderRoute(route: RouteConfig, dialect: Dialect): RouteConfig {
  const query = route.request?.query;
  const hidden = DIALECT_ONLY[dialect === 'stella' ? 'stackflow' : 'stella'];
  let request = route.request;
  if (query instanceof z.ZodObject) {
    const omit = Object.fromEntries(hidden.filter((k) => k in query.shape).map((k) => [k, true]));
    request = { ...route.request, query: query.omit(omit as never) };
  }
  if (dialect === 'stella') return { ...route, request };
  const responses: Responses = {};
  for (const [status, declared] of Object.entries(route.responses)) {
    const response = declared as Response;
    const content = response.content
      ? Object.fromEntries(
          Object.entries(response.content).map(([type, media]) => {
            const schema = media?.schema as z.ZodType | undefined;
            return [type, { ...media, schema: (schema && stackflowForm.get(schema)) ?? schema }];
          }),
        )
      : undefined;
    const links = response.links ? (stackflowLinks.get(response.links) ?? response.links) : undefined;
    responses[status] = { ...response, ...(content ? { content } : {}), ...(links ? { links } : {}) } as Responses[string];
  }
  return { ...route, request, responses };
}

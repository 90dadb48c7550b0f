import { OpenAPIHono, type OpenAPIHonoOptions, type RouteConfig } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import { isLeftOut, requiredMessage, usePlainValidationMessages } from '../domain/validation-messages';
import type { AppEnv } from './context';
import { ValidationFailed, type ValidationError } from './errors';
import { withUnstorableTextErrors } from './input-guard';
import { fieldsAt, nearestField } from './suggest';

usePlainValidationMessages();

/** Every module router validates with the same hook, so zod failures read the same everywhere. */
export function createRouter(options: { readOnlyFields?: readonly string[] } = {}): OpenAPIHono<AppEnv> {
  const readOnly = new Set(options.readOnlyFields ?? []);
  const hookFor =
    (route?: RouteConfig): NonNullable<OpenAPIHonoOptions<AppEnv>['defaultHook']> =>
    (result) => {
      // On failure the validator still passes the raw part as `data` (not in the hook's type).
      const data = (result as { data?: unknown }).data;
      const errors = result.success ? [] : validationErrorsOf(result.error, result.target, readOnly, route && requestSchemaOf(route, result.target), data);
      const all = withUnstorableTextErrors(errors, data, result.target);
      if (all.length) throw new ValidationFailed(result.target === 'header' ? all.map(asWrittenHeader) : all);
    };
  const router = new OpenAPIHono<AppEnv>({ defaultHook: hookFor() });
  // Each route gets the hook with its own schemas, so an unknown field can be answered with the nearest known one.
  const register = router.openapi;
  router.openapi = ((route: RouteConfig, handler: never, hook?: never) => register(route, handler, hook ?? hookFor(route))) as typeof register;
  return router;
}

/**
 * Header schemas are keyed in lower case (that is how the validator hands
 * headers over); an error names the header as users write it, e.g. Idempotency-Key.
 */
function asWrittenHeader(error: ValidationError): ValidationError {
  const [name, ...rest] = error.field.split('.');
  const written = name.replace(/(^|-)([a-z])/g, (_, dash: string, ch: string) => dash + ch.toUpperCase());
  return { ...error, field: [written, ...rest].join('.') };
}

/** The schema a route validates one request part (a validator target) with. */
function requestSchemaOf(route: RouteConfig, target: string): unknown {
  const request = route.request;
  if (target === 'json') return (request?.body?.content?.['application/json'] as { schema?: unknown } | undefined)?.schema;
  return { query: request?.query, param: request?.params, header: request?.headers, cookie: request?.cookies }[target];
}

/**
 * One entry per field, the first problem zod found with it (a field that is
 * left out is "is required", whatever check its schema words); every field's
 * problem is there, so a client fixes a body in one round.
 */
export function validationErrorsOf(error: ZodError, target?: string, readOnly: ReadonlySet<string> = new Set(), schema?: unknown, input?: unknown): ValidationError[] {
  const out: ValidationError[] = [];
  const seen = new Set<string>();
  const push = (entry: ValidationError) => {
    if (seen.has(entry.field)) return;
    seen.add(entry.field);
    out.push(entry);
  };
  for (const issue of error.issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const field = [...base, key].join('.');
        const nearest = schema === undefined ? undefined : nearestField(key, fieldsAt(schema, issue.path));
        push(
          base.length === 0 && readOnly.has(key)
            ? { field, code: 'read_only', message: `"${key}" is set by the server and cannot be written` }
            : { field, code: 'unknown_field', message: `"${key}" is not a recognised field${nearest ? `; did you mean "${nearest}"?` : ''}` },
        );
      }
      continue;
    }
    const custom = issue.code === 'custom' ? (issue.params as { code?: string } | undefined)?.code : undefined;
    const field = base.join('.') || (target === 'json' ? 'body' : (target ?? 'request'));
    if (issue.code !== 'custom' && input !== undefined && isLeftOut(input, issue.path)) {
      push({ field, code: 'required', message: requiredMessage(issue.message) });
      continue;
    }
    push({ field, code: custom ?? issue.code, message: issue.message });
  }
  return out;
}


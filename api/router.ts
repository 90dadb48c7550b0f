import { OpenAPIHono } from '@hono/zod-openapi';
import type { ZodError } from 'zod';
import type { AppEnv } from './context';
import { ValidationFailed, type ValidationError } from './errors';

/** Every module router validates with the same hook, so zod failures read the same everywhere. */
export function createRouter(options: { readOnlyFields?: readonly string[] } = {}): OpenAPIHono<AppEnv> {
  const readOnly = new Set(options.readOnlyFields ?? []);
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new ValidationFailed(validationErrorsOf(result.error, result.target, readOnly));
    },
  });
}

export function validationErrorsOf(error: ZodError, target?: string, readOnly: ReadonlySet<string> = new Set()): ValidationError[] {
  const out: ValidationError[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const field = [...base, key].join('.');
        out.push(
          base.length === 0 && readOnly.has(key)
            ? { field, code: 'read_only', message: `"${key}" is set by the server and cannot be written` }
            : { field, code: 'unknown_field', message: `"${key}" is not a recognised field` },
        );
      }
      continue;
    }
    const custom = issue.code === 'custom' ? (issue.params as { code?: string } | undefined)?.code : undefined;
    out.push({
      field: base.join('.') || (target === 'json' ? 'body' : (target ?? 'request')),
      code: custom ?? issue.code,
      message: issue.message,
    });
  }
  return out;
}

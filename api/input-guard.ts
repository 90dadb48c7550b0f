import { UNSTORABLE_TEXT_MESSAGE, unstorableTextPaths } from '../domain/text';
import type { ValidationError } from './errors';

/**
 * The net under every route's schemas: whatever a request part (body, query,
 * path params, declared headers) carries, no string in it may hold text
 * Postgres cannot store. Schemas that use domain/text's storableText already
 * say so field by field; this catches a field any module forgot, at any depth.
 * `data` is what the validator produced, or the raw part when it refused it.
 */
export function unstorableTextErrors(data: unknown, target: string | undefined): ValidationError[] {
  return unstorableTextPaths(data).map((path) => ({
    field: path.map(String).join('.') || (target === 'json' ? 'body' : (target ?? 'request')),
    code: 'invalid_format',
    message: UNSTORABLE_TEXT_MESSAGE,
  }));
}

/** Adds the guard's findings to the schema's, once per field. */
export function withUnstorableTextErrors(errors: ValidationError[], data: unknown, target: string | undefined): ValidationError[] {
  const reported = new Set(errors.map((e) => e.field));
  return [...errors, ...unstorableTextErrors(data, target).filter((e) => !reported.has(e.field))];
}

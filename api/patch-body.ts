import type { z } from 'zod';
import { ValidationFailed } from './errors';
import { withUnstorableTextErrors } from './input-guard';
import { validationErrorsOf } from './router';

/**
 * A PATCH's merged entity held to the resource's PUT schema, so PATCH accepts
 * exactly what PUT does (e.g. at most 50 labels after the merge). A refusal is
 * a 400 naming the field, as the route's own validation would.
 */
export function asPutBody<S extends z.ZodType>(schema: S, merged: unknown): z.infer<S> {
  const parsed = schema.safeParse(merged);
  const errors = parsed.success ? [] : validationErrorsOf(parsed.error, 'json');
  const all = withUnstorableTextErrors(errors, parsed.success ? parsed.data : merged, 'json');
  if (all.length) throw new ValidationFailed(all);
  return parsed.data as z.infer<S>;
}

import type { z } from 'zod';
import { checkConfig, type SplitConfig } from '../../../domain/integrations/config';
import { ValidationFailed } from '../../errors';
import { validationErrorsOf } from '../../router';

/**
 * A config judged by its type's (or plugin's) schema: split into clear fields
 * and secrets, or a 400 listing every field's problem under `config.`, as
 * the body's own fields are listed.
 */
export function checkedConfig(schema: z.ZodType, secretFields: readonly string[], config: unknown, kept: Record<string, string> = {}): SplitConfig {
  const checked = checkConfig(schema, secretFields, config, kept);
  if (checked.ok) return checked.value;
  const errors = validationErrorsOf(checked.error, undefined, new Set(), undefined, config).map((e) => ({ ...e, field: e.field === 'request' ? 'config' : `config.${e.field}` }));
  throw new ValidationFailed(errors, `The config has ${errors.length} problem${errors.length === 1 ? '' : 's'}; validationErrors lists each field`);
}

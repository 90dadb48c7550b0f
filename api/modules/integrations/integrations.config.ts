import type { z } from 'zod';
import { checkConfig, type SplitConfig } from '../../../domain/integrations/config';
import { checkEvents } from '../../../domain/integrations/events';
import type { IntegrationKind } from '../../../domain/integrations/types';
import { ApiError } from '../../errors';
import { validationErrorsOf } from '../../router';

/**
 * A config judged by its type's (or plugin's) schema: split into clear fields
 * and secrets, or a 422 (`INVALID_CONFIG`) listing every field's problem under
 * `config.` in validationErrors, as a 400 lists the body's own fields. A 422,
 * because the body itself matches the document: only the type it names refuses it.
 */
export function checkedConfig(schema: z.ZodType, secretFields: readonly string[], config: unknown, kept: Record<string, string> = {}): SplitConfig {
  const checked = checkConfig(schema, secretFields, config, kept);
  if (checked.ok) return checked.value;
  const errors = validationErrorsOf(checked.error, undefined, new Set(), undefined, config).map((e) => ({ ...e, field: e.field === 'request' ? 'config' : `config.${e.field}` }));
  throw new ApiError(422, 'INVALID_CONFIG', `The config has ${errors.length} problem${errors.length === 1 ? '' : 's'} for its type; validationErrors lists each field`, undefined, errors);
}

/**
 * The events an integration is subscribed to, judged against its kind: a 422
 * (`INVALID_EVENTS`) naming each unknown event (`events.<i>`), or the list on
 * an integration that is not a notifier. Each name is kept once.
 */
export function checkedEvents(kind: IntegrationKind, events: readonly string[] = []): string[] {
  const checked = checkEvents(kind, events);
  if (checked.ok) return checked.value;
  const problems = checked.problems;
  throw new ApiError(422, 'INVALID_EVENTS', `The events have ${problems.length} problem${problems.length === 1 ? '' : 's'}; validationErrors lists each`, undefined, problems);
}

import { z } from 'zod';
import { requiredTextField, textField } from '../text';
import { MAX_EVENTS, SUBSCRIBABLE_EVENTS } from './events';
import { INTEGRATION_TYPE_IDS } from './types';

/**
 * Request bodies of integrations and plugin instances. The config is judged
 * by the type's (or the plugin's) own schema after this (a 422 listing its
 * problems field by field under `config.`).
 */

const configMap = z
  .record(z.string().max(128), z.unknown())
  .refine((c) => Object.keys(c).length <= 50, { message: 'must have at most 50 fields' })
  .meta({ maxProperties: 50, description: "The type's config: see GET /integration-types/{typeId} (or the plugin's configSchema) for its JSON Schema" });

const events = (who: string) =>
  z
    .array(z.string().max(64))
    .max(MAX_EVENTS)
    .optional()
    .describe(`${who} only: the events delivered to it (default none), from ${SUBSCRIBABLE_EVENTS.join(', ')}. A PUT replaces the list.`);

export const integrationSchema = z
  .strictObject({
    typeId: z.enum(INTEGRATION_TYPE_IDS as [string, ...string[]]).describe('One of GET /integration-types'),
    name: requiredTextField(200),
    description: textField(2000).nullable().optional(),
    config: configMap,
    events: events('Notifier integrations'),
  })
  .meta({ id: 'IntegrationInput' });

export const pluginInstanceSchema = z
  .strictObject({
    pluginId: z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9._-]*$/, { message: 'must be a plugin id' }),
    name: requiredTextField(200),
    config: configMap,
    events: events('Instances of notifier plugins'),
  })
  .meta({ id: 'PluginInstanceInput' });

export const pluginInstanceUpdateSchema = pluginInstanceSchema.omit({ pluginId: true }).meta({ id: 'PluginInstanceUpdate' });


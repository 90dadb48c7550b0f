import { z } from '@hono/zod-openapi';
import { INTEGRATION_KINDS } from '../../../domain/integrations/types';
import { SecretsShownSchema } from '../integrations';

/** What clients receive: loaded plugins (for the caller's tenant: enabled or not, last health), their health, their instances. */

const LastCallSchema = z
  .object({ ok: z.boolean(), reason: z.string().nullable(), operation: z.string().optional(), durationMs: z.number().optional(), checkedAt: z.string().nullable() })
  .openapi('PluginLastCall');

export const PluginSchema = z
  .object({
    id: z.string(),
    source: z.string().openapi({ description: 'The TOLLGATE_PLUGINS entry it was loaded from' }),
    name: z.string().nullable(),
    version: z.string().nullable(),
    description: z.string().nullable(),
    implements: z.array(z.enum(INTEGRATION_KINDS)).openapi({ description: 'The extension points it implements' }),
    configSchema: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'JSON Schema of an instance’s config' }),
    secretFields: z.array(z.string()),
    loaded: z.boolean(),
    loadError: z.string().nullable(),
    enabled: z.boolean(),
    lastCall: LastCallSchema.nullable().openapi({ description: 'The last call into it for this tenant (errors and timeouts show here)' }),
  })
  .openapi('Plugin');

export const PluginHealthSchema = z
  .object({
    pluginId: z.string(),
    status: z.enum(['healthy', 'unhealthy', 'not-loaded', 'disabled']),
    reason: z.string().nullable(),
    durationMs: z.number(),
    checkedAt: z.string(),
  })
  .openapi('PluginHealth');

export const PluginInstanceSchema = z
  .object({
    id: z.string(),
    pluginId: z.string(),
    name: z.string(),
    config: z.record(z.string(), z.unknown()),
    secrets: SecretsShownSchema,
    events: z.array(z.string()).openapi({ description: 'The events delivered to this instance of a notifier plugin (e.g. incident.created, incident.*); empty: none' }),
    version: z.number().int(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('PluginInstance');

export const PluginIdParam = z.object({ id: z.string().max(64).openapi({ param: { name: 'id', in: 'path' }, example: 'example-release-notes' }) });
export const InstanceIdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

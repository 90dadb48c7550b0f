import { z } from '@hono/zod-openapi';
import { INTEGRATION_KINDS } from '../../../domain/integrations/types';

/** What clients receive: integrations without their secrets (only whether each is set), types with their config's JSON Schema, call answers. */

export const SecretsShownSchema = z
  .record(z.string(), z.object({ secretSet: z.boolean() }))
  .openapi('SecretsShown', { description: 'Each secret field of the config: whether it is set. Secrets are write-only and never returned.' });

const HealthSchema = z
  .object({ ok: z.boolean(), reason: z.string().nullable(), details: z.unknown().optional(), durationMs: z.number().optional(), checkedAt: z.string().nullable() })
  .openapi('IntegrationHealthRecord');

export const IntegrationSchema = z
  .object({
    id: z.string(),
    typeId: z.string(),
    kind: z.enum(INTEGRATION_KINDS).nullable(),
    name: z.string(),
    description: z.string().nullable(),
    config: z.record(z.string(), z.unknown()).openapi({ description: 'The config without its secret fields' }),
    secrets: SecretsShownSchema,
    events: z.array(z.string()).openapi({ description: 'The events delivered to this notifier (e.g. incident.created, incident.*); empty: none' }),
    version: z.number().int(),
    health: HealthSchema.nullable().openapi({ description: 'The last periodic health check, or null before the first' }),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Integration');

export const CallResultSchema = z
  .object({
    ok: z.boolean().openapi({ description: 'Whether the integration answered as expected' }),
    reason: z.string().nullable().openapi({ description: 'Why not, when not ok (e.g. "connect ECONNREFUSED 127.0.0.1:5000", "timed out after 5000 ms")' }),
    details: z.record(z.string(), z.unknown()).openapi({ description: 'What was found (discover: repositories with tags and digests, metric names) or said (test)' }),
    durationMs: z.number(),
    checkedAt: z.string(),
  })
  .openapi('IntegrationCallResult');

export const IntegrationHealthSchema = z
  .object({
    integrationId: z.string(),
    status: z.enum(['healthy', 'unhealthy', 'unknown']).openapi({ description: 'unknown until the first periodic check has run' }),
    reason: z.string().nullable(),
    checkedAt: z.string().nullable(),
    intervalSeconds: z.number().int().openapi({ description: 'How often the durable schedule checks' }),
  })
  .openapi('IntegrationHealth');

export const IntegrationTypeSchema = z
  .object({
    id: z.string(),
    kind: z.enum(INTEGRATION_KINDS),
    name: z.string(),
    description: z.string(),
    configSchema: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the config an integration of this type takes' }),
    secretFields: z.array(z.string()).openapi({ description: 'Config fields that are write-only secrets' }),
    discovers: z.boolean(),
  })
  .openapi('IntegrationType');

export const IdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
export const TypeIdParam = z.object({ typeId: z.string().max(64).openapi({ param: { name: 'typeId', in: 'path' }, example: 'oci-registry' }) });

import { z } from '@hono/zod-openapi';
import { FAILURE_POLICIES, STRATEGY_TYPES } from '../../../domain/deployments/model';
import { securityThresholdsSchema } from '../../../domain/promotions/requests';
import { HealthCheckSchema } from '../../inventory-responses';

/** What the environment and freeze-window routes answer (Stella: camelCase). */

export const FreezeSpanSchema = z
  .object({ windowId: z.string(), name: z.string(), reason: z.string().nullable(), start: z.string(), end: z.string() })
  .openapi('FreezeSpan');

export const FreezeStatusSchema = z
  .object({
    active: z.boolean(),
    activeWindow: FreezeSpanSchema.nullable().openapi({ description: 'The freeze in force now (back-to-back windows merged), or null' }),
    nextWindow: FreezeSpanSchema.nullable().openapi({ description: 'The next freeze to start, or null' }),
  })
  .openapi('FreezeStatus');

export const EnvironmentDeploymentSchema = z
  .object({
    strategy: z
      .object({
        type: z.enum(STRATEGY_TYPES),
        batchSize: z.number().int().nullable(),
        maxUnavailable: z.number().int().nullable(),
        minHealthy: z.string().nullable(),
      })
      .optional(),
    failurePolicy: z.enum(FAILURE_POLICIES).optional(),
    targetLabels: z
      .record(z.string(), z.string())
      .optional()
      .openapi({ description: 'Deploy only to the targets carrying all these labels; absent: every target of the environment' }),
    deployHook: z.string().nullable().optional(),
    healthCheck: HealthCheckSchema.nullable().optional(),
  })
  .openapi('EnvironmentDeployment', { description: 'As set; what is not set falls back to the defaults (all-at-once, rollback, no hook, no health check)' });

export const EnvironmentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    order: z.number().int(),
    requireSod: z.boolean(),
    requiredApprovals: z.number().int(),
    securityThresholds: securityThresholdsSchema.nullable(),
    requireChangeRequest: z.boolean(),
    deployment: EnvironmentDeploymentSchema.nullable(),
    version: z.number().int(),
    freeze: FreezeStatusSchema,
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Environment');

export const FreezeWindowSchema = z
  .object({
    id: z.string(),
    environmentId: z.string(),
    name: z.string(),
    reason: z.string().nullable(),
    start: z.string().nullable(),
    end: z.string().nullable(),
    rrule: z.string().nullable(),
    timezone: z.string().nullable(),
    duration: z.string().nullable(),
    exemptReleaseClasses: z.array(z.string()),
    nextOccurrence: FreezeSpanSchema.nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .openapi('FreezeWindow');

export const EnvironmentIdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
export const EnvWindowParams = z.object({
  envId: z.uuid().openapi({ param: { name: 'envId', in: 'path' } }),
  windowId: z.uuid().openapi({ param: { name: 'windowId', in: 'path' } }),
});
export const EnvIdParam = z.object({ envId: z.uuid().openapi({ param: { name: 'envId', in: 'path' } }) });

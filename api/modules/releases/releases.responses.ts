import { z } from '@hono/zod-openapi';
import { securityScanSchema } from '../../../domain/promotions/requests';

export const ComponentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    repository: z.string().nullable(),
    description: z.string().nullable(),
    deployHook: z.string().nullable(),
    pipelineId: z.string().nullable().openapi({ description: 'The promotion pipeline its releases follow; null: the default (every environment by order)' }),
    latestVersion: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Component');

export const ComponentVersionSchema = z
  .object({ componentId: z.string(), version: z.string(), digest: z.string().nullable(), syncedAt: z.string() })
  .openapi('ComponentVersion');

export const SyncResultSchema = z
  .object({
    componentId: z.string(),
    synced: z.number().int(),
    added: z.array(z.string()),
    redigested: z.array(z.object({ version: z.string(), from: z.string().nullable(), to: z.string().nullable(), releases: z.array(z.string()) })),
  })
  .openapi('SyncVersionsResult');

const ReleaseComponent = z.object({ componentId: z.string(), name: z.string(), version: z.string(), digest: z.string().nullable() });

export const ReleaseSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    version: z.string(),
    class: z.string(),
    description: z.string().nullable(),
    status: z.enum(['ready', 'deprecated']),
    components: z.array(ReleaseComponent),
    securityScan: securityScanSchema.nullable(),
    scanUpdatedAt: z.string().nullable(),
    deprecatedAt: z.string().nullable(),
    deprecatedReason: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Release');

export const ReleaseStateSchema = z
  .object({
    releaseId: z.string(),
    deployedTo: z.array(z.object({ environmentId: z.string(), environmentName: z.string(), deployedAt: z.string(), promotionId: z.string().nullable(), current: z.boolean() })),
    promotingTo: z.array(z.object({ promotionId: z.string(), environmentId: z.string(), environmentName: z.string(), status: z.string() })),
  })
  .openapi('ReleaseState');

export const ReleaseComparisonSchema = z
  .object({
    releaseId: z.string(),
    otherId: z.string(),
    identical: z.boolean(),
    differences: z.array(
      z.object({
        componentId: z.string(),
        name: z.string(),
        change: z.enum(['added', 'removed', 'version', 'digest']),
        version: z.string().nullable(),
        otherVersion: z.string().nullable(),
        digest: z.string().nullable(),
        otherDigest: z.string().nullable(),
      }),
    ),
  })
  .openapi('ReleaseComparison');

export const IdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
export const CompareParams = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }),
  otherId: z.uuid().openapi({ param: { name: 'otherId', in: 'path' } }),
});

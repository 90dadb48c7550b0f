import { z } from '@hono/zod-openapi';

/** What the version-sticker routes answer (Stella: camelCase). */

export const StickerEntrySchema = z
  .object({
    id: z.string().openapi({ description: 'The deployment task that put the sticker on the target' }),
    targetId: z.string(),
    targetName: z.string().nullable().openapi({ description: 'Null once the target is deleted' }),
    environmentId: z.string().nullable(),
    releaseId: z.string(),
    releaseName: z.string(),
    version: z.string(),
    digests: z.record(z.string(), z.string().nullable()).openapi({ description: 'Digest of each component deployed, by component name' }),
    jobId: z.string(),
    deployedAt: z.string(),
    current: z.boolean().openapi({ description: 'Whether this is the target’s sticker now (what it runs according to Tollgate)' }),
  })
  .openapi('VersionStickerEntry');

export const IdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

import { z } from '@hono/zod-openapi';

/** What the pipeline routes answer (Stella: camelCase). */

export const PipelineSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    environments: z.array(z.object({ id: z.string(), name: z.string() })).openapi({ description: 'In promotion order' }),
    components: z.number().int().openapi({ description: 'How many components follow the pipeline' }),
    version: z.number().int(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Pipeline');

export const PipelineIdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });

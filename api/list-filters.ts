import { z } from '@hono/zod-openapi';

/** An empty filter value (`?status=`) means no filter, and the document says so. */
export const emptyIsNone = <T extends z.ZodType>(schema: T) =>
  z
    .union([z.literal(''), schema])
    .optional()
    .transform((v) => (v === '' ? undefined : (v as z.output<T> | undefined)));

import { z } from '@hono/zod-openapi';

/** Response schemas that more than one inventory module serves (an environment's and a target's health check). */

export const HealthCheckSchema = z
  .object({
    url: z.string().nullable().openapi({ description: 'Healthy when a GET answers 2xx' }),
    command: z.string().nullable().openapi({ description: 'Healthy when the command exits 0' }),
    retries: z.number().int(),
    intervalSeconds: z.number().int(),
    timeoutSeconds: z.number().int(),
  })
  // Unnamed: it is only ever nullable, and a named schema's nullability is fixed where the document first meets it.
  .openapi({ description: 'An HTTP URL (2xx) or a command (exit 0), exactly one of them, retried' });

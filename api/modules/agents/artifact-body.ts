import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { AppEnv } from '../../context';
import { PayloadTooLarge } from '../../errors';

/** A file an agent uploads (a deployment task's, a script step's), with its sha256. */
export async function artifactBody(c: Context<AppEnv>): Promise<{ content: Buffer; sha256: string }> {
  const max = c.get('deps').config.ARTIFACT_MAX_BYTES;
  // app.ts already holds the body to ARTIFACT_MAX_BYTES while it streams in; this is the same rule on what arrived.
  const content = Buffer.from(await c.req.arrayBuffer());
  if (content.length > max) throw new PayloadTooLarge(max);
  return { content, sha256: createHash('sha256').update(content).digest('hex') };
}

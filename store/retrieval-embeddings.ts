import type { ChatProvider } from '../domain/ai/settings';
import type { Pool } from '../platform/db';
import type { Logger } from '../platform/logger';
import { ARTICLE_EMBED_TEXT, INCIDENT_EMBED_TEXT, type EmbeddedKind } from './retrieval';

/**
 * The embedding model (an OpenAI-compatible POST {AI_BASE_URL}/embeddings)
 * and the vectors kept of what it read: a knowledge article's, and a resolved
 * incident's resolution. The API and the bulk job's activity both store
 * vectors after their writes, so the client lives here beside the SQL.
 */
export type Embedded = { ok: true; vectors: number[][] } | { ok: false; why: string };

/** What a vector is computed from at most: the model reads a record's beginning, where its title and gist are. */
export const EMBEDDED_CHARS = 2000;

export async function embedTexts(provider: ChatProvider, input: readonly string[]): Promise<Embedded> {
  let vectors: number[][];
  try {
    const res = await fetch(`${provider.baseUrl}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(provider.apiKey ? { authorization: `Bearer ${provider.apiKey}` } : {}) },
      body: JSON.stringify({ model: provider.model, input: input.map((t) => t.slice(0, EMBEDDED_CHARS)) }),
      signal: AbortSignal.timeout(provider.timeoutMs),
    });
    if (!res.ok) return { ok: false, why: `answered HTTP ${res.status}` };
    const body = (await res.json()) as { data?: Array<{ index?: number; embedding?: unknown }> };
    const data = [...(body.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    vectors = data.map((d) => (Array.isArray(d.embedding) ? d.embedding.map(Number) : []));
  } catch (err) {
    return { ok: false, why: (err as Error).name === 'TimeoutError' ? `did not answer within ${provider.timeoutMs} ms` : 'could not be reached' };
  }
  if (vectors.length !== input.length || vectors.some((v) => v.length === 0 || v.some((x) => !Number.isFinite(x)))) {
    return { ok: false, why: 'answered a vector per input badly' };
  }
  return { ok: true, vectors };
}

export const norm = (v: readonly number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

// $1 tenant, $2 record id. The record's text as its vector reads it, and the vector kept of it (if any).
const SOURCES: Record<EmbeddedKind, string> = {
  article: `SELECT ${ARTICLE_EMBED_TEXT} AS text FROM knowledge_articles a WHERE a.tenant_id = $1 AND a.id = $2 AND a.deleted_at IS NULL`,
  incident: `SELECT ${INCIDENT_EMBED_TEXT} AS text FROM incidents i WHERE i.tenant_id = $1 AND i.id = $2 AND i.deleted_at IS NULL AND i.resolution_notes IS NOT NULL`,
};

export type StoredEmbedding = 'stored' | 'unchanged' | 'nothing to embed' | { failed: string };

/**
 * Computes and keeps a record's vector, unless the one kept already reads its
 * current text with this model. The vector is written only if the record
 * still says what was embedded: a slower call for an older text never
 * replaces the vector of a newer one.
 */
export async function storeEmbedding(pool: Pool, provider: ChatProvider, tenantId: string, kind: EmbeddedKind, id: string): Promise<StoredEmbedding> {
  const { rows } = await pool.query<{ text: string; md5: string; kept: string | null }>(
    `SELECT s.text, md5(s.text) AS md5,
            (SELECT e.content_md5 FROM ai_embeddings e WHERE e.tenant_id = $1 AND e.kind = $3 AND e.record_id = $2 AND e.model = $4) AS kept
       FROM (${SOURCES[kind]}) s`,
    [tenantId, id, kind, provider.model],
  );
  const source = rows[0];
  if (!source) return 'nothing to embed';
  if (source.kept === source.md5) return 'unchanged';
  const embedded = await embedTexts(provider, [source.text]);
  if (!embedded.ok) return { failed: `the embedding model ${embedded.why}` };
  const [vector] = embedded.vectors;
  const length = norm(vector);
  if (length === 0) return { failed: 'the embedding model answered a zero vector' };
  await pool.query(
    `INSERT INTO ai_embeddings (tenant_id, kind, record_id, model, content_md5, embedding, norm, updated_at)
     SELECT $1, $3, $2, $4, $5, $6::float4[], $7, now() FROM (${SOURCES[kind]}) s WHERE md5(s.text) = $5
     ON CONFLICT (tenant_id, kind, record_id) DO UPDATE
       SET model = EXCLUDED.model, content_md5 = EXCLUDED.content_md5, embedding = EXCLUDED.embedding, norm = EXCLUDED.norm, updated_at = EXCLUDED.updated_at`,
    [tenantId, id, kind, provider.model, source.md5, vector, length],
  );
  return 'stored';
}

/**
 * After a write has committed: the record's vector is computed in the
 * background, so the writer's answer never waits on the model and a model
 * that fails cannot fail the write (it is logged; the record is still found
 * by its words, and its next write tries again).
 */
export function embedAfterWrite(pool: Pool, log: Logger, provider: ChatProvider | undefined, tenantId: string, kind: EmbeddedKind, id: string): void {
  if (!provider) return;
  storeEmbedding(pool, provider, tenantId, kind, id)
    .then((outcome) => {
      if (typeof outcome === 'object') log.warn({ tenantId, kind, id, reason: outcome.failed }, 'no stored embedding for this write');
    })
    .catch((err) => log.warn({ err, tenantId, kind, id }, 'no stored embedding for this write'));
}

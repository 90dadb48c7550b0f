import type { Passage } from '../../../domain/ai/answer';
import { blendedScore, cosine } from '../../../domain/ai/scoring';
import type { ChatProvider } from '../../../domain/ai/settings';

/**
 * Reranks retrieved passages by meaning with an OpenAI-compatible embedding
 * model (POST {AI_BASE_URL}/embeddings): the question and each passage are
 * embedded, and each score becomes its words' score blended with the cosine
 * similarity. Only passages the caller could read were retrieved, so the
 * model sees nothing more. A model that fails leaves the words' ranking, and
 * says so.
 */
export type Reranked = { ok: true; passages: Passage[] } | { ok: false; note: string };

const PASSAGE_CHARS = 2000;

export async function rerankByMeaning(provider: ChatProvider, question: string, passages: readonly Passage[]): Promise<Reranked> {
  if (passages.length === 0) return { ok: true, passages: [] };
  const input = [question, ...passages.map((p) => `${p.title}\n${p.text}`.slice(0, PASSAGE_CHARS))];
  let vectors: number[][];
  try {
    const res = await fetch(`${provider.baseUrl}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(provider.apiKey ? { authorization: `Bearer ${provider.apiKey}` } : {}) },
      body: JSON.stringify({ model: provider.model, input }),
      signal: AbortSignal.timeout(provider.timeoutMs),
    });
    if (!res.ok) return { ok: false, note: `The embedding model answered HTTP ${res.status}; passages are ranked by their words only.` };
    const body = (await res.json()) as { data?: Array<{ index?: number; embedding?: unknown }> };
    const data = [...(body.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    vectors = data.map((d) => (Array.isArray(d.embedding) ? d.embedding.map(Number) : []));
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `did not answer within ${provider.timeoutMs} ms` : 'could not be reached';
    return { ok: false, note: `The embedding model ${why}; passages are ranked by their words only.` };
  }
  if (vectors.length !== input.length || vectors.some((v) => v.length === 0 || v.some((x) => !Number.isFinite(x)))) {
    return { ok: false, note: 'The embedding model answered a vector per input badly; passages are ranked by their words only.' };
  }
  const [asked, ...rest] = vectors;
  const reranked = passages.map((p, i) => ({ ...p, score: blendedScore(p.score, cosine(asked, rest[i])) }));
  return { ok: true, passages: reranked.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id)) };
}

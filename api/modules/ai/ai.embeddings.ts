import type { Passage } from '../../../domain/ai/answer';
import { blendedScore, cosine } from '../../../domain/ai/scoring';
import type { ChatProvider } from '../../../domain/ai/settings';
import type { Pool } from '../../../platform/db';
import { retrieveByMeaning, type RetrievalScope } from '../../../store/retrieval';
import { embedTexts } from '../../../store/retrieval-embeddings';

/**
 * Ranking by meaning with an OpenAI-compatible embedding model: the question
 * and the passages its words retrieved are embedded in one call, and the
 * question's vector is also compared with the kept vectors of the articles and
 * resolved incidents in scope (store/retrieval.ts), which finds a record that
 * shares no word with the question. Each score becomes its words' score (0 for
 * a record found by meaning alone) blended with its cosine similarity. Only
 * records the caller could read are retrieved, so the model sees nothing more.
 * A model that fails leaves the words' ranking, and says so.
 */
export type Reranked = { ok: true; passages: Passage[] } | { ok: false; note: string };

export async function rankByMeaning(pool: Pool, provider: ChatProvider, scope: RetrievalScope, question: string, lexical: readonly Passage[], limit: number): Promise<Reranked> {
  const embedded = await embedTexts(provider, [question, ...lexical.map((p) => `${p.title}\n${p.text}`)]);
  if (!embedded.ok) return { ok: false, note: `The embedding model ${embedded.why}; passages are ranked by their words only.` };
  const [asked, ...rest] = embedded.vectors;
  const byWords = lexical.map((p, i) => ({ ...p, score: blendedScore(p.score, cosine(asked, rest[i])) }));
  const seen = new Set(lexical.map((p) => `${p.kind}:${p.id}`));
  const byMeaning = (await retrieveByMeaning(pool, scope, { model: provider.model, vector: asked, limit }))
    .filter((p) => !seen.has(`${p.kind}:${p.id}`))
    .map((p) => ({ ...p, score: blendedScore(0, p.score) }));
  return { ok: true, passages: [...byWords, ...byMeaning].sort((a, b) => b.score - a.score || a.id.localeCompare(b.id)) };
}

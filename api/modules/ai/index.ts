import { bestSentences, extractiveAnswer, type PassageKind } from '../../../domain/ai/answer';
import { DEFAULT_PASSAGES } from '../../../domain/ai/requests';
import { confidenceOf } from '../../../domain/ai/scoring';
import { aiSettings } from '../../../domain/ai/settings';
import { queryTerms } from '../../../domain/ai/terms';
import { hasPermission, type Principal } from '../../../domain/permissions';
import { retrievePassages, type RetrievalScope } from '../../../store/retrieval';
import { requirePermission } from '../../principal';
import { ok } from '../../respond';
import { createRouter } from '../../router';
import { chatAnswer } from './ai.chat';
import { rankByMeaning } from './ai.embeddings';
import type { AiAnswer } from './ai.responses';
import * as routes from './ai.routes';

/** POST /ai/query: answers only from the caller's own readable records, with citations, or says it has no answer. */
export function aiRouter() {
  const router = createRouter();

  router.openapi(routes.aiQueryRoute, async (c) => {
    const principal = requirePermission(c, 'knowledge:read');
    const { question, limit } = c.req.valid('json');
    const settings = aiSettings(c.get('deps').config);
    const terms = queryTerms(question);
    const wanted = limit ?? DEFAULT_PASSAGES;
    // An embedding model reranks a wider pool by meaning (more candidates than the answer uses) and adds the records closest
    // in meaning by their kept vectors; without one, the words decide.
    const scope = scopeOf(principal);
    const db = c.get('deps').pool;
    const pool = await retrievePassages(db, scope, terms, settings.embeddings ? Math.max(wanted * 4, 20) : wanted);
    const reranked = settings.embeddings ? await rankByMeaning(db, settings.embeddings, scope, question, pool, wanted) : null;
    const retrieved = (reranked?.ok ? reranked.passages : pool).slice(0, wanted);
    const ranking = reranked?.ok ? ('words+meaning' as const) : ('words' as const);
    const rankingNote = reranked && !reranked.ok ? reranked.note : null;
    const confidence = confidenceOf(retrieved.map((p) => p.score));
    const base = { question, confidence, threshold: settings.minConfidence, provider: 'extractive' as const, model: null, ranking };
    const passages = retrieved.filter((p) => p.score >= settings.minConfidence);
    if (passages.length === 0) {
      const note = 'No answer: nothing you may read matches this question closely enough.';
      return ok(c, { ...base, answered: false, answer: null, note: rankingNote ? `${note} ${rankingNote}` : note, citations: [] } satisfies AiAnswer);
    }
    const prefix = c.req.path.replace(/\/ai\/query\/?$/, '');
    const citations = passages.map((p, i) => ({
      marker: i + 1,
      kind: p.kind,
      id: p.id,
      title: p.title,
      link: `${prefix}${RECORD_PATHS[p.kind]}/${p.id}`,
      score: p.score,
      excerpt: bestSentences(p.text, terms).join(' ').slice(0, 500),
    }));
    const extractive = { ...base, answered: true, answer: extractiveAnswer(terms, passages), note: rankingNote, citations };
    if (!settings.chat) return ok(c, extractive satisfies AiAnswer);
    const chat = await chatAnswer(settings.chat, question, passages);
    if (!chat.ok) return ok(c, { ...extractive, note: chat.note } satisfies AiAnswer);
    return ok(c, { ...extractive, provider: 'chat', model: settings.chat.model, answer: chat.answer } satisfies AiAnswer);
  });

  return router;
}

const RECORD_PATHS: Record<PassageKind, string> = { article: '/knowledge/articles', incident: '/incidents', change: '/changes', ci: '/cmdb/cis' };

/**
 * What the caller may read, kind by kind: a kind they cannot read is not
 * queried at all. Retired articles are out of date, so no answer rests on one.
 */
function scopeOf(principal: Principal): RetrievalScope {
  const articles = hasPermission(principal, 'knowledge:write') ? (['draft', 'published'] as const) : (['published'] as const);
  return {
    tenantId: principal.tenantId,
    articles,
    incidents: hasPermission(principal, 'incident:read') ? {} : undefined,
    changes: hasPermission(principal, 'change:read'),
    cis: hasPermission(principal, 'cmdb:read'),
  };
}

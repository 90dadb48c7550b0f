import type { Context } from 'hono';
import { aiSettings } from '../../../domain/ai/settings';
import type { Article } from '../../../domain/knowledge/model';
import type { CreateArticleInput, PatchArticleInput } from '../../../domain/knowledge/requests';
import { insertArticle, softDeleteArticle, updateArticle } from '../../../store/knowledge';
import { embedAfterWrite } from '../../../store/retrieval-embeddings';
import type { AppEnv } from '../../context';
import { auditedWrite } from '../../entity-writes';
import { principalOf } from '../../principal';

/** The API's article writes: the row, its new version and the audit entry in one transaction. */

type C = Context<AppEnv>;
const editorOf = (c: C) => {
  const p = principalOf(c);
  return p.email ?? p.userId;
};

/** With an embedding model configured, the article's vector is kept for the AI query once the write has committed. */
function embedArticle(c: C, article: Article): Article {
  const { pool, config } = c.get('deps');
  embedAfterWrite(pool, c.get('log'), aiSettings(config).embeddings, principalOf(c).tenantId, 'article', article.id);
  return article;
}

export async function createArticleRequest(c: C, body: CreateArticleInput): Promise<Article> {
  const { tenantId } = principalOf(c);
  const article = await auditedWrite(c, async (db) => {
    const article = await insertArticle(db, tenantId, editorOf(c), body);
    return { result: article, audit: { action: 'knowledge.create', resourceType: 'knowledge_article', resourceId: article.id, after: article } };
  });
  return embedArticle(c, article);
}

export async function patchArticleRequest(c: C, id: string, body: PatchArticleInput): Promise<Article> {
  const { tenantId } = principalOf(c);
  const article = await auditedWrite(
    c,
    async (db) => {
      const write = await updateArticle(db, tenantId, editorOf(c), id, body);
      if (!write) return undefined;
      return { result: write.after, audit: { action: 'knowledge.update', resourceType: 'knowledge_article', resourceId: id, before: write.before, after: write.after } };
    },
    { notFound: `Article ${id} not found` },
  );
  return embedArticle(c, article);
}

export function deleteArticleRequest(c: C, id: string): Promise<Article> {
  const { tenantId } = principalOf(c);
  return auditedWrite(
    c,
    async (db) => {
      const before = await softDeleteArticle(db, tenantId, id);
      if (!before) return undefined;
      return { result: before, audit: { action: 'knowledge.delete', resourceType: 'knowledge_article', resourceId: id, before } };
    },
    { notFound: `Article ${id} not found` },
  );
}

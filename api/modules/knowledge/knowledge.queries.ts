import type { z } from '@hono/zod-openapi';
import { queryTerms } from '../../../domain/ai/terms';
import type { Article, ArticleState, ArticleVersion } from '../../../domain/knowledge/model';
import { ARTICLE_COLUMNS, presentArticle, presentVersion, VERSION_COLUMNS } from '../../../store/knowledge';
import type { Pool } from '../../../platform/db';
import { listPage, type ListSpec, type SortColumn } from '../../list-query';
import type { Page, PageRequest } from '../../pagination';
import type { ArticleListQuery } from './knowledge.responses';

/**
 * Reads of articles and their versions, scoped by tenant and by the states
 * the caller may see; each filter and sort has its index (db/migrations/021_knowledge_ai.sql).
 */

export type ArticleFilters = z.infer<typeof ArticleListQuery>;

const FIXED_SORTS = {
  created_at: { column: 'created_at', cast: 'timestamptz' },
  updated_at: { column: 'updated_at', cast: 'timestamptz' },
} as const satisfies Record<string, SortColumn>;

export function articleListSpec(tenantId: string, visible: readonly ArticleState[], filters: ArticleFilters): ListSpec {
  const where = ['tenant_id = $1', 'deleted_at IS NULL'];
  const params: unknown[] = [tenantId];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
    return params.length;
  };
  const states = filters.state ? filters.state.filter((s) => visible.includes(s)) : visible;
  add((n) => `state = ANY($${n}::text[])`, states);
  if (filters.category) add((n) => `category = $${n}`, filters.category);
  if (filters.tag) add((n) => `tags @> ARRAY[$${n}::text]`, filters.tag.toLowerCase());
  const sortColumns: Record<string, SortColumn> = { ...FIXED_SORTS };
  if (filters.q) {
    // Full text finds the words; trigram word similarity finds each word misspelt (every one must be there, in any order).
    // Rank is an integer so the cursor compares it exactly.
    const n = params.push(filters.q);
    const t = params.push(queryTerms(filters.q));
    where.push(`(search @@ websearch_to_tsquery('english', $${n}) OR (SELECT bool_and(t <% search_text) FROM unnest($${t}::text[]) t))`);
    sortColumns.relevance = {
      column: `((ts_rank(search, websearch_to_tsquery('english', $${n})) + coalesce((SELECT avg(word_similarity(t, search_text)) FROM unnest($${t}::text[]) t), 0)) * 1000000)::int`,
      cast: 'int',
    };
  }
  return { from: 'knowledge_articles', select: ARTICLE_COLUMNS, where, params, sortColumns, idColumn: 'id' };
}

export async function listArticles(pool: Pool, tenantId: string, visible: readonly ArticleState[], filters: ArticleFilters, request: PageRequest): Promise<Page<Article>> {
  return listPage(pool, articleListSpec(tenantId, visible, filters), request, presentArticle);
}

export async function listVersions(pool: Pool, tenantId: string, id: string, visible: readonly ArticleState[], request: PageRequest): Promise<Page<ArticleVersion>> {
  const spec: ListSpec = {
    from: 'knowledge_article_versions',
    select: VERSION_COLUMNS,
    where: ['tenant_id = $1', 'article_id = $2', 'state = ANY($3::text[])'],
    params: [tenantId, id, visible],
    sortColumns: { version: { column: 'version', cast: 'int' } },
    idColumn: 'article_id',
  };
  return listPage(pool, spec, request, presentVersion);
}

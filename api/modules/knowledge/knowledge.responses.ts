import { z } from '@hono/zod-openapi';
import { ARTICLE_STATES } from '../../../domain/knowledge/model';
import { storableText } from '../../../domain/text';
import { csv, filterText } from '../../list-filters';
import { paginationQuery } from '../../pagination';

/** Response shapes and query parameters of the knowledge API, for the OpenAPI documents. */

const instant = z.string().openapi({ format: 'date-time' });

export const ArticleSchema = z
  .object({
    id: z.string().openapi({ example: 'KB0000012' }),
    number: z.string().openapi({ example: 'KB0000012' }),
    title: z.string(),
    body: z.string().openapi({ description: 'Markdown' }),
    category: z.string().nullable(),
    tags: z.array(z.string()),
    state: z.enum(ARTICLE_STATES),
    version: z.number().int(),
    created_by: z.string(),
    updated_by: z.string(),
    created_at: instant,
    updated_at: instant,
    published_at: instant.nullable(),
  })
  .openapi('KnowledgeArticle');

export const ArticleVersionSchema = z
  .object({
    article_id: z.string(),
    version: z.number().int(),
    title: z.string(),
    body: z.string(),
    category: z.string().nullable(),
    tags: z.array(z.string()),
    state: z.enum(ARTICLE_STATES),
    edited_by: z.string(),
    created_at: instant,
  })
  .openapi('KnowledgeArticleVersion');

export const ARTICLE_SORT_FIELDS = ['created_at', 'updated_at', 'relevance'] as const;

export const ArticleListQuery = paginationQuery.extend({
  state: csv(ARTICLE_STATES).openapi({ description: 'One state or a comma-separated list; callers without knowledge:write see published articles only' }),
  category: filterText(100, { trim: true }).openapi({ description: 'e.g. database' }),
  tag: filterText(50, { trim: true }).openapi({ description: 'Articles carrying this tag, e.g. redis' }),
  sort: z
    .string()
    .regex(new RegExp(`^-?(?:${ARTICLE_SORT_FIELDS.join('|')})$`), { message: `must be one of ${ARTICLE_SORT_FIELDS.join(', ')}, optionally prefixed with "-"` })
    .optional()
    .openapi({ description: 'created_at (default, newest first), updated_at, or relevance (the default with q)' }),
  q: filterText(500, { trim: true }).openapi({
    description: 'Search title, category and body: full text ranked with trigram similarity, so a misspelt word still finds its article, e.g. kubernets',
  }),
});

export const ArticleIdParam = z.object({ id: storableText().max(64).openapi({ param: { name: 'id', in: 'path' }, example: 'KB0000012' }) });

export const VersionsListQuery = paginationQuery.omit({ sort: true, order: true });

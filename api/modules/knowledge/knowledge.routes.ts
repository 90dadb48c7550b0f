import { createRoute } from '@hono/zod-openapi';
import { createArticleSchema, patchArticleSchema } from '../../../domain/knowledge/requests';
import { BODY_ERRORS, envelope, errorResponses, jsonBody, linksToResource, listEnvelope } from '../../openapi-helpers';
import { ArticleIdParam, ArticleListQuery, ArticleSchema, ArticleVersionSchema, VersionsListQuery } from './knowledge.responses';

/** The knowledge base as both OpenAPI documents describe it. */

const tags = ['Knowledge'];
const OPERATIONS_ON_AN_ARTICLE = ['getKnowledgeArticle', 'patchKnowledgeArticle', 'deleteKnowledgeArticle', 'listKnowledgeArticleVersions'] as const;
const NOT_FOUND = 'No article with this id in your tenant that you may read (drafts and retired articles need knowledge:write), or it was deleted';

const articleResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: envelope(ArticleSchema) } },
  links: linksToResource(OPERATIONS_ON_AN_ARTICLE),
});

export const listArticlesRoute = createRoute({
  method: 'get',
  path: '/knowledge/articles',
  operationId: 'listKnowledgeArticles',
  tags,
  summary: 'List and search knowledge articles',
  description:
    'Filters combine with AND. q ranks by full text plus trigram similarity (a misspelt word still matches). ' +
    'Callers without knowledge:write see published articles only. Pages by cursor (next_cursor) or by page number.',
  request: { query: ArticleListQuery },
  responses: {
    200: { description: 'A page of articles', content: { 'application/json': { schema: listEnvelope(ArticleSchema) } } },
    ...errorResponses([400, 403], { 400: 'A filter, sort or page parameter is invalid, or a cursor is not one this API issued (`INVALID_CURSOR`)' }),
  },
});

export const createArticleRoute = createRoute({
  method: 'post',
  path: '/knowledge/articles',
  operationId: 'createKnowledgeArticle',
  tags,
  summary: 'Create a knowledge article',
  description: 'state defaults to draft. The body is Markdown; version 1 is kept in the article’s versions.',
  request: jsonBody(createArticleSchema),
  responses: {
    201: { ...articleResponse('The new article'), headers: { Location: { description: 'The URL of the new article', schema: { type: 'string' } } } },
    ...errorResponses([...BODY_ERRORS, 403]),
  },
});

export const getArticleRoute = createRoute({
  method: 'get',
  path: '/knowledge/articles/{id}',
  operationId: 'getKnowledgeArticle',
  tags,
  summary: 'Get a knowledge article',
  request: { params: ArticleIdParam },
  responses: { 200: articleResponse('The article'), ...errorResponses([400, 403], { 404: NOT_FOUND }) },
});

export const patchArticleRoute = createRoute({
  method: 'patch',
  path: '/knowledge/articles/{id}',
  operationId: 'patchKnowledgeArticle',
  tags,
  summary: 'Edit a knowledge article (a new version)',
  description: 'Every edit adds a version; the previous body stays readable in GET /knowledge/articles/{id}/versions.',
  request: { params: ArticleIdParam, ...jsonBody(patchArticleSchema.openapi({ minProperties: 1 } as object)) },
  responses: { 200: articleResponse('The edited article'), ...errorResponses([...BODY_ERRORS, 403], { 404: NOT_FOUND }) },
});

export const deleteArticleRoute = createRoute({
  method: 'delete',
  path: '/knowledge/articles/{id}',
  operationId: 'deleteKnowledgeArticle',
  tags,
  summary: 'Delete a knowledge article',
  description: 'A soft delete: the row and its versions stay for audit; the article leaves lists, search and AI answers.',
  request: { params: ArticleIdParam },
  responses: { 204: { description: 'Deleted' }, ...errorResponses([400, 403], { 404: NOT_FOUND }) },
});

export const listVersionsRoute = createRoute({
  method: 'get',
  path: '/knowledge/articles/{id}/versions',
  operationId: 'listKnowledgeArticleVersions',
  tags,
  summary: 'An article’s versions, newest first',
  description: 'Callers without knowledge:write see the published versions only.',
  request: { params: ArticleIdParam, query: VersionsListQuery },
  responses: {
    200: { description: 'A page of versions', content: { 'application/json': { schema: listEnvelope(ArticleVersionSchema) } } },
    ...errorResponses([400, 403], { 404: NOT_FOUND }),
  },
});

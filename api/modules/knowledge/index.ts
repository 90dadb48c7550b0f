import { ARTICLE_ID_PATTERN, READ_ONLY_ARTICLE_FIELDS, visibleStates } from '../../../domain/knowledge/model';
import { hasPermission, type Principal } from '../../../domain/permissions';
import { findArticle } from '../../../store/knowledge';
import { NotFound } from '../../errors';
import { pageRequest, type SortSpec } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { listArticles, listVersions } from './knowledge.queries';
import * as routes from './knowledge.routes';
import { createArticleRequest, deleteArticleRequest, patchArticleRequest } from './knowledge.writes';

/** The knowledge base: Markdown articles with versions, searched by full text and trigram similarity. */
export function knowledgeRouter() {
  const router = createRouter({ readOnlyFields: READ_ONLY_ARTICLE_FIELDS });

  router.openapi(routes.listArticlesRoute, async (c) => {
    const principal = requirePermission(c, 'knowledge:read');
    const query = c.req.valid('query');
    const requested = query.sort?.replace(/^-/, '');
    const field = requested === 'relevance' && !query.q ? 'created_at' : requested;
    const fallback: SortSpec = query.q ? { field: 'relevance', direction: 'desc' } : { field: 'created_at', direction: 'desc' };
    const sort: SortSpec = field
      ? { field, direction: query.sort?.startsWith('-') ? 'desc' : (query.order ?? 'asc') }
      : { ...fallback, direction: query.order ?? fallback.direction };
    const page = await listArticles(c.get('deps').pool, principal.tenantId, visibleTo(principal), query, pageRequest(c.get('dialect'), query, sort));
    return okList(c, page);
  });

  router.openapi(routes.createArticleRoute, async (c) => {
    requirePermission(c, 'knowledge:write');
    const article = await createArticleRequest(c, c.req.valid('json'));
    c.header('Location', `${c.req.path.replace(/\/$/, '')}/${article.id}`);
    return ok(c, article, 201);
  });

  router.openapi(routes.getArticleRoute, async (c) => {
    const principal = requirePermission(c, 'knowledge:read');
    return ok(c, await existing(c.get('deps').pool, principal, c.req.valid('param').id));
  });

  router.openapi(routes.patchArticleRoute, async (c) => {
    requirePermission(c, 'knowledge:write');
    return ok(c, await patchArticleRequest(c, knownId(c.req.valid('param').id), c.req.valid('json')));
  });

  router.openapi(routes.deleteArticleRoute, async (c) => {
    requirePermission(c, 'knowledge:write');
    await deleteArticleRequest(c, knownId(c.req.valid('param').id));
    return c.body(null, 204);
  });

  router.openapi(routes.listVersionsRoute, async (c) => {
    const principal = requirePermission(c, 'knowledge:read');
    const article = await existing(c.get('deps').pool, principal, c.req.valid('param').id);
    const query = c.req.valid('query');
    const page = await listVersions(c.get('deps').pool, principal.tenantId, article.id, visibleTo(principal), pageRequest(c.get('dialect'), query, { field: 'version', direction: 'desc' }));
    return okList(c, page);
  });

  return router;
}

const visibleTo = (principal: Principal) => visibleStates(hasPermission(principal, 'knowledge:write'));

/** Ids that cannot exist are 404 without a query. */
function knownId(id: string): string {
  if (!ARTICLE_ID_PATTERN.test(id)) throw new NotFound(`Article ${id} not found`);
  return id;
}

async function existing(pool: Parameters<typeof findArticle>[0], principal: Principal, id: string) {
  const article = await findArticle(pool, principal.tenantId, knownId(id), visibleTo(principal));
  if (!article) throw new NotFound(`Article ${id} not found`);
  return article;
}

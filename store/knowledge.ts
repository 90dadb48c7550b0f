import { articleNumberToId, normaliseTags, type Article, type ArticleState, type ArticleVersion } from '../domain/knowledge/model';
import type { CreateArticleInput, PatchArticleInput } from '../domain/knowledge/requests';
import type { Pool, PoolClient } from '../platform/db';

/** Knowledge article rows and their versions; every statement is scoped by tenant and skips deleted articles. */

type Db = Pool | PoolClient;

export const VERSION_COLUMNS = 'article_id, version, title, body, category, tags, state, edited_by, created_at';

export const ARTICLE_COLUMNS =
  'id, number, title, body, category, tags, state, version, created_by, updated_by, created_at, updated_at, published_at';

const iso = (v: Date | string | null) => (v ? new Date(v).toISOString() : null);

export function presentArticle(row: Record<string, unknown>): Article {
  return {
    id: row.id as string,
    number: row.id as string,
    title: row.title as string,
    body: row.body as string,
    category: (row.category as string | null) ?? null,
    tags: (row.tags as string[]) ?? [],
    state: row.state as ArticleState,
    version: row.version as number,
    created_by: row.created_by as string,
    updated_by: row.updated_by as string,
    created_at: iso(row.created_at as Date)!,
    updated_at: iso(row.updated_at as Date)!,
    published_at: iso(row.published_at as Date | null),
  };
}

export function presentVersion(row: Record<string, unknown>): ArticleVersion {
  return {
    article_id: row.article_id as string,
    version: row.version as number,
    title: row.title as string,
    body: row.body as string,
    category: (row.category as string | null) ?? null,
    tags: row.tags as string[],
    state: row.state as ArticleState,
    edited_by: row.edited_by as string,
    created_at: iso(row.created_at as Date)!,
  };
}

export async function findArticle(db: Db, tenantId: string, id: string, states: readonly ArticleState[]): Promise<Article | undefined> {
  const { rows } = await db.query(
    `SELECT ${ARTICLE_COLUMNS} FROM knowledge_articles WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL AND state = ANY($3::text[])`,
    [tenantId, id, states],
  );
  return rows[0] ? presentArticle(rows[0]) : undefined;
}

async function keepVersion(db: PoolClient, tenantId: string, a: Article, editor: string): Promise<void> {
  await db.query(
    `INSERT INTO knowledge_article_versions (tenant_id, article_id, version, title, body, category, tags, state, edited_by, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [tenantId, a.id, a.version, a.title, a.body, a.category, a.tags, a.state, editor, a.updated_at],
  );
}

export async function insertArticle(db: PoolClient, tenantId: string, editor: string, input: CreateArticleInput): Promise<Article> {
  const { rows: n } = await db.query<{ n: string }>("SELECT next_resource_number($1, 'knowledge') AS n", [tenantId]);
  const number = Number(n[0].n);
  const state = input.state ?? 'draft';
  const { rows } = await db.query(
    `INSERT INTO knowledge_articles (tenant_id, id, number, version, title, body, category, tags, state, created_by, updated_by, created_at, updated_at, published_at)
     VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, $9, now(), now(), CASE WHEN $8 = 'published' THEN now() END)
     RETURNING ${ARTICLE_COLUMNS}`,
    [tenantId, articleNumberToId(number), number, input.title, input.body, input.category ?? null, normaliseTags(input.tags ?? []), state, editor],
  );
  const article = presentArticle(rows[0]);
  await keepVersion(db, tenantId, article, editor);
  return article;
}

/** An edit: the row moves to the next version and the versions table keeps it, so the previous body stays there too. */
export async function updateArticle(db: PoolClient, tenantId: string, editor: string, id: string, input: PatchArticleInput): Promise<{ before: Article; after: Article } | undefined> {
  const { rows: current } = await db.query(`SELECT ${ARTICLE_COLUMNS} FROM knowledge_articles WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE`, [
    tenantId,
    id,
  ]);
  if (!current[0]) return undefined;
  const before = presentArticle(current[0]);
  const next = {
    title: input.title ?? before.title,
    body: input.body ?? before.body,
    category: input.category === undefined ? before.category : input.category,
    tags: input.tags === undefined ? before.tags : normaliseTags(input.tags),
    state: input.state ?? before.state,
  };
  const { rows } = await db.query(
    `UPDATE knowledge_articles SET title = $3, body = $4, category = $5, tags = $6, state = $7, updated_by = $8, version = version + 1,
       updated_at = greatest(now(), updated_at + interval '1 microsecond'),
       published_at = CASE WHEN $7 = 'published' THEN coalesce(published_at, now()) ELSE published_at END
     WHERE tenant_id = $1 AND id = $2 RETURNING ${ARTICLE_COLUMNS}`,
    [tenantId, id, next.title, next.body, next.category, next.tags, next.state, editor],
  );
  const after = presentArticle(rows[0]);
  await keepVersion(db, tenantId, after, editor);
  return { before, after };
}

export async function softDeleteArticle(db: PoolClient, tenantId: string, id: string): Promise<Article | undefined> {
  const { rows } = await db.query(
    `UPDATE knowledge_articles SET deleted_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING ${ARTICLE_COLUMNS}`,
    [tenantId, id],
  );
  return rows[0] ? presentArticle(rows[0]) : undefined;
}

import { suggestionFrom, type Passage, type PassageKind } from '../domain/ai/answer';
import { anyOfTsQuery, queryTerms } from '../domain/ai/terms';
import { passageScore } from '../domain/ai/scoring';
import type { ArticleState } from '../domain/knowledge/model';
import type { Incident } from '../domain/incidents/model';
import type { CreateIncidentInput } from '../domain/incidents/requests';
import type { Pool, PoolClient } from '../platform/db';
import type { Logger } from '../platform/logger';

/**
 * Retrieval for the AI query: passages from one tenant's records, each kind
 * only when the caller may read it (the scope says which), ranked by full text
 * and per-term trigram similarity (domain/ai/scoring.ts). A kind left out of
 * the scope is never queried, so nothing of it can reach an answer.
 */
export interface RetrievalScope {
  tenantId: string;
  /** Article states the caller may read; absent: no articles. */
  articles?: readonly ArticleState[];
  /** Incidents (with their resolution notes and work notes); `resolvedOnly` keeps resolved and closed ones. */
  incidents?: { resolvedOnly?: boolean };
  changes?: boolean;
  /** Configuration items: name, class, environment, owner, description and attributes. */
  cis?: boolean;
}

/** Candidates each kind's query hands over for scoring: more than any answer uses, few enough to score cheaply. */
const CANDIDATES_PER_KIND = 30;

interface Row {
  id: string;
  title: string;
  text: string;
  rank: number;
  sims: number[];
}

// $1 tenant, $2 terms, $3 tsquery text, $4 candidate limit; each kind's document is `doc`, its tsvector `search`.
const ranked = (doc: string, search: string) => ({
  match: `(${search} @@ to_tsquery('english', $3) OR EXISTS (SELECT 1 FROM unnest($2::text[]) t WHERE t <% (${doc})))`,
  columns: `ts_rank_cd(${search}, to_tsquery('english', $3)) AS rank, ARRAY(SELECT word_similarity(t, ${doc}) FROM unnest($2::text[]) t) AS sims`,
  order: `ORDER BY ts_rank_cd(${search}, to_tsquery('english', $3)) + (SELECT avg(word_similarity(t, ${doc})) FROM unnest($2::text[]) t) DESC LIMIT $4`,
});

const INCIDENT_NOTES = `coalesce((SELECT string_agg(n.body, E'\\n' ORDER BY n.created_at) FROM incident_notes n WHERE n.tenant_id = i.tenant_id AND n.incident_id = i.id), '')`;
// What the incidents' trigram index holds (db/migrations/026): its words and how it was resolved.
const INCIDENT_TRGM = `i.short_description || ' ' || coalesce(i.description, '') || ' ' || coalesce(i.resolution_notes, '')`;
const INCIDENT_DOC = `${INCIDENT_TRGM} || ' ' || ${INCIDENT_NOTES}`;
// The resolution first: it is what a question about the incident most wants, and what its suggestion quotes.
const INCIDENT_TEXT = `concat_ws(E'\\n', 'Resolution: ' || i.resolution_notes, i.description, ${INCIDENT_NOTES})`;
const CHANGE_TEXT = `concat_ws(E'\\n', c.description, c.implementation_plan, c.backout_plan, c.test_plan, c.outcome)`;

function articleSql(): string {
  const r = ranked('a.search_text', 'a.search');
  return `SELECT a.id, a.title, a.body AS text, ${r.columns} FROM knowledge_articles a
          WHERE a.tenant_id = $1 AND a.deleted_at IS NULL AND a.state = ANY($5::text[]) AND ${r.match} ${r.order}`;
}

function incidentSql(resolvedOnly: boolean): string {
  const r = ranked(INCIDENT_DOC, 'i.search');
  const state = resolvedOnly ? `AND i.state IN ('resolved', 'closed')` : '';
  const trgm = ranked(INCIDENT_TRGM, 'i.search').match;
  return `SELECT i.id, i.short_description AS title, ${INCIDENT_TEXT} AS text, ${r.columns} FROM incidents i
          WHERE i.tenant_id = $1 AND i.deleted_at IS NULL ${state} AND ${trgm} ${r.order}`;
}

function changeSql(): string {
  const doc = `c.short_description || ' ' || coalesce(c.description, '')`;
  const r = ranked(`${doc} || ' ' || ${CHANGE_TEXT}`, 'c.search');
  return `SELECT c.id, c.short_description AS title, ${CHANGE_TEXT} AS text, ${r.columns} FROM changes c
          WHERE c.tenant_id = $1 AND ${ranked(doc, 'c.search').match} ${r.order}`;
}

// A CI's words: one sentence of what it is, where and whose (an answer quotes it whole), what it says of itself, its attributes.
const CI_TEXT = `concat_ws(E'\\n', ci.name || ' is a ' || ci.class || coalesce(' in ' || ci.environment, '') || coalesce(', owned by ' || ci.owner_group, '') || '.', ci.description, nullif(ci.attributes::text, '{}'))`;

function ciSql(): string {
  const doc = `ci.name || ' ' || coalesce(ci.description, '')`;
  const r = ranked(`${doc} || ' ' || ${CI_TEXT}`, 'ci.search');
  return `SELECT ci.id, ci.name AS title, ${CI_TEXT} AS text, ${r.columns} FROM cmdb_cis ci
          WHERE ci.tenant_id = $1 AND ${ranked(doc, 'ci.search').match} ${r.order}`;
}

/** The kinds whose vectors are kept (db/migrations/026): the knowledge base, and how past incidents were resolved. */
export type EmbeddedKind = Extract<PassageKind, 'article' | 'incident'>;

/** What a kept vector was computed from (its md5 is kept with it, so a vector of an older text is not used). */
export const ARTICLE_EMBED_TEXT = `a.title || E'\\n' || a.body`;
export const INCIDENT_EMBED_TEXT = `i.short_description || E'\\n' || coalesce(i.description, '') || E'\\n' || i.resolution_notes`;

/**
 * How many of a tenant's newest kept vectors of a kind one question is
 * compared with. pgvector is not available, so cosine similarity is computed
 * in SQL over float4[]: 1,000 vectors of 1,536 dimensions took about 0.4 s
 * on a shared two-core machine (linear in both). This bounds that work; a
 * record outside it is still found by its words.
 */
export const MEANING_SCAN_LIMIT = 1000;

export interface MeaningQuery {
  model: string;
  vector: readonly number[];
  /** How many of the closest records to hand back, per kind. */
  limit: number;
}

// $1 tenant, $2 model, $3 question vector, $4 its norm, $5 scan limit, $6 result limit; each kind's candidates
// are its newest kept vectors whose record the caller may read and whose text has not changed since.
const byMeaning = (kind: EmbeddedKind, from: string, where: string, text: string) => `
  SELECT c.id, c.title, c.text, (SELECT sum(x::float8 * y::float8) FROM unnest(c.embedding, $3::float4[]) AS t(x, y)) / (c.norm * $4) AS similarity
    FROM (SELECT r.id, r.title, r.text, e.embedding, e.norm
            FROM ai_embeddings e
            JOIN LATERAL (${from} AND ${where} AND md5(${text}) = e.content_md5) r ON true
           WHERE e.tenant_id = $1 AND e.kind = '${kind}' AND e.model = $2 AND cardinality(e.embedding) = cardinality($3::float4[])
           ORDER BY e.updated_at DESC LIMIT $5) c
   ORDER BY similarity DESC, c.id LIMIT $6`;

function articleMeaningSql(): string {
  return byMeaning(
    'article',
    `SELECT a.id, a.title, a.body AS text FROM knowledge_articles a WHERE a.tenant_id = e.tenant_id AND a.id = e.record_id`,
    `a.deleted_at IS NULL AND a.state = ANY($7::text[])`,
    ARTICLE_EMBED_TEXT,
  );
}

function incidentMeaningSql(resolvedOnly: boolean): string {
  return byMeaning(
    'incident',
    `SELECT i.id, i.short_description AS title, ${INCIDENT_TEXT} AS text FROM incidents i WHERE i.tenant_id = e.tenant_id AND i.id = e.record_id`,
    `i.deleted_at IS NULL${resolvedOnly ? ` AND i.state IN ('resolved', 'closed')` : ''}`,
    INCIDENT_EMBED_TEXT,
  );
}

/**
 * The records in scope closest in meaning to a question's vector, by their
 * kept vectors alone (no word need be shared), each with its cosine
 * similarity as its score. Only kinds the scope admits are read.
 */
export async function retrieveByMeaning(pool: Pool, scope: RetrievalScope, q: MeaningQuery): Promise<Passage[]> {
  const length = Math.sqrt(q.vector.reduce((s, x) => s + x * x, 0));
  if (length === 0) return [];
  const base = [scope.tenantId, q.model, q.vector, length, MEANING_SCAN_LIMIT, q.limit];
  const queries: Array<Promise<Passage[]>> = [];
  const run = (kind: PassageKind, sql: string, params: unknown[]) =>
    queries.push(
      pool
        .query<{ id: string; title: string; text: string | null; similarity: number }>(sql, params)
        .then(({ rows }) => rows.map((row) => ({ kind, id: row.id, title: row.title, text: row.text ?? '', score: Number(row.similarity) }))),
    );
  if (scope.articles?.length) run('article', articleMeaningSql(), [...base, scope.articles]);
  if (scope.incidents) run('incident', incidentMeaningSql(scope.incidents.resolvedOnly ?? false), base);
  return (await Promise.all(queries)).flat().sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
}

/** The best `limit` passages of every kind in scope for these terms, best first. */
export async function retrievePassages(pool: Pool, scope: RetrievalScope, terms: readonly string[], limit: number): Promise<Passage[]> {
  if (terms.length === 0) return [];
  const base = [scope.tenantId, terms, anyOfTsQuery(terms), CANDIDATES_PER_KIND];
  const queries: Array<Promise<Passage[]>> = [];
  const run = (kind: PassageKind, sql: string, params: unknown[]) =>
    queries.push(
      pool.query<Row>(sql, params).then(({ rows }) =>
        rows.map((row) => ({ kind, id: row.id, title: row.title, text: row.text ?? '', score: passageScore(Number(row.rank), row.sims.map(Number)) })),
      ),
    );
  if (scope.articles?.length) run('article', articleSql(), [...base, scope.articles]);
  if (scope.incidents) run('incident', incidentSql(scope.incidents.resolvedOnly ?? false), base);
  if (scope.changes) run('change', changeSql(), base);
  if (scope.cis) run('ci', ciSql(), base);
  const all = (await Promise.all(queries)).flat();
  return all.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id)).slice(0, limit);
}

/**
 * A new incident's suggested resolution: the published articles and the
 * resolved incidents of its tenant closest to what it says. Whoever reads the
 * incident may read those (readers see published articles and incidents), so
 * the suggestion shows nothing its readers could not open themselves.
 */
export async function suggestResolution(pool: Pool, tenantId: string, text: string, minConfidence: number): Promise<string | null> {
  const terms = queryTerms(text);
  const passages = (await retrievePassages(pool, { tenantId, articles: ['published'], incidents: { resolvedOnly: true } }, terms, 3)).filter((p) => p.score >= minConfidence);
  return suggestionFrom(terms, passages);
}

/**
 * The suggestion for an incident about to be created, by the API or a bulk job
 * alike: read before the insert's transaction (a failed read must not abort
 * it), and never failing the create (no suggestion then).
 */
export async function suggestionForNewIncident(
  pool: Pool,
  log: Logger,
  tenantId: string,
  input: Pick<CreateIncidentInput, 'short_description' | 'description'>,
  minConfidence: number,
): Promise<string | null> {
  return suggestResolution(pool, tenantId, `${input.short_description} ${input.description ?? ''}`, minConfidence).catch((err) => {
    log.warn({ err }, 'no suggested resolution: retrieval failed');
    return null;
  });
}

/** Stores a new incident's suggestion with it, in the insert's transaction (the row's version stays: nobody edited it). */
export async function withSuggestedResolution(db: PoolClient, tenantId: string, incident: Incident, suggestion: string): Promise<Incident> {
  await db.query('UPDATE incidents SET ai_suggested_resolution = $3 WHERE tenant_id = $1 AND id = $2', [tenantId, incident.id, suggestion]);
  return { ...incident, ai_suggested_resolution: suggestion };
}

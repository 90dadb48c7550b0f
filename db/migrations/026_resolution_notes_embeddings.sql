-- Up Migration

-- An incident's resolution: what fixed it, written when it is resolved (or closed), cleared when it is reopened.
-- It is searched with the description's weight, so a list query and the AI query find an incident by how it ended.
-- Postgres 15 cannot change a generated column's expression, so `search` is dropped and added again (its index with it).
ALTER TABLE incidents ADD COLUMN resolution_notes text;
ALTER TABLE incidents DROP COLUMN search;
ALTER TABLE incidents ADD COLUMN search tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('english', coalesce(short_description, '')), 'A') ||
  setweight(to_tsvector('english', coalesce(description, '')), 'B') ||
  setweight(to_tsvector('english', coalesce(resolution_notes, '')), 'B') ||
  notes_search
) STORED;
CREATE INDEX incidents_search_idx ON incidents USING gin (tenant_id, search) WHERE deleted_at IS NULL;
-- The AI query's trigram match reads the resolution too (a misspelt word of the fix still finds it).
DROP INDEX incidents_trgm_idx;
CREATE INDEX incidents_trgm_idx ON incidents USING gin ((short_description || ' ' || coalesce(description, '') || ' ' || coalesce(resolution_notes, '')) gin_trgm_ops)
  WHERE deleted_at IS NULL;

-- Stored embeddings (with AI_EMBEDDING_MODEL): a knowledge article's, and a resolved incident's resolution, vector
-- from the configured model, written after the record's own write. pgvector is not in Debian 12's archive, so the
-- vector is a float4[] and the AI query computes cosine similarity in SQL over a bounded set of a tenant's newest
-- vectors. content_md5 is the hash of the text the vector was computed from: a vector whose record changed since
-- (and whose new vector is not written yet) no longer matches it and is not used. model: a vector of another model
-- is not comparable with the question's, so only the configured model's are read.
CREATE TABLE ai_embeddings (
  tenant_id   text        NOT NULL,
  kind        text        NOT NULL CHECK (kind IN ('article', 'incident')),
  record_id   text        NOT NULL,
  model       text        NOT NULL,
  content_md5 text        NOT NULL,
  embedding   float4[]    NOT NULL,
  -- The vector's length, kept so a similarity is one dot product.
  norm        float8      NOT NULL CHECK (norm > 0),
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, kind, record_id)
);
CREATE INDEX ai_embeddings_newest_idx ON ai_embeddings (tenant_id, kind, model, updated_at DESC);

-- Down Migration
DROP TABLE ai_embeddings;
DROP INDEX incidents_trgm_idx;
CREATE INDEX incidents_trgm_idx ON incidents USING gin ((short_description || ' ' || coalesce(description, '')) gin_trgm_ops) WHERE deleted_at IS NULL;
ALTER TABLE incidents DROP COLUMN search;
ALTER TABLE incidents ADD COLUMN search tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('english', coalesce(short_description, '')), 'A') ||
  setweight(to_tsvector('english', coalesce(description, '')), 'B') ||
  notes_search
) STORED;
CREATE INDEX incidents_search_idx ON incidents USING gin (tenant_id, search) WHERE deleted_at IS NULL;
ALTER TABLE incidents DROP COLUMN resolution_notes;

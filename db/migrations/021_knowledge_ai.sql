-- Up Migration

-- Trigram similarity finds an article, incident or change by a misspelt word that full text misses.
-- pg_trgm ships in Debian's postgresql-NN package (the contrib modules are part of it), which the stack installs.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Knowledge articles: plain rows the API writes (audit entry beside). Each write adds a row to
-- knowledge_article_versions, so every earlier body stays readable.
CREATE TABLE knowledge_articles (
  tenant_id    text        NOT NULL,
  id           text        NOT NULL,
  number       bigint      NOT NULL,
  version      integer     NOT NULL,
  title        text        NOT NULL,
  body         text        NOT NULL,
  category     text,
  tags         text[]      NOT NULL DEFAULT '{}',
  state        text        NOT NULL,
  created_by   text        NOT NULL,
  updated_by   text        NOT NULL,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  published_at timestamptz,
  deleted_at   timestamptz,
  search       tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title), 'A') ||
    setweight(to_tsvector('english', coalesce(category, '')), 'B') ||
    setweight(to_tsvector('english', body), 'C')
  ) STORED,
  -- What trigram similarity compares a query with.
  search_text  text GENERATED ALWAYS AS (title || ' ' || coalesce(category, '') || ' ' || body) STORED,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX knowledge_created_idx  ON knowledge_articles (tenant_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX knowledge_updated_idx  ON knowledge_articles (tenant_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX knowledge_state_idx    ON knowledge_articles (tenant_id, state, created_at) WHERE deleted_at IS NULL;
CREATE INDEX knowledge_category_idx ON knowledge_articles (tenant_id, category, created_at) WHERE deleted_at IS NULL;
CREATE INDEX knowledge_tags_idx     ON knowledge_articles USING gin (tenant_id, tags) WHERE deleted_at IS NULL;
CREATE INDEX knowledge_search_idx   ON knowledge_articles USING gin (tenant_id, search) WHERE deleted_at IS NULL;
CREATE INDEX knowledge_trgm_idx     ON knowledge_articles USING gin (search_text gin_trgm_ops) WHERE deleted_at IS NULL;

CREATE TABLE knowledge_article_versions (
  tenant_id   text        NOT NULL,
  article_id  text        NOT NULL,
  version     integer     NOT NULL,
  title       text        NOT NULL,
  body        text        NOT NULL,
  category    text,
  tags        text[]      NOT NULL,
  state       text        NOT NULL,
  edited_by   text        NOT NULL,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, article_id, version),
  FOREIGN KEY (tenant_id, article_id) REFERENCES knowledge_articles (tenant_id, id)
);

-- The AI query's trigram match over incidents and changes (their full text has its index already).
CREATE INDEX incidents_trgm_idx ON incidents USING gin ((short_description || ' ' || coalesce(description, '')) gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX changes_trgm_idx   ON changes USING gin ((short_description || ' ' || coalesce(description, '')) gin_trgm_ops);

-- Down Migration
DROP INDEX changes_trgm_idx;
DROP INDEX incidents_trgm_idx;
DROP TABLE knowledge_article_versions;
DROP TABLE knowledge_articles;

-- Up Migration

-- Configuration items: plain entities the API writes (audit rows beside), in
-- both dialects. A CI's id is CI + seven digits, numbered per tenant
-- (next_resource_number, as incidents and changes are).

CREATE TABLE cmdb_cis (
  tenant_id       text        NOT NULL,
  id              text        NOT NULL,
  version         integer     NOT NULL,
  name            text        NOT NULL,
  class           text        NOT NULL,
  environment     text,
  owner_group     text,
  lifecycle_state text        NOT NULL,
  description     text,
  -- Validated against the class's schema (domain/cmdb/classes.ts) by every writer.
  attributes      jsonb       NOT NULL DEFAULT '{}',
  created_by      text        NOT NULL,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  search          tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', name), 'A') ||
    setweight(to_tsvector('english', coalesce(description, '')), 'B')
  ) STORED,
  PRIMARY KEY (tenant_id, id)
);

-- One CI of a name per environment: an import run twice does not double the graph.
CREATE UNIQUE INDEX cmdb_cis_name_env_key ON cmdb_cis (tenant_id, lower(name), coalesce(environment, ''));
-- List orderings (keyset: sort column, then id).
CREATE INDEX cmdb_cis_created_idx     ON cmdb_cis (tenant_id, created_at, id);
CREATE INDEX cmdb_cis_updated_idx     ON cmdb_cis (tenant_id, updated_at, id);
CREATE INDEX cmdb_cis_name_idx        ON cmdb_cis (tenant_id, name, id);
-- Filters.
CREATE INDEX cmdb_cis_class_idx       ON cmdb_cis (tenant_id, class, created_at);
CREATE INDEX cmdb_cis_environment_idx ON cmdb_cis (tenant_id, environment, created_at);
CREATE INDEX cmdb_cis_owner_idx       ON cmdb_cis (tenant_id, owner_group, created_at);
CREATE INDEX cmdb_cis_lifecycle_idx   ON cmdb_cis (tenant_id, lifecycle_state, created_at);
-- Name prefix, case-insensitive: lower(name) LIKE 'pay%' walks this index.
-- name is included so a count is answered from the index alone, as the other filters' counts are.
CREATE INDEX cmdb_cis_name_prefix_idx ON cmdb_cis (tenant_id, lower(name) text_pattern_ops) INCLUDE (name);
-- attr.<key>=<value>: containment (attributes @> '{"engine":"postgres"}').
CREATE INDEX cmdb_cis_attributes_idx  ON cmdb_cis USING gin (tenant_id, attributes jsonb_path_ops);
CREATE INDEX cmdb_cis_search_idx      ON cmdb_cis USING gin (tenant_id, search);

CREATE TRIGGER cmdb_cis_list_generation_insert AFTER INSERT ON cmdb_cis
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_list_generation('ci');
CREATE TRIGGER cmdb_cis_list_generation_update AFTER UPDATE ON cmdb_cis
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_list_generation('ci');
CREATE TRIGGER cmdb_cis_list_generation_delete AFTER DELETE ON cmdb_cis
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_list_generation('ci');
CREATE TRIGGER cmdb_cis_list_generation_truncate AFTER TRUNCATE ON cmdb_cis
  FOR EACH STATEMENT EXECUTE FUNCTION bump_all_list_generations('ci');

-- "source <type> target": the source needs the target (depends_on, runs_on,
-- part_of alike), so when the target goes down its sources are affected.
CREATE TABLE cmdb_relationships (
  tenant_id  text        NOT NULL,
  id         text        NOT NULL,
  source_id  text        NOT NULL,
  type       text        NOT NULL,
  target_id  text        NOT NULL,
  created_by text        NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, source_id, type, target_id),
  FOREIGN KEY (tenant_id, source_id) REFERENCES cmdb_cis (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, target_id) REFERENCES cmdb_cis (tenant_id, id) ON DELETE CASCADE,
  CHECK (source_id <> target_id)
);
-- The impact walk goes from a CI to the CIs that need it.
CREATE INDEX cmdb_relationships_target_idx ON cmdb_relationships (tenant_id, target_id, created_at);
CREATE INDEX cmdb_relationships_source_idx ON cmdb_relationships (tenant_id, source_id, created_at);

-- POST /cmdb/cis/bulk: the records wait here, each one's outcome is written with it.
CREATE TABLE cmdb_bulk_jobs (
  tenant_id     text        NOT NULL,
  id            text        NOT NULL,
  operation     text        NOT NULL,
  status        text        NOT NULL,
  total         integer     NOT NULL,
  records       jsonb       NOT NULL,
  created_by    text        NOT NULL,
  created_by_id text        NOT NULL,
  request_id    text,
  created_at    timestamptz NOT NULL,
  started_at    timestamptz,
  finished_at   timestamptz,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE cmdb_bulk_results (
  tenant_id text    NOT NULL,
  job_id    text    NOT NULL,
  index     integer NOT NULL,
  status    text    NOT NULL,
  ci_id     text,
  error     json,
  PRIMARY KEY (tenant_id, job_id, index)
);

-- A target may name the CI it is (its host, its service).
ALTER TABLE targets ADD COLUMN ci_id text;
-- An incident's detail lists the changes on its CI and its dependants.
CREATE INDEX changes_ci_updated_idx ON changes (tenant_id, ci_id, updated_at) WHERE ci_id IS NOT NULL;

-- Down Migration

DROP INDEX changes_ci_updated_idx;
ALTER TABLE targets DROP COLUMN ci_id;
DROP TABLE cmdb_bulk_results;
DROP TABLE cmdb_bulk_jobs;
DROP TABLE cmdb_relationships;
DROP TABLE cmdb_cis;

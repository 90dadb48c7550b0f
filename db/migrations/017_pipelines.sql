-- Up Migration

-- Promotion pipelines: an ordered set of environments a component's releases move through, so one team's
-- staging is not a required step for another team's dev. A component without a pipeline uses the tenant's
-- environment order (the default pipeline). environment_ids holds the environments in promotion order;
-- the rule that reads it is domain/promotions/pipelines.ts.
CREATE TABLE pipelines (
  tenant_id       text        NOT NULL,
  id              uuid        NOT NULL,
  name            text        NOT NULL,
  description     text,
  environment_ids uuid[]      NOT NULL,
  version         integer     NOT NULL DEFAULT 1,
  created_by      text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
-- Names are unique per tenant (any case); the list pages by name or by creation, each with its id as tiebreak.
CREATE UNIQUE INDEX pipelines_name_idx ON pipelines (tenant_id, lower(name));
CREATE INDEX pipelines_list_name_idx ON pipelines (tenant_id, name, id);
CREATE INDEX pipelines_list_created_idx ON pipelines (tenant_id, created_at, id);
-- An environment's delete asks which pipelines still list it.
CREATE INDEX pipelines_environments_idx ON pipelines USING gin (environment_ids);

ALTER TABLE components ADD COLUMN pipeline_id uuid;
ALTER TABLE components ADD CONSTRAINT components_pipeline_fk FOREIGN KEY (tenant_id, pipeline_id) REFERENCES pipelines (tenant_id, id);
-- A pipeline's delete asks which components still use it.
CREATE INDEX components_pipeline_idx ON components (tenant_id, pipeline_id) WHERE pipeline_id IS NOT NULL;

-- Down Migration
ALTER TABLE components DROP COLUMN pipeline_id;
DROP TABLE pipelines;

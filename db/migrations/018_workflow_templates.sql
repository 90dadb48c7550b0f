-- Up Migration

-- Workflow templates: a DAG of steps a release team writes once and runs for every release. The API owns these
-- rows; each PUT adds a version and moves the template's current one, so a run keeps the version it started with.
CREATE TABLE workflow_templates (
  tenant_id    text        NOT NULL,
  id           uuid        NOT NULL,
  name         text        NOT NULL,
  description  text,
  version      integer     NOT NULL,
  deleted_at   timestamptz,
  created_by   text        NOT NULL,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX workflow_templates_name_idx ON workflow_templates (tenant_id, lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX workflow_templates_created_idx ON workflow_templates (tenant_id, created_at, id) WHERE deleted_at IS NULL;

CREATE TABLE workflow_template_versions (
  tenant_id    text        NOT NULL,
  template_id  uuid        NOT NULL,
  version      integer     NOT NULL,
  spec         jsonb       NOT NULL,
  created_by   text        NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, template_id, version)
);

-- Read model of templateRun workflows: the workflow writes it, version-guarded. body is the run as the API serves
-- it (its nodes with status, attempts, times and outputs).
CREATE TABLE workflow_runs (
  tenant_id         text        NOT NULL,
  id                uuid        NOT NULL,
  version           integer     NOT NULL,
  template_id       uuid        NOT NULL,
  template_version  integer     NOT NULL,
  template_name     text        NOT NULL,
  status            text        NOT NULL,
  requested_by      text        NOT NULL,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  ended_at          timestamptz,
  body              jsonb       NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX workflow_runs_created_idx ON workflow_runs (tenant_id, created_at, id);
CREATE INDEX workflow_runs_status_idx ON workflow_runs (tenant_id, status, created_at);
CREATE INDEX workflow_runs_template_idx ON workflow_runs (tenant_id, template_id, created_at);

-- A step's log lines (script output, http exchanges, what a wait or an approval waited for), in order per node
-- and forEach item; appended by the step's activities, read by the logs endpoint and the run's stream.
CREATE TABLE workflow_run_logs (
  tenant_id   text        NOT NULL,
  run_id      uuid        NOT NULL,
  node_id     text        NOT NULL,
  item_index  integer     NOT NULL DEFAULT -1,
  seq         bigint      NOT NULL,
  stream      text        NOT NULL DEFAULT 'stdout',
  line        text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, run_id, node_id, item_index, seq)
);

-- Files a step produced (a script's declared outputs), kept with their digest.
CREATE TABLE workflow_run_artifacts (
  tenant_id   text        NOT NULL,
  id          uuid        NOT NULL,
  run_id      uuid        NOT NULL,
  node_id     text        NOT NULL,
  item_index  integer     NOT NULL DEFAULT -1,
  name        text        NOT NULL,
  size        integer     NOT NULL,
  sha256      text        NOT NULL,
  content     bytea       NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, run_id, node_id, item_index, name)
);

-- Down Migration
DROP TABLE workflow_run_artifacts;
DROP TABLE workflow_run_logs;
DROP TABLE workflow_runs;
DROP TABLE workflow_template_versions;
DROP TABLE workflow_templates;

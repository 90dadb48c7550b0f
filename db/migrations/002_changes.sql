-- Up Migration

-- Lets one GIN index serve "this tenant's changes matching these words".
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- Read model of changeLifecycle workflows. The workflow is the writer (through
-- its persistence activity); `body` is the full record the API serves, the
-- columns beside it exist to filter, sort and join.
CREATE TABLE changes (
  tenant_id           text        NOT NULL,
  id                  text        NOT NULL,
  number              bigint      NOT NULL,
  version             integer     NOT NULL,
  type                text        NOT NULL,
  state               text        NOT NULL,
  short_description   text        NOT NULL,
  description         text,
  risk                text,
  risk_score          integer     NOT NULL,
  risk_level          text        NOT NULL,
  implementation_plan text,
  backout_plan        text,
  test_plan           text,
  assignment_group    text,
  assigned_to         text,
  ci_id               text,
  scheduled_start     timestamptz,
  scheduled_end       timestamptz,
  actual_start        timestamptz,
  actual_end          timestamptz,
  outcome             text,
  requested_by        text        NOT NULL,
  review_overdue      boolean     NOT NULL DEFAULT false,
  window_overrun      boolean     NOT NULL DEFAULT false,
  closed_at           timestamptz,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  -- json, not jsonb: it is only ever served whole, and json keeps the record's field order.
  body                json        NOT NULL,
  search              tsvector GENERATED ALWAYS AS (
    to_tsvector('english',
      coalesce(short_description, '') || ' ' || coalesce(description, '') || ' ' ||
      coalesce(implementation_plan, '') || ' ' || coalesce(backout_plan, '') || ' ' || coalesce(test_plan, ''))
  ) STORED,
  PRIMARY KEY (tenant_id, id)
);

-- List orderings (keyset: sort column, then id).
CREATE INDEX changes_created_idx    ON changes (tenant_id, created_at, id);
CREATE INDEX changes_updated_idx    ON changes (tenant_id, updated_at, id);
CREATE INDEX changes_risk_score_idx ON changes (tenant_id, risk_score, id);
-- Filters.
CREATE INDEX changes_state_idx      ON changes (tenant_id, state, created_at);
CREATE INDEX changes_type_idx       ON changes (tenant_id, type, created_at);
CREATE INDEX changes_risk_idx       ON changes (tenant_id, risk, created_at);
CREATE INDEX changes_risk_level_idx ON changes (tenant_id, risk_level, created_at);
CREATE INDEX changes_assigned_to_idx ON changes (tenant_id, assigned_to, created_at);
CREATE INDEX changes_search_idx     ON changes USING gin (tenant_id, search);
-- Conflict detection and group track record.
CREATE INDEX changes_group_idx      ON changes (tenant_id, assignment_group, scheduled_start);
CREATE INDEX changes_ci_idx         ON changes (tenant_id, ci_id, scheduled_start);
CREATE INDEX changes_group_outcome_idx ON changes (tenant_id, assignment_group, updated_at) WHERE outcome IS NOT NULL;

-- Every risk assessment, with the model version that produced it.
CREATE TABLE change_risk_assessments (
  tenant_id      text        NOT NULL,
  change_id      text        NOT NULL,
  change_version integer     NOT NULL,
  model_version  text        NOT NULL,
  risk_score     integer     NOT NULL,
  risk_level     text        NOT NULL,
  factors        json        NOT NULL,
  recommendation text        NOT NULL,
  conflicts      json        NOT NULL,
  assessed_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, change_id, change_version)
);

-- Down Migration
DROP TABLE change_risk_assessments;
DROP TABLE changes;

-- Up Migration

-- Incidents are plain entities: the API writes them in transactions (audit rows
-- beside), the incidentSla workflow writes only the sla_* columns. Every column
-- is served; there is no separate body, so neither writer can overwrite the other.
CREATE TABLE incidents (
  tenant_id               text        NOT NULL,
  id                      text        NOT NULL,
  number                  bigint      NOT NULL,
  version                 integer     NOT NULL,
  short_description       text        NOT NULL,
  description             text,
  priority                text        NOT NULL,
  state                   text        NOT NULL,
  category                text,
  subcategory             text,
  impact                  text,
  urgency                 text,
  assignment_group        text,
  assigned_to             text,
  opened_by               text        NOT NULL,
  opened_by_id            text        NOT NULL,
  ci_id                   text,
  parent_problem_id       text,
  change_id               text,
  sla_breach_at           timestamptz,
  sla_breached            boolean     NOT NULL DEFAULT false,
  -- The clock as the workflow last worked it out; sla_version (the workflow time of the computation, ms) orders its writes.
  sla                     json,
  sla_version             bigint      NOT NULL DEFAULT 0,
  resolved_at             timestamptz,
  closed_at               timestamptz,
  created_at              timestamptz NOT NULL,
  updated_at              timestamptz NOT NULL,
  work_notes_count        integer     NOT NULL DEFAULT 0,
  ai_suggested_resolution text,
  -- Soft delete: the row stays for audit, every read skips it.
  deleted_at              timestamptz,
  deleted_by              text,
  -- Work notes' words, accumulated as notes are added (notes live in their own table).
  notes_search            tsvector    NOT NULL DEFAULT ''::tsvector,
  search                  tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce(short_description, '')), 'A') ||
    setweight(to_tsvector('english', coalesce(description, '')), 'B') ||
    notes_search
  ) STORED,
  PRIMARY KEY (tenant_id, id)
);

-- List orderings (keyset: sort column, then id), live rows only.
CREATE INDEX incidents_created_idx    ON incidents (tenant_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX incidents_updated_idx    ON incidents (tenant_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX incidents_priority_idx   ON incidents (tenant_id, priority, id) WHERE deleted_at IS NULL;
-- Filters.
CREATE INDEX incidents_state_idx      ON incidents (tenant_id, state, created_at) WHERE deleted_at IS NULL;
CREATE INDEX incidents_priority_created_idx ON incidents (tenant_id, priority, created_at) WHERE deleted_at IS NULL;
CREATE INDEX incidents_group_idx      ON incidents (tenant_id, assignment_group, created_at) WHERE deleted_at IS NULL;
CREATE INDEX incidents_assigned_to_idx ON incidents (tenant_id, assigned_to, created_at) WHERE deleted_at IS NULL;
CREATE INDEX incidents_category_idx   ON incidents (tenant_id, category, created_at) WHERE deleted_at IS NULL;
CREATE INDEX incidents_search_idx     ON incidents USING gin (tenant_id, search) WHERE deleted_at IS NULL;
-- A change's risk looks for open P1/P2 incidents on its CI.
CREATE INDEX incidents_open_urgent_ci_idx ON incidents (tenant_id, ci_id)
  WHERE deleted_at IS NULL AND priority IN ('P1', 'P2') AND state IN ('new', 'in_progress', 'on_hold', 'reopened');
CREATE INDEX incidents_change_idx     ON incidents (tenant_id, change_id) WHERE change_id IS NOT NULL;

-- Work notes; an incident's work_notes_count is kept in the same transaction as each insert.
CREATE TABLE incident_notes (
  tenant_id   text        NOT NULL,
  incident_id text        NOT NULL,
  id          text        NOT NULL,
  body        text        NOT NULL,
  visibility  text        NOT NULL,
  author      text        NOT NULL,
  author_id   text        NOT NULL,
  attachments json        NOT NULL,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX incident_notes_incident_idx ON incident_notes (tenant_id, incident_id, created_at, id);

-- What the SLA clock is computed from: the incident's state and priority at each
-- version. Every signal carries the latest entries, so a lost or late signal is
-- made good by the next one.
CREATE TABLE incident_sla_events (
  tenant_id   text        NOT NULL,
  incident_id text        NOT NULL,
  version     integer     NOT NULL,
  state       text        NOT NULL,
  priority    text        NOT NULL,
  at          timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, incident_id, version)
);

-- Bulk jobs: the request as accepted, then one result per record.
CREATE TABLE incident_bulk_jobs (
  tenant_id   text        NOT NULL,
  id          text        NOT NULL,
  operation   text        NOT NULL,
  status      text        NOT NULL,
  total       integer     NOT NULL,
  records     jsonb       NOT NULL,
  created_by  text        NOT NULL,
  created_by_id text      NOT NULL,
  request_id  text,
  created_at  timestamptz NOT NULL,
  started_at  timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE incident_bulk_results (
  tenant_id   text        NOT NULL,
  job_id      text        NOT NULL,
  index       integer     NOT NULL,
  status      text        NOT NULL,
  incident_id text,
  error       json,
  PRIMARY KEY (tenant_id, job_id, index)
);

-- Where notify_stakeholders and SLA warnings go: a webhook per assignment group
-- (group '*' is the tenant's fallback). Without one, a log line records the notification.
CREATE TABLE incident_notification_webhooks (
  tenant_id        text NOT NULL,
  assignment_group text NOT NULL,
  url              text NOT NULL,
  PRIMARY KEY (tenant_id, assignment_group)
);

-- Down Migration
DROP TABLE incident_notification_webhooks;
DROP TABLE incident_bulk_results;
DROP TABLE incident_bulk_jobs;
DROP TABLE incident_sla_events;
DROP TABLE incident_notes;
DROP TABLE incidents;

-- Up Migration

-- Environments form the pipeline by `order` (dev 1 → staging 2 → prod 3); a
-- promotion's source is the environment just before its target.
CREATE TABLE environments (
  tenant_id              text        NOT NULL,
  id                     uuid        NOT NULL,
  name                   text        NOT NULL,
  description            text,
  "order"                integer     NOT NULL,
  require_sod            boolean     NOT NULL DEFAULT false,
  required_approvals     integer     NOT NULL DEFAULT 1,
  security_thresholds    jsonb,
  require_change_request boolean     NOT NULL DEFAULT false,
  -- Bumped by every edit: approvals given under the environment's defaults are bound to it.
  version                integer     NOT NULL DEFAULT 1,
  created_by             text        NOT NULL,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX environments_name_idx ON environments (tenant_id, lower(name));
CREATE UNIQUE INDEX environments_order_idx ON environments (tenant_id, "order");

CREATE TABLE freeze_windows (
  tenant_id               text        NOT NULL,
  id                      uuid        NOT NULL,
  environment_id          uuid        NOT NULL,
  name                    text        NOT NULL,
  reason                  text,
  starts_at               timestamptz,
  ends_at                 timestamptz,
  rrule                   text,
  timezone                text,
  duration                text,
  exempt_release_classes  text[]      NOT NULL DEFAULT '{}',
  created_by              text        NOT NULL,
  created_at              timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, environment_id) REFERENCES environments (tenant_id, id) ON DELETE CASCADE,
  CHECK ((rrule IS NULL AND starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at > starts_at)
      OR (rrule IS NOT NULL AND timezone IS NOT NULL AND duration IS NOT NULL))
);
CREATE INDEX freeze_windows_env_idx ON freeze_windows (tenant_id, environment_id);

CREATE TABLE targets (
  tenant_id      text        NOT NULL,
  id             uuid        NOT NULL,
  environment_id uuid        NOT NULL,
  name           text        NOT NULL,
  labels         jsonb       NOT NULL DEFAULT '{}',
  agent_id       uuid,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, environment_id) REFERENCES environments (tenant_id, id)
);
CREATE UNIQUE INDEX targets_name_idx ON targets (tenant_id, lower(name));
CREATE INDEX targets_env_idx ON targets (tenant_id, environment_id);
CREATE INDEX targets_labels_idx ON targets USING gin (labels);

CREATE TABLE components (
  tenant_id   text        NOT NULL,
  id          uuid        NOT NULL,
  name        text        NOT NULL,
  repository  text,
  description text,
  deploy_hook text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX components_name_idx ON components (tenant_id, lower(name));

-- The newest version is the one recorded last; versions recorded by one sync
-- share synced_at and are told apart by sync_rank, their version precedence.
CREATE TABLE component_versions (
  tenant_id    text        NOT NULL,
  component_id uuid        NOT NULL,
  version      text        NOT NULL,
  digest       text,
  synced_at    timestamptz NOT NULL DEFAULT now(),
  sync_rank    integer     NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, component_id, version),
  FOREIGN KEY (tenant_id, component_id) REFERENCES components (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX component_versions_latest_idx ON component_versions (tenant_id, component_id, synced_at DESC, sync_rank DESC);

-- `components` holds each component's version and resolved digest as released.
CREATE TABLE releases (
  tenant_id         text        NOT NULL,
  id                uuid        NOT NULL,
  name              text        NOT NULL,
  version           text        NOT NULL,
  class             text        NOT NULL DEFAULT 'standard',
  description       text,
  components        jsonb       NOT NULL,
  security_scan     jsonb,
  scan_updated_at   timestamptz,
  deprecated_at     timestamptz,
  deprecated_reason text,
  created_by        text        NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX releases_name_idx ON releases (tenant_id, lower(name));
CREATE INDEX releases_created_idx ON releases (tenant_id, created_at, id);

-- What runs where: written when a promotion's deployment finishes.
CREATE TABLE release_deployments (
  tenant_id      text        NOT NULL,
  release_id     uuid        NOT NULL,
  environment_id uuid        NOT NULL,
  promotion_id   uuid,
  status         text        NOT NULL,
  deployed_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, release_id, environment_id, deployed_at)
);
CREATE INDEX release_deployments_env_idx ON release_deployments (tenant_id, environment_id, deployed_at DESC);
CREATE UNIQUE INDEX release_deployments_promotion_idx ON release_deployments (tenant_id, promotion_id) WHERE promotion_id IS NOT NULL;

-- A policy applies to one environment; every edit makes a new version, and
-- promotions record the version their approvals were given under.
CREATE TABLE approval_policies (
  tenant_id           text        NOT NULL,
  id                  uuid        NOT NULL,
  environment_id      uuid        NOT NULL,
  name                text        NOT NULL,
  version             integer     NOT NULL DEFAULT 1,
  required_approvals  integer     NOT NULL,
  approver_groups     text[]      NOT NULL DEFAULT '{}',
  require_sod         boolean     NOT NULL DEFAULT false,
  auto_expire_hours   integer,
  created_by          text        NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  deleted_at          timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, environment_id) REFERENCES environments (tenant_id, id)
);
CREATE UNIQUE INDEX approval_policies_env_idx ON approval_policies (tenant_id, environment_id) WHERE deleted_at IS NULL;

CREATE TABLE approval_policy_versions (
  tenant_id  text        NOT NULL,
  policy_id  uuid        NOT NULL,
  version    integer     NOT NULL,
  body       jsonb       NOT NULL,
  created_by text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, policy_id, version)
);

-- Read model of promotion workflows (the workflow writes it, version-guarded).
CREATE TABLE promotions (
  tenant_id             text        NOT NULL,
  id                    uuid        NOT NULL,
  version               integer     NOT NULL,
  release_id            uuid        NOT NULL,
  target_environment_id uuid        NOT NULL,
  status                text        NOT NULL,
  requested_by          text        NOT NULL,
  approver_groups       text[]      NOT NULL DEFAULT '{}',
  requested_at          timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  body                  json        NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX promotions_requested_idx ON promotions (tenant_id, requested_at, id);
CREATE INDEX promotions_status_idx ON promotions (tenant_id, status, requested_at);
CREATE INDEX promotions_release_idx ON promotions (tenant_id, release_id);
CREATE INDEX promotions_env_idx ON promotions (tenant_id, target_environment_id);

-- One signed packet per decision (approved, rejected, expired, cancelled, deployed, failed).
CREATE TABLE evidence_packets (
  tenant_id    text        NOT NULL,
  id           uuid        NOT NULL,
  promotion_id uuid        NOT NULL,
  decision     text        NOT NULL,
  packet       json        NOT NULL,
  content_hash text        NOT NULL,
  signer_kid   text        NOT NULL,
  generated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, promotion_id, decision)
);
CREATE INDEX evidence_packets_promotion_idx ON evidence_packets (tenant_id, promotion_id, generated_at);

-- Down Migration
DROP TABLE evidence_packets;
DROP TABLE promotions;
DROP TABLE approval_policy_versions;
DROP TABLE approval_policies;
DROP TABLE release_deployments;
DROP TABLE releases;
DROP TABLE component_versions;
DROP TABLE components;
DROP TABLE targets;
DROP TABLE freeze_windows;
DROP TABLE environments;

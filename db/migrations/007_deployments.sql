-- Up Migration
-- Deployments: agents and their credentials, per-target deploy settings, deployment jobs and their tasks
-- (owned by the deploymentJob workflow), task logs and artifacts, the no-double-deploy ledger, version stickers,
-- the one-job-per-environment slot, and rollbacks.

-- How an environment deploys: strategy, failure policy, a default deploy hook and health check.
ALTER TABLE environments ADD COLUMN deployment jsonb;

-- What the hook and the health check of one target need (e.g. its port), and its own health check.
ALTER TABLE targets ADD COLUMN properties jsonb NOT NULL DEFAULT '{}';
ALTER TABLE targets ADD COLUMN health_check jsonb;
-- What the agent last reported the target actually runs (for drift).
ALTER TABLE targets ADD COLUMN reported jsonb;
ALTER TABLE targets ADD COLUMN reported_at timestamptz;
CREATE INDEX targets_agent_idx ON targets (tenant_id, agent_id);

CREATE TABLE agents (
  tenant_id         text        NOT NULL,
  id                uuid        NOT NULL,
  name              text        NOT NULL,
  environment_id    uuid        NOT NULL,
  labels            jsonb       NOT NULL DEFAULT '{}',
  version           text,
  capabilities      jsonb       NOT NULL DEFAULT '[]',
  -- sha256 (hex) of the agent's own credential; the credential itself is shown once, at registration.
  credential_hash   text        NOT NULL,
  registered_by     text        NOT NULL,
  registered_at     timestamptz NOT NULL DEFAULT now(),
  last_heartbeat_at timestamptz,
  revoked_at        timestamptz,
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX agents_name_idx ON agents (tenant_id, lower(name));
CREATE UNIQUE INDEX agents_credential_idx ON agents (credential_hash);

-- Workflow-owned: written only by the deploymentJob workflow's activities, guarded by version.
CREATE TABLE deployment_jobs (
  tenant_id      text        NOT NULL,
  id             uuid        NOT NULL,
  version        integer     NOT NULL,
  kind           text        NOT NULL,            -- promotion | rollback
  environment_id uuid        NOT NULL,
  release_id     uuid        NOT NULL,
  promotion_id   uuid,
  rollback_id    uuid,
  status         text        NOT NULL,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  body           json        NOT NULL,            -- the job as the API presents it
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX deployment_jobs_created_idx ON deployment_jobs (tenant_id, created_at, id);
CREATE INDEX deployment_jobs_env_idx ON deployment_jobs (tenant_id, environment_id, created_at);
CREATE INDEX deployment_jobs_status_idx ON deployment_jobs (tenant_id, status, created_at);
CREATE INDEX deployment_jobs_promotion_idx ON deployment_jobs (tenant_id, promotion_id);

CREATE TABLE deployment_tasks (
  tenant_id    text        NOT NULL,
  id           uuid        NOT NULL,
  job_id       uuid        NOT NULL,
  target_id    uuid        NOT NULL,
  agent_id     uuid,
  phase        text        NOT NULL,              -- deploy | rollback
  attempt      integer     NOT NULL,
  status       text        NOT NULL,
  version      integer     NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  body         json        NOT NULL,              -- the task as the API presents it (without logs)
  log_size     integer     NOT NULL DEFAULT 0,
  log_capped   boolean     NOT NULL DEFAULT false,
  stopped_by   text,                              -- SIGTERM | SIGKILL when a cancelled hook was stopped
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX deployment_tasks_job_idx ON deployment_tasks (tenant_id, job_id, created_at, id);
CREATE INDEX deployment_tasks_agent_idx ON deployment_tasks (tenant_id, agent_id, created_at);

-- Log chunks in arrival order; offset is the byte offset of the chunk in the task's log.
CREATE TABLE deployment_task_logs (
  tenant_id  text        NOT NULL,
  task_id    uuid        NOT NULL,
  "offset"   integer     NOT NULL,
  data       text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, task_id, "offset")
);

CREATE TABLE deployment_artifacts (
  tenant_id  text        NOT NULL,
  id         uuid        NOT NULL,
  job_id     uuid        NOT NULL,
  task_id    uuid        NOT NULL,
  name       text        NOT NULL,
  size       integer     NOT NULL,
  sha256     text        NOT NULL,
  content    bytea       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, task_id, name)
);
CREATE INDEX deployment_artifacts_job_idx ON deployment_artifacts (tenant_id, job_id, created_at);

-- The hook of (job, target, phase, attempt) runs at most once: the agent claims the row before it runs it.
CREATE TABLE deployment_ledger (
  tenant_id  text        NOT NULL,
  job_id     uuid        NOT NULL,
  target_id  uuid        NOT NULL,
  phase      text        NOT NULL,
  attempt    integer     NOT NULL,
  task_id    uuid        NOT NULL,
  agent_id   uuid        NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, job_id, target_id, phase, attempt)
);

-- What each target runs according to Tollgate (current), and every sticker it ever had (history).
CREATE TABLE target_stickers (
  tenant_id    text        NOT NULL,
  target_id    uuid        NOT NULL,
  release_id   uuid        NOT NULL,
  release_name text        NOT NULL,
  version      text        NOT NULL,
  digests      jsonb       NOT NULL,
  job_id       uuid        NOT NULL,
  task_id      uuid        NOT NULL,
  deployed_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, target_id)
);
CREATE TABLE target_sticker_history (
  tenant_id    text        NOT NULL,
  target_id    uuid        NOT NULL,
  task_id      uuid        NOT NULL,
  release_id   uuid        NOT NULL,
  release_name text        NOT NULL,
  version      text        NOT NULL,
  digests      jsonb       NOT NULL,
  job_id       uuid        NOT NULL,
  deployed_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, target_id, task_id)
);

-- One running job per environment; the others wait in created order.
CREATE TABLE environment_deploy_slots (
  tenant_id      text        NOT NULL,
  environment_id uuid        NOT NULL,
  job_id         uuid        NOT NULL,
  acquired_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, environment_id)
);

CREATE TABLE rollbacks (
  tenant_id      text        NOT NULL,
  id             uuid        NOT NULL,
  environment_id uuid        NOT NULL,
  release_id     uuid        NOT NULL,
  from_release_id uuid,
  job_id         uuid        NOT NULL,
  reason         text        NOT NULL,
  requested_by   text        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX rollbacks_created_idx ON rollbacks (tenant_id, created_at, id);

-- Down Migration
DROP TABLE rollbacks;
DROP TABLE environment_deploy_slots;
DROP TABLE target_sticker_history;
DROP TABLE target_stickers;
DROP TABLE deployment_ledger;
DROP TABLE deployment_artifacts;
DROP TABLE deployment_task_logs;
DROP TABLE deployment_tasks;
DROP TABLE deployment_jobs;
DROP TABLE agents;
DROP INDEX targets_agent_idx;
ALTER TABLE targets DROP COLUMN reported_at, DROP COLUMN reported, DROP COLUMN health_check, DROP COLUMN properties;
ALTER TABLE environments DROP COLUMN deployment;

-- Up Migration

-- A task Temporal scheduled on an agent's queue, as the API handed it to the agent over its work channel
-- (api/agent-work). The agent holds no Temporal access: its heartbeats and its result come back through the API,
-- which completes the activity with the task token kept here. The token never leaves the server.
CREATE TABLE agent_deliveries (
  tenant_id                 text        NOT NULL,
  id                        uuid        NOT NULL,
  agent_id                  uuid        NOT NULL,
  activity                  text        NOT NULL,
  task_token                bytea       NOT NULL,
  -- What the agent is given (again, if it reconnects before it acknowledged the task).
  input                     jsonb       NOT NULL,
  attempt                   integer     NOT NULL,
  start_to_close_timeout_ms integer,
  heartbeat_timeout_ms      integer,
  workflow_id               text        NOT NULL,
  -- For a deployTarget: the ledger entry a succeeded result must have been claimed under.
  task_id                   uuid,
  job_id                    uuid,
  target_id                 uuid,
  phase                     text,
  task_attempt              integer,
  created_at                timestamptz NOT NULL DEFAULT now(),
  acknowledged_at           timestamptz,
  finished_at               timestamptz,
  outcome                   text,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX agent_deliveries_open_idx ON agent_deliveries (tenant_id, agent_id, created_at) WHERE finished_at IS NULL;

-- Down Migration
DROP TABLE agent_deliveries;

-- Up Migration

-- Read model of rollout workflows (A/B, canary and blue-green on the environment's traffic router): the workflow
-- writes it, version-guarded. body is the rollout as the API serves it.
CREATE TABLE rollouts (
  tenant_id          text        NOT NULL,
  id                 uuid        NOT NULL,
  version            integer     NOT NULL,
  name               text        NOT NULL,
  environment_id     uuid        NOT NULL,
  stable_release_id  uuid        NOT NULL,
  canary_release_id  uuid        NOT NULL,
  strategy           text        NOT NULL,
  state              text        NOT NULL,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL,
  body               jsonb       NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX rollouts_created_idx ON rollouts (tenant_id, created_at, id);
CREATE INDEX rollouts_updated_idx ON rollouts (tenant_id, updated_at, id);
CREATE INDEX rollouts_state_idx ON rollouts (tenant_id, state, created_at);
CREATE INDEX rollouts_env_idx ON rollouts (tenant_id, environment_id, created_at);
CREATE INDEX rollouts_canary_release_idx ON rollouts (tenant_id, canary_release_id, created_at);
CREATE INDEX rollouts_strategy_idx ON rollouts (tenant_id, strategy, created_at);

-- Every measurement an analysis took, with both variants' numbers and the thresholds it was judged with, so a past
-- rollout can be judged again with other thresholds. Written with the rollout row that records it.
CREATE TABLE rollout_measurements (
  tenant_id   text        NOT NULL,
  rollout_id  uuid        NOT NULL,
  id          uuid        NOT NULL,
  step_index  integer     NOT NULL,
  metric      text        NOT NULL,
  provider    text        NOT NULL,
  verdict     text        NOT NULL,
  measured_at timestamptz NOT NULL,
  sample      jsonb       NOT NULL,
  thresholds  jsonb       NOT NULL,
  judgement   jsonb       NOT NULL,
  PRIMARY KEY (tenant_id, rollout_id, id)
);
CREATE INDEX rollout_measurements_time_idx ON rollout_measurements (tenant_id, rollout_id, measured_at);

-- Down Migration
DROP TABLE rollout_measurements;
DROP TABLE rollouts;

-- Up Migration

-- What a template run's step opened in another module (a change request), by run, node and forEach item: a step
-- tried again (a worker that died mid-step) finds the change its first try opened instead of opening a second one.
-- Changes take their ids from a per-tenant number sequence, so the id cannot be derived from the run as a
-- promotion's is; it is taken once and kept here before the change's workflow starts.
CREATE TABLE template_step_resources (
  tenant_id    text        NOT NULL,
  run_id       uuid        NOT NULL,
  node_id      text        NOT NULL,
  item_index   integer     NOT NULL DEFAULT -1,
  kind         text        NOT NULL,
  resource_id  text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, run_id, node_id, item_index, kind)
);

-- Down Migration

DROP TABLE IF EXISTS template_step_resources;

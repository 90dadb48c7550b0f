-- Up Migration

-- Integrations: what Tollgate calls out to (registries, notifiers, gates, metric and traffic providers). The API owns
-- these rows. config holds the clear fields; secrets is the AES-GCM ciphertext of the secret ones (keyed by
-- TOLLGATE_INTEGRATION_KEYS, rotated by `npm run rotate-integration-key`), secret_fields names which are set.
-- health is the last answer of the periodic check a Temporal Schedule runs.
CREATE TABLE integrations (
  tenant_id         text        NOT NULL,
  id                uuid        NOT NULL,
  type_id           text        NOT NULL,
  name              text        NOT NULL,
  description       text,
  config            jsonb       NOT NULL,
  secrets           text,
  secret_fields     text[]      NOT NULL DEFAULT '{}',
  version           integer     NOT NULL,
  health            jsonb,
  health_checked_at timestamptz,
  created_by        text        NOT NULL,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX integrations_name_idx ON integrations (tenant_id, lower(name));
CREATE INDEX integrations_created_idx ON integrations (tenant_id, created_at, id);
CREATE INDEX integrations_type_idx ON integrations (tenant_id, type_id, created_at, id);

-- Whether a loaded plugin is enabled for a tenant, and the last answer its calls gave (errors and timeouts recorded
-- here, so a plugin that throws or hangs shows on its health instead of taking a process down).
CREATE TABLE plugin_states (
  tenant_id   text        NOT NULL,
  plugin_id   text        NOT NULL,
  enabled     boolean     NOT NULL DEFAULT true,
  health      jsonb,
  checked_at  timestamptz,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, plugin_id)
);

-- A plugin's configured instances: config validated against the plugin's own schema, secrets as for integrations.
CREATE TABLE plugin_instances (
  tenant_id     text        NOT NULL,
  id            uuid        NOT NULL,
  plugin_id     text        NOT NULL,
  name          text        NOT NULL,
  config        jsonb       NOT NULL,
  secrets       text,
  secret_fields text[]      NOT NULL DEFAULT '{}',
  version       integer     NOT NULL,
  created_by    text        NOT NULL,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX plugin_instances_name_idx ON plugin_instances (tenant_id, lower(name));
CREATE INDEX plugin_instances_created_idx ON plugin_instances (tenant_id, created_at, id);
CREATE INDEX plugin_instances_plugin_idx ON plugin_instances (tenant_id, plugin_id, created_at, id);

-- Down Migration
DROP TABLE plugin_instances;
DROP TABLE plugin_states;
DROP TABLE integrations;

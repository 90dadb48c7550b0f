-- Up Migration

-- An approval policy's external checks: [{name, integrationId, message, blocking}], each an http-gate integration
-- called when the promotion's gate inputs are gathered. Policies from before carry none. The index answers
-- "which policies name this integration" when one is deleted.
ALTER TABLE approval_policies ADD COLUMN http_gates jsonb NOT NULL DEFAULT '[]';
CREATE INDEX approval_policies_http_gates_idx ON approval_policies USING gin (http_gates jsonb_path_ops) WHERE deleted_at IS NULL;

-- Down Migration
DROP INDEX approval_policies_http_gates_idx;
ALTER TABLE approval_policies DROP COLUMN http_gates;

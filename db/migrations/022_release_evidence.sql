-- Up Migration
-- Release evidence: lists of the promotions' signed evidence packets and of the targets' version-sticker history
-- (each filter with its index), and audit reports, whose content lives here rather than in workflow history.

CREATE INDEX evidence_packets_generated_idx ON evidence_packets (tenant_id, generated_at, id);

CREATE INDEX target_sticker_history_deployed_idx ON target_sticker_history (tenant_id, deployed_at, task_id);
CREATE INDEX target_sticker_history_target_idx ON target_sticker_history (tenant_id, target_id, deployed_at);
CREATE INDEX target_sticker_history_release_idx ON target_sticker_history (tenant_id, release_id, deployed_at);
-- A sticker entry is named by the task that deployed it.
CREATE INDEX target_sticker_history_task_idx ON target_sticker_history (tenant_id, task_id);

-- Owned by the auditReport workflow's activities: each step writes its status and progress here, the gathered
-- records (report), the rendered files and the signed manifest of both.
CREATE TABLE audit_reports (
  tenant_id    text        NOT NULL,
  id           uuid        NOT NULL,
  status       text        NOT NULL,            -- queued | gathering | verifying | rendering | ready | failed
  scope        jsonb       NOT NULL,
  requested_by text        NOT NULL,
  progress     jsonb       NOT NULL DEFAULT '{}',
  report       jsonb,
  report_json  bytea,
  report_pdf   bytea,
  signature    jsonb,
  error        text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_reports_created_idx ON audit_reports (tenant_id, created_at, id);

-- Down Migration
DROP TABLE audit_reports;
DROP INDEX target_sticker_history_task_idx;
DROP INDEX target_sticker_history_release_idx;
DROP INDEX target_sticker_history_target_idx;
DROP INDEX target_sticker_history_deployed_idx;
DROP INDEX evidence_packets_generated_idx;

-- Up Migration

-- What the dashboard stream serves: one row per event of a tenant, kept for the
-- retention window. seq is the event id a client resumes from, numbered per
-- tenant (1, 2, 3 …, so one tenant's ids say nothing of another's). Rows are
-- written only by the triggers below, at commit time (deferred), each taking the
-- next number from the tenant's row in dashboard_event_heads: that row stays
-- locked until the writer commits, so within a tenant id order is commit order
-- and a reader that has seen N never later finds a committed N-1 it skipped.
CREATE TABLE dashboard_event_heads (
  tenant_id      text   PRIMARY KEY,
  last_seq       bigint NOT NULL,
  -- The highest id the retention purge has deleted: a client resuming from below it may have missed events.
  purged_through bigint NOT NULL DEFAULT 0
);

CREATE TABLE dashboard_events (
  tenant_id    text        NOT NULL,
  seq          bigint      NOT NULL,
  type         text        NOT NULL,
  subject_type text        NOT NULL,
  subject_id   text        NOT NULL,
  data         jsonb       NOT NULL,
  occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX dashboard_events_time_idx ON dashboard_events (occurred_at);

-- Freeze windows start and end with the clock, not with a write: the dashboard
-- sweep records each environment's freeze as it last saw it here, and the
-- trigger on this table turns a change into freeze.started / freeze.ended.
CREATE TABLE dashboard_freeze_states (
  tenant_id      text        NOT NULL,
  environment_id uuid        NOT NULL,
  active         boolean     NOT NULL,
  window_id      text,
  window_name    text,
  reason         text,
  starts_at      timestamptz,
  ends_at        timestamptz,
  seen_at        timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, environment_id),
  FOREIGN KEY (tenant_id, environment_id) REFERENCES environments (tenant_id, id) ON DELETE CASCADE
);

CREATE FUNCTION dashboard_emit(p_tenant text, p_type text, p_subject_type text, p_subject_id text, p_data jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  s bigint;
BEGIN
  INSERT INTO dashboard_event_heads AS h (tenant_id, last_seq) VALUES (p_tenant, 1)
  ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq + 1
  RETURNING last_seq INTO s;
  INSERT INTO dashboard_events (tenant_id, seq, type, subject_type, subject_id, data)
  VALUES (p_tenant, s, p_type, p_subject_type, p_subject_id, p_data);
  PERFORM pg_notify('tollgate_dashboard', json_build_object('tenantId', p_tenant, 'id', s::text)::text);
END;
$$;

CREATE FUNCTION dashboard_promotion_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  b jsonb := NEW.body::jsonb;
  a jsonb;
BEGIN
  IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status THEN
    PERFORM dashboard_emit(NEW.tenant_id, 'promotion.status', 'promotion', NEW.id::text, jsonb_build_object(
      'promotionId', NEW.id, 'releaseId', NEW.release_id, 'environmentId', NEW.target_environment_id,
      'status', NEW.status, 'previousStatus', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
      'statusReason', b->'statusReason', 'approvalCount', b->'approvalCount', 'version', NEW.version));
  END IF;
  FOR a IN
    SELECT e FROM jsonb_array_elements(coalesce(b->'approvals', '[]'::jsonb)) e
     WHERE TG_OP = 'INSERT' OR NOT EXISTS (
       SELECT 1 FROM jsonb_array_elements(coalesce(OLD.body::jsonb->'approvals', '[]'::jsonb)) o
        WHERE o->'approverId' = e->'approverId' AND o->'approvedAt' = e->'approvedAt')
  LOOP
    PERFORM dashboard_emit(NEW.tenant_id, 'promotion.approval', 'promotion', NEW.id::text, jsonb_build_object(
      'promotionId', NEW.id, 'releaseId', NEW.release_id, 'environmentId', NEW.target_environment_id,
      'approverId', a->'approverId', 'decision', a->'decision', 'comment', a->'comment', 'at', a->'approvedAt',
      'approvalCount', b->'approvalCount', 'status', NEW.status));
  END LOOP;
  RETURN NULL;
END;
$$;

CREATE FUNCTION dashboard_job_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  b jsonb := NEW.body::jsonb;
BEGIN
  IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status OR (OLD.body::jsonb->'progress') IS DISTINCT FROM (b->'progress') THEN
    PERFORM dashboard_emit(NEW.tenant_id, 'deployment.job', 'deployment_job', NEW.id::text, jsonb_build_object(
      'jobId', NEW.id, 'kind', NEW.kind, 'promotionId', NEW.promotion_id, 'environmentId', NEW.environment_id, 'releaseId', NEW.release_id,
      'status', NEW.status, 'previousStatus', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
      'statusReason', b->'statusReason', 'progress', b->'progress', 'version', NEW.version));
  END IF;
  RETURN NULL;
END;
$$;

CREATE FUNCTION dashboard_task_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status THEN
    PERFORM dashboard_emit(NEW.tenant_id, 'deployment.target', 'deployment_job', NEW.job_id::text, jsonb_build_object(
      'jobId', NEW.job_id, 'taskId', NEW.id, 'targetId', NEW.target_id, 'phase', NEW.phase, 'attempt', NEW.attempt,
      'status', NEW.status, 'previousStatus', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END));
  END IF;
  RETURN NULL;
END;
$$;

CREATE FUNCTION dashboard_rollout_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM NEW.state OR (OLD.body->'stepIndex') IS DISTINCT FROM (NEW.body->'stepIndex')
     OR (OLD.body->'canaryWeight') IS DISTINCT FROM (NEW.body->'canaryWeight') THEN
    PERFORM dashboard_emit(NEW.tenant_id, 'rollout.step', 'rollout', NEW.id::text, jsonb_build_object(
      'rolloutId', NEW.id, 'name', NEW.name, 'environmentId', NEW.environment_id, 'strategy', NEW.strategy,
      'state', NEW.state, 'previousState', CASE WHEN TG_OP = 'UPDATE' THEN OLD.state END,
      'stepIndex', NEW.body->'stepIndex', 'steps', jsonb_array_length(coalesce(NEW.body->'steps', '[]'::jsonb)),
      'canaryWeight', NEW.body->'canaryWeight', 'version', NEW.version));
  END IF;
  RETURN NULL;
END;
$$;

-- The SLA workflow records each warning and breach once, as an audit row with a dedupe key.
CREATE FUNCTION dashboard_sla_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM dashboard_emit(NEW.tenant_id, CASE NEW.action WHEN 'incident.sla_breach' THEN 'incident.sla_breach' ELSE 'incident.sla_warning' END,
    'incident', NEW.resource_id, jsonb_build_object(
      'incidentId', NEW.resource_id, 'target', NEW.after->'target', 'priority', NEW.after->'priority', 'state', NEW.after->'state',
      'dueAt', NEW.after->'due_at', 'at', to_jsonb(NEW.occurred_at)));
  RETURN NULL;
END;
$$;

CREATE FUNCTION dashboard_freeze_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.active AND (TG_OP = 'INSERT' OR NOT OLD.active) THEN
    PERFORM dashboard_emit(NEW.tenant_id, 'freeze.started', 'environment', NEW.environment_id::text, jsonb_build_object(
      'environmentId', NEW.environment_id, 'windowId', NEW.window_id, 'name', NEW.window_name, 'reason', NEW.reason,
      'startsAt', NEW.starts_at, 'endsAt', NEW.ends_at));
  ELSIF TG_OP = 'UPDATE' AND OLD.active AND NOT NEW.active THEN
    PERFORM dashboard_emit(NEW.tenant_id, 'freeze.ended', 'environment', NEW.environment_id::text, jsonb_build_object(
      'environmentId', NEW.environment_id, 'windowId', OLD.window_id, 'name', OLD.window_name, 'reason', OLD.reason,
      'startsAt', OLD.starts_at, 'endsAt', OLD.ends_at));
  END IF;
  RETURN NULL;
END;
$$;

-- Deferred to commit: the writer's own work takes its locks first, and the tenant's head row is the last lock it waits for.
CREATE CONSTRAINT TRIGGER promotions_dashboard AFTER INSERT OR UPDATE ON promotions
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dashboard_promotion_event();
CREATE CONSTRAINT TRIGGER deployment_jobs_dashboard AFTER INSERT OR UPDATE ON deployment_jobs
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dashboard_job_event();
CREATE CONSTRAINT TRIGGER deployment_tasks_dashboard AFTER INSERT OR UPDATE OF status ON deployment_tasks
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dashboard_task_event();
CREATE CONSTRAINT TRIGGER rollouts_dashboard AFTER INSERT OR UPDATE ON rollouts
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dashboard_rollout_event();
CREATE CONSTRAINT TRIGGER audit_log_dashboard AFTER INSERT ON audit_log
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (NEW.action IN ('incident.sla_warning', 'incident.sla_breach'))
  EXECUTE FUNCTION dashboard_sla_event();
CREATE CONSTRAINT TRIGGER dashboard_freeze_states_dashboard AFTER INSERT OR UPDATE ON dashboard_freeze_states
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dashboard_freeze_event();

-- Down Migration
DROP TRIGGER dashboard_freeze_states_dashboard ON dashboard_freeze_states;
DROP TRIGGER audit_log_dashboard ON audit_log;
DROP TRIGGER rollouts_dashboard ON rollouts;
DROP TRIGGER deployment_tasks_dashboard ON deployment_tasks;
DROP TRIGGER deployment_jobs_dashboard ON deployment_jobs;
DROP TRIGGER promotions_dashboard ON promotions;
DROP FUNCTION dashboard_freeze_event();
DROP FUNCTION dashboard_sla_event();
DROP FUNCTION dashboard_rollout_event();
DROP FUNCTION dashboard_task_event();
DROP FUNCTION dashboard_job_event();
DROP FUNCTION dashboard_promotion_event();
DROP FUNCTION dashboard_emit(text, text, text, text, jsonb);
DROP TABLE dashboard_freeze_states;
DROP TABLE dashboard_events;
DROP TABLE dashboard_event_heads;

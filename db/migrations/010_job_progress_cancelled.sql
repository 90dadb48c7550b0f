-- Up Migration
-- A job's progress now counts the targets whose deploy task was cancelled as `cancelled`; they used to count as
-- pending. Jobs recorded before get the count from their tasks (each target by its newest deploy task, as the
-- workflow counts), so every job the API serves carries the field.
WITH latest AS (
  SELECT DISTINCT ON (tenant_id, job_id, target_id) tenant_id, job_id, status
    FROM deployment_tasks
   WHERE phase = 'deploy'
   ORDER BY tenant_id, job_id, target_id, attempt DESC, created_at DESC
), counted AS (
  SELECT j.tenant_id, j.id,
         (SELECT count(*)::int FROM latest l WHERE l.tenant_id = j.tenant_id AND l.job_id = j.id AND l.status = 'cancelled') AS cancelled
    FROM deployment_jobs j
   WHERE j.body -> 'progress' IS NOT NULL AND j.body -> 'progress' -> 'cancelled' IS NULL
)
UPDATE deployment_jobs j
   SET body = jsonb_set(
                jsonb_set(j.body::jsonb, '{progress,cancelled}', to_jsonb(c.cancelled)),
                '{progress,pending}', to_jsonb(GREATEST(0, (j.body -> 'progress' ->> 'pending')::int - c.cancelled))
              )::json
  FROM counted c
 WHERE c.tenant_id = j.tenant_id AND c.id = j.id;

-- Down Migration
UPDATE deployment_jobs
   SET body = jsonb_set(
                body::jsonb #- '{progress,cancelled}',
                '{progress,pending}', to_jsonb((body -> 'progress' ->> 'pending')::int + (body -> 'progress' ->> 'cancelled')::int)
              )::json
 WHERE body -> 'progress' -> 'cancelled' IS NOT NULL;

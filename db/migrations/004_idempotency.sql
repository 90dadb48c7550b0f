-- Up Migration

-- An Idempotency-Key belongs to its first use (api/idempotency.ts): who sent it,
-- for which operation, on which resource, with which body. Any other use of the
-- key is refused; a retry of the first use gets `outcome` back.
ALTER TABLE idempotency_keys
  ADD COLUMN caller_id text,
  ADD COLUMN operation text,
  -- json, not jsonb: a retry is answered with the first answer, field order included.
  ADD COLUMN outcome   json;

-- Keys of change creates recorded before keys were bound: the change's requester
-- used them. Scopes are now per module, the operation a column of its own.
UPDATE idempotency_keys k
   SET scope = 'change', operation = 'create', caller_id = c.body->>'requested_by_id', resource_id = c.id
  FROM changes c
 WHERE k.scope = 'change.create' AND c.tenant_id = k.tenant_id AND c.number::text = k.resource_id;
-- A create that never landed has nobody to bind its key to; the key is free again.
DELETE FROM idempotency_keys WHERE caller_id IS NULL;

ALTER TABLE idempotency_keys
  ALTER COLUMN caller_id SET NOT NULL,
  ALTER COLUMN operation SET NOT NULL;

-- Down Migration
DELETE FROM idempotency_keys WHERE scope <> 'change' OR operation <> 'create';
UPDATE idempotency_keys k
   SET scope = 'change.create', resource_id = c.number::text
  FROM changes c
 WHERE k.scope = 'change' AND c.tenant_id = k.tenant_id AND c.id = k.resource_id;
DELETE FROM idempotency_keys WHERE scope = 'change';
ALTER TABLE idempotency_keys
  DROP COLUMN outcome,
  DROP COLUMN operation,
  DROP COLUMN caller_id;

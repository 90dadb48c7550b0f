-- Up Migration

-- Every mutation, by anyone, through any path, lands here (DESIGN.md: audit).
CREATE TABLE audit_log (
  id            bigserial PRIMARY KEY,
  tenant_id     text        NOT NULL,
  actor         text        NOT NULL,
  action        text        NOT NULL,
  resource_type text        NOT NULL,
  resource_id   text        NOT NULL,
  before        jsonb,
  after         jsonb,
  request_id    text,
  -- Set by workflow activities so a retried activity never writes the same row twice.
  dedupe_key    text UNIQUE,
  occurred_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_resource_idx ON audit_log (tenant_id, resource_type, resource_id, occurred_at);
CREATE INDEX audit_log_tenant_time_idx ON audit_log (tenant_id, occurred_at DESC);

-- A POST retried with the same Idempotency-Key resolves to the resource the first one created.
CREATE TABLE idempotency_keys (
  tenant_id    text        NOT NULL,
  scope        text        NOT NULL,
  key          text        NOT NULL,
  request_hash text        NOT NULL,
  resource_id  text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, scope, key)
);

-- Human-readable numbers (CHG0000001, INC0000001 …) come from one Postgres
-- sequence per tenant and kind; sequences never block and never roll back.
CREATE TABLE number_sequences (
  tenant_id     text NOT NULL,
  kind          text NOT NULL,
  sequence_name text NOT NULL UNIQUE,
  PRIMARY KEY (tenant_id, kind)
);

CREATE FUNCTION next_resource_number(p_tenant text, p_kind text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  seq text;
BEGIN
  SELECT sequence_name INTO seq FROM number_sequences WHERE tenant_id = p_tenant AND kind = p_kind;
  IF seq IS NULL THEN
    -- Serialise first use per (tenant, kind) so two callers cannot both create it.
    PERFORM pg_advisory_xact_lock(hashtext('number_sequences'), hashtext(p_tenant || ':' || p_kind));
    SELECT sequence_name INTO seq FROM number_sequences WHERE tenant_id = p_tenant AND kind = p_kind;
    IF seq IS NULL THEN
      seq := 'numseq_' || p_kind || '_' || md5(p_tenant);
      EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', seq);
      INSERT INTO number_sequences (tenant_id, kind, sequence_name) VALUES (p_tenant, p_kind, seq);
    END IF;
  END IF;
  RETURN nextval(seq);
END;
$$;

-- Down Migration
DROP FUNCTION next_resource_number(text, text);
DROP TABLE number_sequences;
DROP TABLE idempotency_keys;
DROP TABLE audit_log;

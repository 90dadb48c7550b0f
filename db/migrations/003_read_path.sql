-- Up Migration

-- A list answers with its total, and count(*) grows with the table. Every
-- statement that writes a listed table bumps its tenant's generation here, in
-- the writing transaction; the API keeps each filter's total with the
-- generation it was counted at and counts again only once the generation has
-- moved (api/list-query.ts), so totals stay exact. A tenant's generation is
-- the sum of its shards, one per writing connection (backend pid mod 64): each
-- shard only grows, so the sum moves with every write, and concurrent writers
-- do not queue on one row lock until they commit.
CREATE TABLE list_generations (
  tenant_id     text     NOT NULL,
  resource_type text     NOT NULL,
  shard         smallint NOT NULL,
  generation    bigint   NOT NULL,
  PRIMARY KEY (tenant_id, resource_type, shard)
);

-- One upsert per statement, whatever its row count; in tenant order, so two
-- multi-tenant statements on one shard take their locks in the same order.
CREATE FUNCTION bump_list_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO list_generations AS g (tenant_id, resource_type, shard, generation)
  SELECT DISTINCT tenant_id, TG_ARGV[0], (pg_backend_pid() % 64)::smallint, 1 FROM changed_rows ORDER BY 1
  ON CONFLICT (tenant_id, resource_type, shard) DO UPDATE SET generation = g.generation + 1;
  RETURN NULL;
END;
$$;

-- TRUNCATE has no rows to name a tenant by: every tenant's totals go stale.
CREATE FUNCTION bump_all_list_generations() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE list_generations SET generation = generation + 1 WHERE resource_type = TG_ARGV[0];
  RETURN NULL;
END;
$$;

CREATE TRIGGER changes_list_generation_insert AFTER INSERT ON changes
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_list_generation('change');
CREATE TRIGGER changes_list_generation_update AFTER UPDATE ON changes
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_list_generation('change');
CREATE TRIGGER changes_list_generation_delete AFTER DELETE ON changes
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_list_generation('change');
CREATE TRIGGER changes_list_generation_truncate AFTER TRUNCATE ON changes
  FOR EACH STATEMENT EXECUTE FUNCTION bump_all_list_generations('change');

INSERT INTO list_generations (tenant_id, resource_type, shard, generation)
SELECT DISTINCT tenant_id, 'change', 0, 1 FROM changes;

-- Down Migration
DROP TRIGGER changes_list_generation_truncate ON changes;
DROP TRIGGER changes_list_generation_delete ON changes;
DROP TRIGGER changes_list_generation_update ON changes;
DROP TRIGGER changes_list_generation_insert ON changes;
DROP FUNCTION bump_all_list_generations();
DROP FUNCTION bump_list_generation();
DROP TABLE list_generations;

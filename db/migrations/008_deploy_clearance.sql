-- Up Migration
-- No side door around the gates.

-- A promotion whose approvals were invalidated after it was approved (a hook, scan or digest moved while a freeze
-- held it) can be approved again: each approved decision keeps its own packet, named by the promotion's version.
-- Still one packet per decision and time, so a write retried across the change of packet ids lands once.
ALTER TABLE evidence_packets DROP CONSTRAINT evidence_packets_tenant_id_promotion_id_decision_key;
CREATE UNIQUE INDEX evidence_packets_decision_idx ON evidence_packets (tenant_id, promotion_id, decision, generated_at);

-- A rollback that went ahead during a freeze: which freeze, who overrode it, and why.
ALTER TABLE rollbacks ADD COLUMN freeze_override jsonb;

-- Down Migration
ALTER TABLE rollbacks DROP COLUMN freeze_override;
DROP INDEX evidence_packets_decision_idx;
-- Keeps the newest packet of each decision, as the unique constraint allowed one.
DELETE FROM evidence_packets e USING evidence_packets newer
 WHERE newer.tenant_id = e.tenant_id AND newer.promotion_id = e.promotion_id AND newer.decision = e.decision AND newer.generated_at > e.generated_at;
ALTER TABLE evidence_packets ADD CONSTRAINT evidence_packets_tenant_id_promotion_id_decision_key UNIQUE (tenant_id, promotion_id, decision);

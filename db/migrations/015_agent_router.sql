-- Up Migration

-- The traffic router an agent drives for its environment (issue: A/B and canary rollouts), as the agent reports
-- it at registration and in its heartbeats: {"provider":"haproxy"|"nginx"|"webhook","listen":"host:port"}.
-- NULL: the agent drives no router. A rollout picks the agent of its environment that has one
-- (domain/traffic.ts).
ALTER TABLE agents ADD COLUMN router jsonb;

-- Down Migration
ALTER TABLE agents DROP COLUMN router;

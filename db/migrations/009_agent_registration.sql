-- Up Migration
-- Registration that cannot steal and eviction that sticks (issue 13, section 2).

-- Which registration token registered which agent name: a token registers a name once. A deleted or revoked agent
-- that comes back with the token it was started with is refused (REGISTRATION_TOKEN_USED); an operator registers it
-- again with a new token. token_key is 'jti:<jti>' when the JWT has one, else 'sha256:<hex of the token>'.
CREATE TABLE agent_registration_tokens (
  tenant_id        text        NOT NULL,
  name_key         text        NOT NULL,            -- lower(agent name), as agents_name_idx compares names
  token_key        text        NOT NULL,
  agent_id         uuid        NOT NULL,            -- the agent it registered (deleted since, perhaps: no foreign key)
  agent_name       text        NOT NULL,
  registered_by    text        NOT NULL,
  registered_at    timestamptz NOT NULL DEFAULT now(),
  -- The token's exp: past it the token registers nothing anyway, so the row may go.
  token_expires_at timestamptz,
  PRIMARY KEY (tenant_id, name_key, token_key)
);
CREATE INDEX agent_registration_tokens_expiry_idx ON agent_registration_tokens (tenant_id, token_expires_at);

-- Targets an agent lost to another agent's registration, until its next heartbeat answer tells it.
CREATE TABLE agent_target_losses (
  tenant_id           text        NOT NULL,
  agent_id            uuid        NOT NULL,
  target_id           uuid        NOT NULL,
  target_name         text        NOT NULL,
  taken_by_agent_id   uuid        NOT NULL,
  taken_by_agent_name text        NOT NULL,
  taken_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, agent_id, target_id),
  FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE CASCADE
);

-- Down Migration
DROP TABLE agent_target_losses;
DROP TABLE agent_registration_tokens;

-- Up Migration

-- The events a notifier integration is subscribed to (incident.created, incident.response_breach, incident.* …):
-- an explicit opt-in, none by default, so existing tenants' notifications keep going where they went.
ALTER TABLE integrations ADD COLUMN events text[] NOT NULL DEFAULT '{}';
-- (A notification reads its tenant's rows through the tenant's indexes; a tenant has few integrations.)

-- What each receiver of one incident notification answered, kept so a retried notification (the activity retried
-- because another receiver was down) is not delivered again to one that got it or refused it.
CREATE TABLE incident_notification_deliveries (
  tenant_id       text        NOT NULL,
  notification_id text        NOT NULL,
  integration_id  uuid        NOT NULL,
  outcome         text        NOT NULL CHECK (outcome IN ('delivered', 'refused')),
  status          integer,
  attempts        integer     NOT NULL,
  reason          text,
  at              timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, notification_id, integration_id)
);

-- Down Migration
DROP TABLE incident_notification_deliveries;
ALTER TABLE integrations DROP COLUMN events;

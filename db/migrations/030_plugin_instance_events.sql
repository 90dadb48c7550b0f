-- Up Migration

-- The events a notifier plugin's instance is subscribed to, as notifier integrations have (029): an explicit opt-in,
-- none by default.
ALTER TABLE plugin_instances ADD COLUMN events text[] NOT NULL DEFAULT '{}';

-- A notification's receivers are integrations or plugin instances: each is recorded under its kind, so a retry skips
-- either kind that already took it (existing rows are integrations').
ALTER TABLE incident_notification_deliveries ADD COLUMN receiver_kind text NOT NULL DEFAULT 'integration' CHECK (receiver_kind IN ('integration', 'plugin_instance'));
ALTER TABLE incident_notification_deliveries DROP CONSTRAINT incident_notification_deliveries_pkey;
ALTER TABLE incident_notification_deliveries ADD PRIMARY KEY (tenant_id, notification_id, receiver_kind, integration_id);

-- Down Migration
DELETE FROM incident_notification_deliveries WHERE receiver_kind = 'plugin_instance';
ALTER TABLE incident_notification_deliveries DROP CONSTRAINT incident_notification_deliveries_pkey;
ALTER TABLE incident_notification_deliveries ADD PRIMARY KEY (tenant_id, notification_id, integration_id);
ALTER TABLE incident_notification_deliveries DROP COLUMN receiver_kind;
ALTER TABLE plugin_instances DROP COLUMN events;

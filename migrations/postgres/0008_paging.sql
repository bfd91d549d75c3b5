-- Paging, first step: services, their integration keys, alerts in from monitoring tools, and
-- on-call incidents (private, for responders; distinct from the public status page's incidents)
-- with their timelines, and change events. Times are Unix milliseconds (UTC).

CREATE TABLE services (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    team_id     TEXT REFERENCES teams (id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- The secret in `key` is what senders present (PagerDuty's routing key, the last segment of a
-- webhook URL). Admins see it again on the service's page, as with every paging tool.
CREATE TABLE integration_keys (
    id         TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('pagerduty', 'alertmanager', 'grafana', 'generic')),
    name       TEXT NOT NULL,
    key        TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX integration_keys_service ON integration_keys (service_id);

-- Probes and heartbeats attach to a service: a failing one opens an on-call incident on it.
ALTER TABLE monitors ADD COLUMN service_id TEXT REFERENCES services (id) ON DELETE SET NULL;

-- On-call incidents: what responders work. `number` is the short number people say ("#12").
CREATE TABLE oncall_incidents (
    id               TEXT PRIMARY KEY,
    number           BIGINT NOT NULL UNIQUE,
    service_id       TEXT REFERENCES services (id) ON DELETE SET NULL,
    title            TEXT NOT NULL,
    severity         TEXT NOT NULL CHECK (severity IN ('critical', 'error', 'warning', 'info')),
    status           TEXT NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
    assigned_to      TEXT REFERENCES users (id) ON DELETE SET NULL,
    acknowledged_at  BIGINT,
    acknowledged_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
    resolved_at      BIGINT,
    resolved_by      TEXT REFERENCES users (id) ON DELETE SET NULL,
    snoozed_until    BIGINT,
    escalation_level BIGINT NOT NULL DEFAULT 0,
    status_incident_id TEXT REFERENCES incidents (id) ON DELETE SET NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX oncall_incidents_open ON oncall_incidents (status, created_at);
CREATE INDEX oncall_incidents_service ON oncall_incidents (service_id, status);
CREATE INDEX oncall_incidents_snoozed ON oncall_incidents (snoozed_until);

-- Alerts: one per signal key. Probe and heartbeat alerts (from before paging) keep working;
-- integration alerts carry their key, service and incident. The old one-open-alert-per-key
-- index is replaced by one per (integration key, dedup key).
ALTER TABLE alerts ADD COLUMN service_id TEXT REFERENCES services (id) ON DELETE SET NULL;
ALTER TABLE alerts ADD COLUMN key_id TEXT REFERENCES integration_keys (id) ON DELETE SET NULL;
ALTER TABLE alerts ADD COLUMN incident_id TEXT REFERENCES oncall_incidents (id) ON DELETE SET NULL;
ALTER TABLE alerts ADD COLUMN severity TEXT NOT NULL DEFAULT 'critical';
ALTER TABLE alerts ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN links TEXT NOT NULL DEFAULT '[]';
ALTER TABLE alerts ADD COLUMN images TEXT NOT NULL DEFAULT '[]';
ALTER TABLE alerts ADD COLUMN event_count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE alerts ADD COLUMN scope TEXT NOT NULL DEFAULT '';
DROP INDEX alerts_open_key;
CREATE UNIQUE INDEX alerts_open_scope_key ON alerts (scope, dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_incident ON alerts (incident_id);

-- Every change to an on-call incident adds one event; the largest id is a version that every
-- instance computes alike (live pages follow it).
CREATE TABLE oncall_events (
    id          BIGSERIAL PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES oncall_incidents (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    actor_id    TEXT REFERENCES users (id) ON DELETE SET NULL,
    channel     TEXT NOT NULL DEFAULT '',
    alert_id    TEXT REFERENCES alerts (id) ON DELETE SET NULL,
    body        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX oncall_events_incident ON oncall_events (incident_id, id);

-- Change events (deploys, config changes), shown on a service's incidents as recent changes.
CREATE TABLE change_events (
    id          TEXT PRIMARY KEY,
    service_id  TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    key_id      TEXT REFERENCES integration_keys (id) ON DELETE SET NULL,
    summary     TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT '',
    occurred_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    details     TEXT NOT NULL DEFAULT '{}',
    links       TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX change_events_service ON change_events (service_id, occurred_at);

-- Named counters (the next on-call incident number): one row each, incremented in the writing
-- transaction, so two instances never hand out the same number.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('oncall_incident', 0);

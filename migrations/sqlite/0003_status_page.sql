-- Status page: incidents and scheduled maintenance with their updates, per-day status aggregates
-- for the 90-day uptime bars, alerts, HTTP probes and heartbeat monitors, subscribers, and the
-- background job queue that delivers their mail and webhooks. Times are Unix milliseconds (UTC).

-- Since when each component has had its current status (the open interval of the aggregates).
ALTER TABLE components ADD COLUMN status_since INTEGER NOT NULL DEFAULT 0;
UPDATE components SET status_since = updated_at;

CREATE TABLE incidents (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('incident', 'maintenance')),
    name            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved', 'postmortem',
                                                    'scheduled', 'in_progress', 'verifying', 'completed')),
    impact          TEXT NOT NULL CHECK (impact IN ('none', 'minor', 'major', 'critical', 'maintenance')),
    postmortem      TEXT,
    notify          INTEGER NOT NULL DEFAULT 1,
    scheduled_for   INTEGER,
    scheduled_until INTEGER,
    created_by      TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    started_at      INTEGER NOT NULL,
    monitoring_at   INTEGER,
    resolved_at     INTEGER,
    CHECK (kind = 'incident' OR (scheduled_for IS NOT NULL AND scheduled_until > scheduled_for))
);
CREATE INDEX incidents_recent ON incidents (kind, created_at);
CREATE INDEX incidents_open ON incidents (status);

-- Components an incident affects, and the status it gave them.
CREATE TABLE incident_components (
    incident_id  TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    PRIMARY KEY (incident_id, component_id)
);
CREATE INDEX incident_components_component ON incident_components (component_id);

CREATE TABLE incident_updates (
    id                  TEXT PRIMARY KEY,
    incident_id         TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status              TEXT NOT NULL,
    body                TEXT NOT NULL,
    affected_components TEXT NOT NULL DEFAULT '[]',
    notify              INTEGER NOT NULL DEFAULT 1,
    created_by          TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at          INTEGER NOT NULL
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, created_at);

-- Milliseconds spent in each non-operational status per component and UTC day, and the worst
-- status seen that day (rank: 0 operational, 1 maintenance, 2 degraded, 3 partial, 4 major).
CREATE TABLE component_daily (
    component_id    TEXT NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    day             TEXT NOT NULL,
    worst_rank      INTEGER NOT NULL DEFAULT 0,
    degraded_ms     INTEGER NOT NULL DEFAULT 0,
    partial_ms      INTEGER NOT NULL DEFAULT 0,
    major_ms        INTEGER NOT NULL DEFAULT 0,
    maintenance_ms  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (component_id, day)
);
CREATE INDEX component_daily_day ON component_daily (day);

-- Alerts opened by probes and heartbeats (and, later, by monitoring integrations).
CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    source       TEXT NOT NULL,
    dedup_key    TEXT NOT NULL,
    summary      TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '',
    component_id TEXT REFERENCES components (id) ON DELETE SET NULL,
    status       TEXT NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'resolved')),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    resolved_at  INTEGER
);
-- At most one open alert per dedup key.
CREATE UNIQUE INDEX alerts_open_key ON alerts (dedup_key) WHERE status <> 'resolved';
CREATE INDEX alerts_recent ON alerts (created_at);

CREATE TABLE monitors (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('http', 'heartbeat')),
    name              TEXT NOT NULL UNIQUE,
    component_id      TEXT REFERENCES components (id) ON DELETE SET NULL,
    url               TEXT,
    interval_s        INTEGER NOT NULL,
    timeout_ms        INTEGER NOT NULL,
    expect_status     INTEGER,
    keyword           TEXT,
    failure_threshold INTEGER NOT NULL DEFAULT 3,
    token             TEXT UNIQUE,
    state             TEXT NOT NULL DEFAULT 'unknown' CHECK (state IN ('unknown', 'up', 'down')),
    consecutive_fails INTEGER NOT NULL DEFAULT 0,
    last_checked_at   INTEGER,
    last_ok_at        INTEGER,
    last_error        TEXT,
    last_latency_ms   INTEGER,
    next_due_at       INTEGER NOT NULL,
    lease_until       INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL
);
CREATE INDEX monitors_due ON monitors (next_due_at);

CREATE TABLE monitor_results (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id TEXT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    ok         INTEGER NOT NULL,
    latency_ms INTEGER,
    error      TEXT,
    checked_at INTEGER NOT NULL
);
CREATE INDEX monitor_results_monitor ON monitor_results (monitor_id, checked_at);

CREATE TABLE subscribers (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),
    target       TEXT NOT NULL,
    components   TEXT NOT NULL DEFAULT '[]',
    token        TEXT NOT NULL UNIQUE,
    confirmed_at INTEGER,
    created_ip   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    UNIQUE (kind, target)
);

-- Background jobs: claimed with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL), retried with backoff.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_at      INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    done_at     INTEGER,
    created_at  INTEGER NOT NULL,
    -- Set for deliveries ("deliver:<update>:<subscriber>"): a retried fan-out queues nothing twice.
    dedup_key   TEXT UNIQUE
);
CREATE INDEX jobs_due ON jobs (done_at, run_at);

-- Requests counted per key (an email address or an IP) per window, for rate limits.
CREATE TABLE rate_limits (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

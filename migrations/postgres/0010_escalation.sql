-- Paging, second step: escalation policies over people, schedules and teams; per-service urgency,
-- acknowledgement timeout, auto-resolve and maintenance windows; and each on-call incident's
-- escalation state, so that every pending step lives in the database and survives a restart.
-- Times are Unix milliseconds (UTC).

-- A policy's steps are one JSON document (edited as a whole): a list of
-- {"targets":[{"kind":"user|schedule|team","id":...}],"delay_min":N,"round_robin":bool}.
CREATE TABLE escalation_policies (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    repeats     BIGINT NOT NULL DEFAULT 0,
    steps       TEXT NOT NULL DEFAULT '[]',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- `high_urgency_from`: alerts of this severity or worse are high urgency. `low_urgency_hours`:
-- when set (a weekly window in a zone, JSON), low-urgency incidents wait for it to page.
ALTER TABLE services ADD COLUMN policy_id TEXT REFERENCES escalation_policies (id) ON DELETE SET NULL;
ALTER TABLE services ADD COLUMN high_urgency_from TEXT NOT NULL DEFAULT 'error'
    CHECK (high_urgency_from IN ('critical', 'error', 'warning', 'info'));
ALTER TABLE services ADD COLUMN low_urgency_hours TEXT;
ALTER TABLE services ADD COLUMN ack_timeout_min BIGINT;
ALTER TABLE services ADD COLUMN auto_resolve_min BIGINT;

-- Maintenance windows: alerts are recorded and shown, nobody is paged until the window ends.
CREATE TABLE service_maintenance (
    id         TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX service_maintenance_service ON service_maintenance (service_id, ends_at);

-- Escalation state. `escalation_level` (from before) is the next step to fire, `esc_pass` the
-- pass through the policy, `esc_gen` counts restarts (a re-trigger starts the policy again);
-- together they key each step and page, so a step that runs twice pages nobody twice.
-- `esc_due_at` is when the engine must look at the incident next, `esc_wait` why:
-- '' nothing pending, 'step' fire the next step, 'hold' maintenance or working hours,
-- 'ack_timeout' an acknowledgement runs out, 'exhausted' every pass done.
ALTER TABLE oncall_incidents ADD COLUMN urgency TEXT NOT NULL DEFAULT 'high' CHECK (urgency IN ('high', 'low'));
ALTER TABLE oncall_incidents ADD COLUMN esc_gen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE oncall_incidents ADD COLUMN esc_pass BIGINT NOT NULL DEFAULT 0;
ALTER TABLE oncall_incidents ADD COLUMN esc_due_at BIGINT;
ALTER TABLE oncall_incidents ADD COLUMN esc_wait TEXT NOT NULL DEFAULT '';
ALTER TABLE oncall_incidents ADD COLUMN auto_resolve_at BIGINT;
CREATE INDEX oncall_incidents_esc_due ON oncall_incidents (esc_due_at) WHERE esc_due_at IS NOT NULL;
CREATE INDEX oncall_incidents_auto_resolve ON oncall_incidents (auto_resolve_at) WHERE auto_resolve_at IS NOT NULL;
-- `escalation_level` meant "steps taken" before (only "escalate now" raised it); it is the next
-- step now. Incidents from before start from the first step should anyone escalate them.
UPDATE oncall_incidents SET escalation_level = 0;

-- Schedules: rotation layers with roster changes, overrides, swap requests, iCal feed tokens,
-- and in-app notices. Times are Unix milliseconds (UTC); local wall-clock values are ISO text.

CREATE TABLE schedules (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    time_zone   TEXT NOT NULL,
    team_id     TEXT REFERENCES teams (id) ON DELETE SET NULL,
    ical_token  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE schedule_layers (
    id           TEXT PRIMARY KEY,
    schedule_id  TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    position     INTEGER NOT NULL,
    time_zone    TEXT NOT NULL,
    start_local  TEXT NOT NULL,
    shift_unit   TEXT NOT NULL CHECK (shift_unit IN ('hours', 'days', 'weeks')),
    shift_count  INTEGER NOT NULL CHECK (shift_count > 0),
    restrictions TEXT NOT NULL DEFAULT '[]',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX schedule_layers_schedule ON schedule_layers (schedule_id, position);

CREATE TABLE layer_rosters (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    layer_id       TEXT NOT NULL REFERENCES schedule_layers (id) ON DELETE CASCADE,
    effective_from INTEGER NOT NULL,
    participants   TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (layer_id, effective_from)
);

CREATE TABLE schedule_overrides (
    id               TEXT PRIMARY KEY,
    schedule_id      TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    replaces_user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    start_at         INTEGER NOT NULL,
    end_at           INTEGER NOT NULL,
    note             TEXT,
    created_by       TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at       INTEGER NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX schedule_overrides_window ON schedule_overrides (schedule_id, end_at, start_at);

CREATE TABLE swap_requests (
    id           TEXT PRIMARY KEY,
    schedule_id  TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    requester_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    start_at     INTEGER NOT NULL,
    end_at       INTEGER NOT NULL,
    note         TEXT,
    state        TEXT NOT NULL CHECK (state IN ('open', 'accepted', 'declined', 'withdrawn')),
    resolved_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
    override_id  TEXT REFERENCES schedule_overrides (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX swap_requests_schedule ON swap_requests (schedule_id, state);

ALTER TABLE users ADD COLUMN ical_token TEXT;
CREATE UNIQUE INDEX users_ical_token ON users (ical_token);

CREATE TABLE notices (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    message    TEXT NOT NULL,
    link       TEXT,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
);
CREATE INDEX notices_user ON notices (user_id, created_at);

-- People and teams: invitations to join (only a SHA-256 hash of each token is kept), the
-- deactivation of an account (its rows stay; it can no longer log in), and contact methods
-- (how a person can be reached; email now, other kinds later). Every existing user gets their
-- login email as their first contact method.

CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'responder', 'viewer')),
    -- JSON array of team ids to join on acceptance ('[]': none).
    team_ids    TEXT NOT NULL DEFAULT '[]',
    invited_by  TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    accepted_at INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX invitations_created ON invitations (created_at);

ALTER TABLE users ADD COLUMN deactivated_at INTEGER;

CREATE TABLE contact_methods (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('email', 'push', 'sms', 'chat', 'webhook')),
    target      TEXT NOT NULL,
    label       TEXT,
    verified_at INTEGER,
    created_at  INTEGER NOT NULL,
    UNIQUE (user_id, kind, target)
);

-- The login email is known to work (the person logs in with it): verified from the start.
INSERT INTO contact_methods (id, user_id, kind, target, label, verified_at, created_at)
SELECT 'email-' || id, id, 'email', email, 'Login email', created_at, created_at FROM users;

-- Reaching people: contact methods of every kind, verified by a code sent through them;
-- personal notification rules; the outbox of messages owed to each contact method (bundled and
-- rate-limited there); and one-use action links. (Generated keys, VAPID's among them, live in
-- `settings`.)

-- Per kind: push {endpoint keys, device}, chat {flavor}, webhook {secret}; '{}' otherwise.
ALTER TABLE contact_methods ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
-- The pending verification code (SHA-256 hex), until when it holds, and wrong tries so far.
ALTER TABLE contact_methods ADD COLUMN verify_hash TEXT;
ALTER TABLE contact_methods ADD COLUMN verify_expires_at BIGINT;
ALTER TABLE contact_methods ADD COLUMN verify_attempts BIGINT NOT NULL DEFAULT 0;
-- Why the method stopped working (a push subscription the push service reports gone).
ALTER TABLE contact_methods ADD COLUMN disabled_at BIGINT;
ALTER TABLE contact_methods ADD COLUMN disabled_reason TEXT;

-- "High urgency: push at once, SMS after 2 min": one row per method and delay. A person with
-- no rule for an urgency is reached by the defaults (every verified method, see the domain).
CREATE TABLE notification_rules (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    urgency     TEXT NOT NULL CHECK (urgency IN ('high', 'low')),
    contact_id  TEXT NOT NULL REFERENCES contact_methods (id) ON DELETE CASCADE,
    delay_min   BIGINT NOT NULL CHECK (delay_min >= 0),
    created_at  BIGINT NOT NULL,
    UNIQUE (user_id, urgency, contact_id, delay_min)
);
CREATE INDEX notification_rules_user ON notification_rules (user_id, urgency);

-- What each contact method owes: one row per page (incident, step, person) and method, due
-- when the person's rule says. A send takes every due row of its method at once (a bundle).
CREATE TABLE notify_outbox (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_id   TEXT NOT NULL REFERENCES contact_methods (id) ON DELETE CASCADE,
    incident_id  TEXT NOT NULL REFERENCES oncall_incidents (id) ON DELETE CASCADE,
    page_key     TEXT NOT NULL,
    gen          BIGINT,
    urgency      TEXT NOT NULL,
    due_at       BIGINT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'sent', 'dropped', 'failed')),
    sent_at      BIGINT,
    -- A send in progress holds its rows until `claimed_until` (a crashed one is taken over);
    -- a sent row keeps its send's claim (one message per claim, for the rate limit).
    claim        TEXT,
    claimed_until BIGINT,
    -- The provider's id of the message (an SMS sid), for delivery reports.
    provider_ref TEXT,
    created_at   BIGINT NOT NULL,
    UNIQUE (page_key, contact_id)
);
CREATE INDEX notify_outbox_due ON notify_outbox (contact_id, state, due_at);
CREATE INDEX notify_outbox_sent ON notify_outbox (contact_id, sent_at);
CREATE INDEX notify_outbox_ref ON notify_outbox (provider_ref);
-- A send records its rows by claim; a failure brings the same pages forward by person.
CREATE INDEX notify_outbox_claim ON notify_outbox (claim);
CREATE INDEX notify_outbox_user ON notify_outbox (user_id, page_key);

-- Action links are signed; a used one is remembered here until it expires.
CREATE TABLE action_link_uses (
    nonce      TEXT PRIMARY KEY,
    used_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

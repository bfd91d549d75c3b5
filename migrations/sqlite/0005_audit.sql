-- Audit log of administrative and on-call changes: who, what, when, from which address.
-- Append-only: the triggers below refuse UPDATE and DELETE, so neither the application nor a
-- bug in it can rewrite history. actor_id has no foreign key on purpose (a row must outlive its
-- user, and ON DELETE SET NULL would be an update); actor_email and actor_name are copies taken
-- at the time of the change.

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  INTEGER NOT NULL,
    actor_id    TEXT,
    actor_email TEXT,
    actor_name  TEXT,
    kind        TEXT NOT NULL,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'denied')),
    target      TEXT,
    route       TEXT NOT NULL,
    method      TEXT NOT NULL,
    ip          TEXT,
    status      INTEGER NOT NULL
);
CREATE INDEX audit_log_created ON audit_log (created_at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_kind ON audit_log (kind, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

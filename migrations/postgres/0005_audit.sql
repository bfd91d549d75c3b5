-- Audit log of administrative and on-call changes: who, what, when, from which address.
-- Append-only: the triggers below refuse UPDATE, DELETE and TRUNCATE, so neither the application
-- nor a bug in it can rewrite history. actor_id has no foreign key on purpose (a row must outlive
-- its user, and ON DELETE SET NULL would be an update); actor_email and actor_name are copies
-- taken at the time of the change.

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    created_at  BIGINT NOT NULL,
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
    status      BIGINT NOT NULL
);
CREATE INDEX audit_log_created ON audit_log (created_at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_kind ON audit_log (kind, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Draft schedules: a schedule made in the web form stays a draft (shown only to admins, no
-- gap warnings, not an escalation target) until an admin publishes it. NULL is a draft;
-- schedules that exist already count as published when they were made.
ALTER TABLE schedules ADD COLUMN published_at BIGINT;
UPDATE schedules SET published_at = created_at;

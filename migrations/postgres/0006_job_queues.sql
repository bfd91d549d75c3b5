-- Typed jobs in queues. Each queue has its own workers and is claimed on its own, so a page is
-- never queued behind a subscriber fan-out; within a queue, higher priority runs first. Every
-- claim writes a fresh lease token: finishing or failing a job checks it, so a worker whose lease
-- ran out (and whose job someone else claimed) cannot finish the job a second time.
-- Rows queued by older versions are all subscriber work and keep their kind and payload.
ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT 'subscribers';
ALTER TABLE jobs ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN lease_token TEXT;
-- The priorities the code gives these kinds (a confirmation mail someone waits for, then fan-out).
UPDATE jobs SET priority = 20 WHERE kind = 'confirm';
UPDATE jobs SET priority = 10 WHERE kind = 'fanout';
CREATE INDEX jobs_queue_due ON jobs (queue, priority DESC, run_at, id) WHERE done_at IS NULL;

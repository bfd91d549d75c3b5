-- SMS, chat and webhooks: a team's own chat channel (an incoming webhook and its flavour),
-- and when a provider reported a message delivered (a delivery report is recorded once).
ALTER TABLE teams ADD COLUMN chat_url TEXT;
ALTER TABLE teams ADD COLUMN chat_flavor TEXT;
ALTER TABLE notify_outbox ADD COLUMN delivered_at INTEGER;

-- A monitor can be paused: it is not probed, its pings are ignored, and it opens no alerts.
ALTER TABLE monitors ADD COLUMN paused_at INTEGER;

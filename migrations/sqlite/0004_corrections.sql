-- A published update's text can be corrected (a typo, a wrong link); the page says when.
ALTER TABLE incident_updates ADD COLUMN edited_at INTEGER;

-- A component's status is derived from what holds it (open incidents, running maintenance,
-- failing monitors, and the admin's own setting). `manual_status` keeps the admin's setting
-- apart from the derived `status`; `incident_components.named` records that an update named a
-- component (a scheduled maintenance then holds it before its window starts). The server
-- derives every component's status again when it starts, so whatever the old code left behind
-- is put right.
ALTER TABLE components ADD COLUMN manual_status TEXT NOT NULL DEFAULT 'operational'
    CHECK (manual_status IN ('operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'));
ALTER TABLE incident_components ADD COLUMN named INTEGER NOT NULL DEFAULT 0;

-- A scheduled maintenance whose component shows "under maintenance" with no running window
-- to explain it had an update name it early (the old code set the status directly).
UPDATE incident_components SET named = 1
WHERE status = 'under_maintenance'
  AND incident_id IN (SELECT id FROM incidents WHERE kind = 'maintenance' AND status = 'scheduled')
  AND component_id IN (SELECT id FROM components WHERE status = 'under_maintenance')
  AND component_id NOT IN (
      SELECT ic2.component_id FROM incident_components ic2 JOIN incidents i2 ON i2.id = ic2.incident_id
      WHERE i2.kind = 'maintenance' AND i2.status IN ('in_progress', 'verifying'));

-- The admin's setting is the current status, unless something else holds the component now,
-- or its last change was made by the system (a monitor or a maintenance step, which now hold
-- it instead, e.g. a monitor deleted while failing used to leave its outage behind for good).
UPDATE components SET manual_status = status
WHERE id NOT IN (
    SELECT ic.component_id FROM incident_components ic JOIN incidents i ON i.id = ic.incident_id
    WHERE (i.kind = 'incident' AND i.status IN ('investigating', 'identified', 'monitoring'))
       OR (i.kind = 'maintenance' AND i.status IN ('in_progress', 'verifying'))
       OR (i.kind = 'maintenance' AND i.status = 'scheduled' AND ic.named = 1)
)
AND id NOT IN (SELECT component_id FROM monitors WHERE state = 'down' AND component_id IS NOT NULL)
AND NOT EXISTS (
    SELECT 1 FROM component_status_changes c
    WHERE c.component_id = components.id
      AND c.id = (SELECT MAX(id) FROM component_status_changes WHERE component_id = components.id)
      AND c.changed_by IS NULL AND c.old_status IS NOT NULL
);

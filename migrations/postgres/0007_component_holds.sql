-- A component's status is derived from what holds it (open incidents, running maintenance,
-- failing monitors, and the admin's own setting). This column keeps the admin's setting apart
-- from the derived `status`. Existing components keep their status as the setting, unless an
-- open incident, a running maintenance or a failing monitor is what holds them there now.
ALTER TABLE components ADD COLUMN manual_status TEXT NOT NULL DEFAULT 'operational'
    CHECK (manual_status IN ('operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'));

UPDATE components SET manual_status = status
WHERE id NOT IN (
    SELECT ic.component_id FROM incident_components ic JOIN incidents i ON i.id = ic.incident_id
    WHERE (i.kind = 'incident' AND i.status IN ('investigating', 'identified', 'monitoring'))
       OR (i.kind = 'maintenance' AND i.status IN ('in_progress', 'verifying'))
)
AND id NOT IN (SELECT component_id FROM monitors WHERE state = 'down' AND component_id IS NOT NULL);

-- Whether an update named the component (a scheduled maintenance then holds it early).
ALTER TABLE incident_components ADD COLUMN named BIGINT NOT NULL DEFAULT 0;

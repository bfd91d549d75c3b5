//! Status-page components in the store, and the one path by which a component's status changes:
//! [`settle`] reads everything that holds the component, asks the pure
//! [`derive_component_status`] what it should show, and records the change (history and the
//! per-day uptime aggregates) in the caller's transaction.

use std::str::FromStr;

use super::tx::{sql, Tx};
use super::{new_id, Store, StoreError};
use app::domain::holds::{derive_component_status, ComponentHolds, Hold};
use app::domain::incident::AffectedComponent;
use app::domain::incident::{IncidentKind, IncidentStatus};
use app::domain::live::Topic;
use app::domain::status::{Component, ComponentDraft, ComponentGroup, ComponentStatus};
use app::domain::uptime;

#[derive(sqlx::FromRow)]
struct ComponentRow {
    id: String,
    name: String,
    description: Option<String>,
    group_id: Option<String>,
    group_name: Option<String>,
    group_position: Option<i64>,
    position: i64,
    status: String,
    manual_status: String,
    created_at: i64,
    updated_at: i64,
    status_since: i64,
}

impl TryFrom<ComponentRow> for Component {
    type Error = StoreError;
    fn try_from(r: ComponentRow) -> Result<Self, StoreError> {
        Ok(Component {
            status: ComponentStatus::from_str(&r.status)
                .map_err(|_| StoreError::Corrupt(format!("status {:?}", r.status)))?,
            manual_status: ComponentStatus::from_str(&r.manual_status)
                .map_err(|_| StoreError::Corrupt(format!("manual_status {:?}", r.manual_status)))?,
            id: r.id,
            name: r.name,
            description: r.description,
            group_id: r.group_id,
            group_name: r.group_name,
            group_position: r.group_position.unwrap_or(0),
            position: r.position,
            created_at: r.created_at,
            updated_at: r.updated_at,
            status_since: r.status_since,
        })
    }
}

const COMPONENT_SELECT: &str = "SELECT c.id, c.name, c.description, c.group_id, g.name AS group_name, g.position AS group_position, \
     c.position, c.status, c.manual_status, c.created_at, c.updated_at, c.status_since \
     FROM components c LEFT JOIN component_groups g ON g.id = c.group_id";

/// Reads what holds component `cid`. `None` when there is no such component.
pub(crate) async fn load_holds(
    tx: &mut Tx,
    cid: &str,
) -> Result<Option<ComponentHolds>, StoreError> {
    let row: Option<(String,)> = tx
        .fetch_optional(sql("SELECT manual_status FROM components WHERE id = $1").bind(cid))
        .await?;
    let Some((manual,)) = row else {
        return Ok(None);
    };
    let linked: Vec<(String, String, String, i64)> = tx
        .fetch_all(
            sql(
                "SELECT i.kind, i.status, ic.status, ic.named FROM incident_components ic \
                 JOIN incidents i ON i.id = ic.incident_id WHERE ic.component_id = $1",
            )
            .bind(cid),
        )
        .await?;
    let (failing,): (i64,) = tx
        .fetch_one(
            sql("SELECT COUNT(*) FROM monitors WHERE component_id = $1 AND state = 'down'")
                .bind(cid),
        )
        .await?;
    let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("{what} {v:?}"));
    let mut holds = Vec::with_capacity(linked.len());
    for (kind, status, gives, named) in linked {
        holds.push(Hold {
            kind: IncidentKind::from_str(&kind).map_err(|_| corrupt("kind", &kind))?,
            status: IncidentStatus::from_str(&status).map_err(|_| corrupt("status", &status))?,
            gives: ComponentStatus::from_str(&gives).map_err(|_| corrupt("status", &gives))?,
            named: named != 0,
        });
    }
    Ok(Some(ComponentHolds {
        manual: ComponentStatus::from_str(&manual).map_err(|_| corrupt("status", &manual))?,
        holds,
        failing_monitors: usize::try_from(failing).unwrap_or(0),
    }))
}

/// Re-derives component `cid`'s status from what holds it now and records the change, if any.
/// Call it after changing any holder (an incident, a maintenance, a monitor, the admin's
/// setting), in the same transaction. `NotFound` when the component does not exist.
pub(crate) async fn settle(
    tx: &mut Tx,
    cid: &str,
    by: Option<&str>,
    now: i64,
) -> Result<Option<AffectedComponent>, StoreError> {
    // Lock the row first (a no-op write), so concurrent changes on PostgreSQL queue up and each
    // derives from the others' committed holders.
    tx.execute(sql("UPDATE components SET status_since = status_since WHERE id = $1").bind(cid))
        .await?;
    let holds = load_holds(tx, cid).await?.ok_or(StoreError::NotFound)?;
    let new = derive_component_status(&holds);
    let (name, old) = set_status(tx, cid, new, by, now).await?;
    if old.is_some() {
        tx.announce(Topic::StatusPage);
    }
    Ok(old.map(|old| AffectedComponent {
        code: cid.to_string(),
        name,
        old_status: old.as_str().to_string(),
        new_status: new.as_str().to_string(),
    }))
}

/// Sets component `id` to `new` (the derived status): records the change, and adds the time
/// spent in the old status to the per-day aggregates (the uptime bars). Returns the component's
/// name, and its old status when it changed.
async fn set_status(
    tx: &mut Tx,
    id: &str,
    new: ComponentStatus,
    by: Option<&str>,
    now: i64,
) -> Result<(String, Option<ComponentStatus>), StoreError> {
    let (name, old, since): (String, String, i64) = tx
        .fetch_optional(
            sql("SELECT name, status, status_since FROM components WHERE id = $1").bind(id),
        )
        .await?
        .ok_or(StoreError::NotFound)?;
    if old == new.as_str() {
        return Ok((name, None));
    }
    let old_status = ComponentStatus::from_str(&old)
        .map_err(|_| StoreError::Corrupt(format!("status {old:?}")))?;
    tx.execute(
        sql("UPDATE components SET status = $1, status_since = $2, updated_at = $2 WHERE id = $3")
            .bind(new.as_str())
            .bind(now)
            .bind(id),
    )
    .await?;
    tx.execute(
        sql("INSERT INTO component_status_changes (component_id, old_status, new_status, changed_by, changed_at) \
             VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(old.as_str())
        .bind(new.as_str())
        .bind(by)
        .bind(now),
    )
    .await?;
    let start = since.clamp(now - 92 * uptime::DAY_MS, now);
    let mut mark = uptime::DayAggregate::default();
    mark.add(new, 0);
    for (day, agg) in uptime::interval_days(old_status, start, now)
        .into_iter()
        .chain([(uptime::day_of(now), mark)])
    {
        add_daily(tx, id, day, agg).await?;
    }
    Ok((name, Some(old_status)))
}

/// Adds one day's aggregate for a component.
async fn add_daily(
    tx: &mut Tx,
    id: &str,
    day: i64,
    agg: uptime::DayAggregate,
) -> Result<(), StoreError> {
    tx.execute(
        sql("INSERT INTO component_daily (component_id, day, worst_rank, degraded_ms, partial_ms, major_ms, maintenance_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (component_id, day) DO UPDATE SET \
             worst_rank = CASE WHEN excluded.worst_rank > component_daily.worst_rank \
                 THEN excluded.worst_rank ELSE component_daily.worst_rank END, \
             degraded_ms = component_daily.degraded_ms + excluded.degraded_ms, \
             partial_ms = component_daily.partial_ms + excluded.partial_ms, \
             major_ms = component_daily.major_ms + excluded.major_ms, \
             maintenance_ms = component_daily.maintenance_ms + excluded.maintenance_ms")
        .bind(id)
        .bind(uptime::day_label(day))
        .bind(i64::from(agg.worst_rank))
        .bind(agg.degraded_ms)
        .bind(agg.partial_ms)
        .bind(agg.major_ms)
        .bind(agg.maintenance_ms),
    )
    .await?;
    Ok(())
}

/// Finds or creates the group named `name`; returns its id.
async fn ensure_group(tx: &mut Tx, name: &str, now: i64) -> Result<String, StoreError> {
    let existing: Option<(String,)> = tx
        .fetch_optional(sql("SELECT id FROM component_groups WHERE name = $1").bind(name))
        .await?;
    if let Some((gid,)) = existing {
        return Ok(gid);
    }
    let gid = new_id();
    tx.execute(
        sql("INSERT INTO component_groups (id, name, position, created_at, updated_at) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM component_groups), $3, $3)")
        .bind(&gid)
        .bind(name)
        .bind(now),
    )
    .await?;
    Ok(gid)
}

/// Removes groups left without components.
async fn drop_empty_groups(tx: &mut Tx) -> Result<(), StoreError> {
    tx.execute(sql("DELETE FROM component_groups WHERE id NOT IN \
         (SELECT group_id FROM components WHERE group_id IS NOT NULL)"))
        .await?;
    Ok(())
}

/// Whether component `cid` exists.
pub(crate) async fn component_exists(tx: &mut Tx, cid: &str) -> Result<bool, StoreError> {
    let row: Option<(String,)> = tx
        .fetch_optional(sql("SELECT id FROM components WHERE id = $1").bind(cid))
        .await?;
    Ok(row.is_some())
}

impl Store {
    /// All components with their group, in display order.
    pub async fn list_components(&self) -> Result<Vec<Component>, StoreError> {
        let sql = format!("{COMPONENT_SELECT} ORDER BY g.position, g.name, c.position, c.name");
        let rows: Vec<ComponentRow> = on_pool!(self, p => sqlx::query_as(&sql).fetch_all(p).await)?;
        rows.into_iter().map(Component::try_from).collect()
    }

    /// All component groups, in display order.
    pub async fn list_component_groups(&self) -> Result<Vec<ComponentGroup>, StoreError> {
        let rows: Vec<(String, String, i64, i64, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, name, position, created_at, updated_at FROM component_groups ORDER BY position, name")
            .fetch_all(p)
            .await)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, name, position, created_at, updated_at)| ComponentGroup {
                    id,
                    name,
                    position,
                    created_at,
                    updated_at,
                },
            )
            .collect())
    }

    /// One component.
    pub async fn component(&self, id: &str) -> Result<Component, StoreError> {
        let sql = format!("{COMPONENT_SELECT} WHERE c.id = $1");
        let row: Option<ComponentRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Creates a component (and its group, if new) in one transaction. Its status is the
    /// admin's setting, since nothing else holds a new component.
    pub async fn create_component(
        &self,
        draft: &ComponentDraft,
        by: Option<&str>,
        now: i64,
    ) -> Result<Component, StoreError> {
        let id = new_id();
        let mut tx = self.begin().await?;
        let group_id = match &draft.group {
            Some(name) => Some(ensure_group(&mut tx, name, now).await?),
            None => None,
        };
        tx.execute(
            sql("INSERT INTO components (id, name, description, group_id, position, status, manual_status, \
                 created_at, updated_at, status_since) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $7, $7)")
            .bind(&id)
            .bind(&draft.name)
            .bind(&draft.description)
            .bind(group_id)
            .bind(draft.position)
            .bind(draft.status.as_str())
            .bind(now),
        )
        .await
        .map_err(|e| super::map_unique(e, "name"))?;
        tx.execute(
            sql("INSERT INTO component_status_changes (component_id, old_status, new_status, changed_by, changed_at) \
                 VALUES ($1, NULL, $2, $3, $4)")
            .bind(&id)
            .bind(draft.status.as_str())
            .bind(by)
            .bind(now),
        )
        .await?;
        let mut mark = uptime::DayAggregate::default();
        mark.add(draft.status, 0);
        add_daily(&mut tx, &id, uptime::day_of(now), mark).await?;
        tx.announce(Topic::StatusPage);
        tx.commit().await?;
        self.component(&id).await
    }

    /// Replaces a component's fields (name, description, group, position, and the admin's
    /// status setting, from which its status is derived again).
    pub async fn update_component(
        &self,
        id: &str,
        draft: &ComponentDraft,
        by: Option<&str>,
        now: i64,
    ) -> Result<Component, StoreError> {
        let mut tx = self.begin().await?;
        let group_id = match &draft.group {
            Some(name) => Some(ensure_group(&mut tx, name, now).await?),
            None => None,
        };
        let n = tx
            .execute(
                sql("UPDATE components SET name = $1, description = $2, group_id = $3, position = $4, \
                     manual_status = $5, updated_at = $6 WHERE id = $7")
                .bind(&draft.name)
                .bind(&draft.description)
                .bind(group_id)
                .bind(draft.position)
                .bind(draft.status.as_str())
                .bind(now)
                .bind(id),
            )
            .await
            .map_err(|e| super::map_unique(e, "name"))?;
        super::found(n)?;
        settle(&mut tx, id, by, now).await?;
        drop_empty_groups(&mut tx).await?;
        tx.announce(Topic::StatusPage);
        tx.commit().await?;
        self.component(id).await
    }

    /// Sets the admin's status setting and derives the status again (an open incident or a
    /// failing monitor may still hold it worse). Returns the component as stored.
    pub async fn set_component_status(
        &self,
        id: &str,
        status: ComponentStatus,
        by: Option<&str>,
        now: i64,
    ) -> Result<Component, StoreError> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                sql("UPDATE components SET manual_status = $1 WHERE id = $2")
                    .bind(status.as_str())
                    .bind(id),
            )
            .await?;
        super::found(n)?;
        settle(&mut tx, id, by, now).await?;
        tx.commit().await?;
        self.component(id).await
    }

    /// Derives every component's status again from what holds it (at start-up: puts right
    /// whatever an older version left behind). One short transaction per component, each
    /// locking only that component, so instances starting together do not wait on each other
    /// in a cycle. Returns how many changed.
    pub async fn settle_all(&self, now: i64) -> Result<usize, StoreError> {
        let ids: Vec<(String,)> = on_pool!(self, p => sqlx::query_as("SELECT id FROM components ORDER BY id")
            .fetch_all(p)
            .await)?;
        let mut changed = 0;
        for (id,) in ids {
            let mut tx = self.begin().await?;
            match settle(&mut tx, &id, None, now).await {
                Ok(Some(_)) => changed += 1,
                Ok(None) => {}
                // Deleted meanwhile.
                Err(StoreError::NotFound) => continue,
                // One unreadable component must not keep the service from starting; its
                // page shows the error where it is read.
                Err(e) => {
                    tracing::error!(component = %id, error = %e, "could not derive the component's status");
                    continue;
                }
            }
            tx.commit().await?;
        }
        Ok(changed)
    }

    /// Deletes a component and its history; removes its group if now empty.
    pub async fn delete_component(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // Unlink what refers to it before locking the component itself, in the order every
        // other write locks rows (monitor or incident first, then component), so this never
        // deadlocks with a check or an update on PostgreSQL.
        tx.execute(sql("UPDATE monitors SET component_id = NULL WHERE component_id = $1").bind(id))
            .await?;
        tx.execute(sql("DELETE FROM incident_components WHERE component_id = $1").bind(id))
            .await?;
        let n = tx
            .execute(sql("DELETE FROM components WHERE id = $1").bind(id))
            .await?;
        super::found(n)?;
        drop_empty_groups(&mut tx).await?;
        tx.announce(Topic::StatusPage);
        tx.commit().await?;
        Ok(())
    }

    /// Status changes of a component, oldest first: `(old, new, changed_at)`.
    pub async fn component_history(
        &self,
        id: &str,
    ) -> Result<Vec<(Option<String>, String, i64)>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT old_status, new_status, changed_at FROM component_status_changes \
             WHERE component_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(p)
            .await)?)
    }
}

impl Store {
    /// Per-day aggregates from day `since` on: `(component id, day number, aggregate)`.
    pub async fn daily_since(
        &self,
        since_day: i64,
    ) -> Result<Vec<(String, i64, uptime::DayAggregate)>, StoreError> {
        let rows: Vec<(String, String, i64, i64, i64, i64, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT component_id, day, worst_rank, degraded_ms, partial_ms, major_ms, maintenance_ms \
             FROM component_daily WHERE day >= $1")
            .bind(uptime::day_label(since_day))
            .fetch_all(p)
            .await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(c, day, w, d, pa, m, mt)| {
                Some((
                    c,
                    uptime::day_from_label(&day)?,
                    uptime::DayAggregate {
                        worst_rank: u8::try_from(w).unwrap_or(4),
                        degraded_ms: d,
                        partial_ms: pa,
                        major_ms: m,
                        maintenance_ms: mt,
                    },
                ))
            })
            .collect())
    }
}

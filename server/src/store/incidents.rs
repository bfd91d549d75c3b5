//! Incidents and maintenance in the store, with their updates. Every write loads what it needs
//! inside one transaction, asks the pure rules in `domain::incident` what to do, re-derives the
//! components it touches ([`settle`]), queues the subscriber fan-out, and announces the incident's
//! timeline and the status page, all committed together.

use std::str::FromStr;

use super::components::{component_exists, settle};
use super::tx::{sql, Tx};
use super::{new_id, Store, StoreError};
use app::domain::incident::{
    decide_update, maintenance_step, maintenance_step_message, may_delete, AffectedComponent,
    ComponentChange, Correction, Incident, IncidentKind, IncidentStatus, IncidentUpdate,
    NewIncident, NewUpdate, UpdateDecision,
};
use app::domain::live::Topic;
use app::domain::status::{ComponentStatus, Impact};
use app::domain::ValidationError;

/// An `incident_updates` row as read.
type UpdateRecord = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
);

#[derive(sqlx::FromRow)]
struct IncidentRow {
    id: String,
    kind: String,
    name: String,
    status: String,
    impact: String,
    postmortem: Option<String>,
    scheduled_for: Option<i64>,
    scheduled_until: Option<i64>,
    created_at: i64,
    updated_at: i64,
    started_at: i64,
    monitoring_at: Option<i64>,
    resolved_at: Option<i64>,
}

pub(crate) fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {v:?}"))
}

impl TryFrom<IncidentRow> for Incident {
    type Error = StoreError;
    fn try_from(r: IncidentRow) -> Result<Self, StoreError> {
        Ok(Incident {
            kind: IncidentKind::from_str(&r.kind).map_err(|_| corrupt("kind", &r.kind))?,
            status: IncidentStatus::from_str(&r.status)
                .map_err(|_| corrupt("status", &r.status))?,
            impact: match r.impact.as_str() {
                "maintenance" => None,
                i => Some(Impact::parse(i).map_err(|_| corrupt("impact", i))?),
            },
            id: r.id,
            name: r.name,
            postmortem: r.postmortem,
            scheduled_for: r.scheduled_for,
            scheduled_until: r.scheduled_until,
            created_at: r.created_at,
            updated_at: r.updated_at,
            started_at: r.started_at,
            monitoring_at: r.monitoring_at,
            resolved_at: r.resolved_at,
            components: Vec::new(),
            updates: Vec::new(),
        })
    }
}

const INCIDENT_SELECT: &str = "SELECT id, kind, name, status, impact, postmortem, scheduled_for, \
    scheduled_until, created_at, updated_at, started_at, monitoring_at, resolved_at FROM incidents";

/// `$1, $2, ... $n` starting at `$from`.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which incidents to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct IncidentFilter {
    /// Only this kind.
    pub kind: Option<IncidentKind>,
    /// Only open ones.
    pub open_only: bool,
    /// Started at or after (Unix ms).
    pub since: Option<i64>,
    /// Started before (Unix ms).
    pub until: Option<i64>,
    /// At most this many, newest first.
    pub limit: i64,
}

/// Inserts an update and, when it should notify, queues the subscriber fan-out in the same
/// transaction, so the job exists exactly when the update does. Returns the update's id.
#[expect(clippy::too_many_arguments)]
async fn insert_update(
    tx: &mut Tx,
    incident_id: &str,
    status: IncidentStatus,
    body: &str,
    affected: &[AffectedComponent],
    notify: bool,
    by: Option<&str>,
    now: i64,
) -> Result<String, StoreError> {
    let uid = new_id();
    let affected_json = serde_json::to_string(affected).unwrap_or_else(|_| "[]".into());
    tx.execute(
        sql("INSERT INTO incident_updates (id, incident_id, status, body, affected_components, notify, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(&uid)
        .bind(incident_id)
        .bind(status.as_str())
        .bind(body)
        .bind(affected_json)
        .bind(notify)
        .bind(by)
        .bind(now),
    )
    .await?;
    if notify {
        super::jobs::enqueue_in(
            tx,
            &super::Fanout {
                update_id: uid.clone(),
            },
            now,
        )
        .await?;
    }
    Ok(uid)
}

/// One change per component (the last one given), in component-id order: every write locks
/// component rows in this order, so two writes on PostgreSQL never wait for each other in a
/// cycle.
fn in_lock_order(changes: &[ComponentChange]) -> Vec<ComponentChange> {
    let mut by_id: std::collections::BTreeMap<&str, ComponentStatus> = Default::default();
    for (cid, status) in changes {
        by_id.insert(cid, *status);
    }
    by_id
        .into_iter()
        .map(|(cid, status)| (cid.to_string(), status))
        .collect()
}

/// The error for a component id that does not exist.
fn no_such_component(cid: &str) -> StoreError {
    StoreError::Invalid(ValidationError::new(
        &format!("component.{cid}"),
        "no such component",
    ))
}

impl Store {
    // ---- incidents ----

    /// Creates an incident (applying its component statuses now) or a maintenance (whose
    /// components go under maintenance when the window starts). Returns the id.
    pub async fn create_incident(
        &self,
        new: &NewIncident,
        by: Option<&str>,
        now: i64,
    ) -> Result<String, StoreError> {
        let mut tx = self.begin().await?;
        let id = create_incident_in(&mut tx, new, by, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds an update. When `expect` is given and the incident is no longer in that status
    /// (another instance moved it first), nothing happens and `None` is returned.
    ///
    /// The update's status is decided by [`decide_update`]; every component the incident is
    /// linked to is then derived again ([`settle`]): closing releases them to what still holds
    /// them, a maintenance going in progress puts them under maintenance, and a closing update's
    /// explicit statuses become the admin's setting.
    pub async fn add_update(
        &self,
        incident_id: &str,
        update: &NewUpdate,
        expect: Option<IncidentStatus>,
        by: Option<&str>,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.begin().await?;
        let uid = add_update_in(&mut tx, incident_id, update, expect, by, now).await?;
        if uid.is_some() {
            tx.commit().await?;
        }
        Ok(uid)
    }
}

/// [`Store::create_incident`] inside `tx` (the caller commits).
pub(crate) async fn create_incident_in(
    tx: &mut Tx,
    new: &NewIncident,
    by: Option<&str>,
    now: i64,
) -> Result<String, StoreError> {
    {
        if !new.status.is_open() || new.status.kind() != new.kind {
            return Err(StoreError::Invalid(ValidationError::new(
                "status",
                "a new incident starts open (investigating, identified or monitoring)",
            )));
        }
        let id = new_id();
        let (scheduled_for, scheduled_until) = match new.window {
            Some((s, e)) => (Some(s), Some(e)),
            None => (None, None),
        };
        let impact = match new.kind {
            IncidentKind::Incident => new.impact.as_str(),
            IncidentKind::Maintenance => "maintenance",
        };
        tx.execute(
            sql("INSERT INTO incidents (id, kind, name, status, impact, scheduled_for, scheduled_until, \
                 created_by, created_at, updated_at, started_at, monitoring_at, notify) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12)")
            .bind(&id)
            .bind(new.kind.as_str())
            .bind(&new.name)
            .bind(new.status.as_str())
            .bind(impact)
            .bind(scheduled_for)
            .bind(scheduled_until)
            .bind(by)
            .bind(now)
            .bind(scheduled_for.unwrap_or(now))
            .bind((new.status == IncidentStatus::Monitoring).then_some(now))
            .bind(new.notify),
        )
        .await?;
        let components = in_lock_order(&new.components);
        for (cid, status) in &components {
            if !component_exists(tx, cid).await? {
                return Err(no_such_component(cid));
            }
            let gives = match new.kind {
                IncidentKind::Incident => *status,
                IncidentKind::Maintenance => ComponentStatus::UnderMaintenance,
            };
            tx.execute(
                sql("INSERT INTO incident_components (incident_id, component_id, status) VALUES ($1, $2, $3)")
                    .bind(&id)
                    .bind(cid)
                    .bind(gives.as_str()),
            )
            .await?;
        }
        let mut affected = Vec::new();
        for (cid, _) in &components {
            affected.extend(settle(tx, cid, by, now).await?);
        }
        insert_update(
            tx, &id, new.status, &new.body, &affected, new.notify, by, now,
        )
        .await?;
        announce_incident(tx, &id);
        Ok(id)
    }
}

/// [`Store::add_update`] inside `tx` (the caller commits when it returns `Some`).
pub(crate) async fn add_update_in(
    tx: &mut Tx,
    incident_id: &str,
    update: &NewUpdate,
    expect: Option<IncidentStatus>,
    by: Option<&str>,
    now: i64,
) -> Result<Option<String>, StoreError> {
    {
        // Lock the incident (a no-op write) so concurrent updates, or two instances stepping
        // the same maintenance, queue up and see each other's result.
        tx.execute(sql("UPDATE incidents SET status = status WHERE id = $1").bind(incident_id))
            .await?;
        let (kind, current): (String, String) = tx
            .fetch_optional(
                sql("SELECT kind, status FROM incidents WHERE id = $1").bind(incident_id),
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        let kind = IncidentKind::from_str(&kind).map_err(|_| corrupt("kind", &kind))?;
        let current =
            IncidentStatus::from_str(&current).map_err(|_| corrupt("status", &current))?;
        let UpdateDecision::Apply {
            closing,
            explicit_is_manual,
        } = decide_update(kind, current, update.status, expect)?
        else {
            return Ok(None);
        };
        tx.execute(
            sql("UPDATE incidents SET status = $1, updated_at = $2, \
                 monitoring_at = CASE WHEN $1 = 'monitoring' AND monitoring_at IS NULL THEN $2 ELSE monitoring_at END, \
                 resolved_at = CASE WHEN $3 = 1 THEN COALESCE(resolved_at, $2) ELSE NULL END, \
                 impact = COALESCE($4, impact), \
                 postmortem = CASE WHEN $1 = 'postmortem' THEN $5 ELSE postmortem END \
                 WHERE id = $6")
            .bind(update.status.as_str())
            .bind(now)
            .bind(closing)
            .bind(update.impact.map(|i| i.as_str()))
            .bind(&update.body)
            .bind(incident_id),
        )
        .await?;
        let explicit = in_lock_order(&update.components);
        for (cid, status) in &explicit {
            if !component_exists(tx, cid).await? {
                return Err(no_such_component(cid));
            }
            tx.execute(
                sql("INSERT INTO incident_components (incident_id, component_id, status, named) VALUES ($1, $2, $3, 1) \
                     ON CONFLICT (incident_id, component_id) DO UPDATE SET status = excluded.status, named = 1")
                .bind(incident_id)
                .bind(cid)
                .bind(status.as_str()),
            )
            .await?;
        }
        let mut linked: Vec<(String,)> = tx
            .fetch_all(
                sql("SELECT component_id FROM incident_components WHERE incident_id = $1")
                    .bind(incident_id),
            )
            .await?;
        // Component rows are written in id order only (see `in_lock_order`).
        linked.sort();
        let mut affected = Vec::new();
        for (cid,) in &linked {
            if explicit_is_manual {
                if let Some((_, status)) = explicit.iter().find(|(c, _)| c == cid) {
                    tx.execute(
                        sql("UPDATE components SET manual_status = $1 WHERE id = $2")
                            .bind(status.as_str())
                            .bind(cid),
                    )
                    .await?;
                }
            }
            affected.extend(settle(tx, cid, by, now).await?);
        }
        let uid = insert_update(
            tx,
            incident_id,
            update.status,
            &update.body,
            &affected,
            update.notify,
            by,
            now,
        )
        .await?;
        announce_incident(tx, incident_id);
        Ok(Some(uid))
    }
}

impl Store {
    /// Moves maintenance windows along by the clock (start, complete). Safe to run on several
    /// instances at once: each step only applies if the status is still the one it read.
    /// Returns how many steps were applied.
    pub async fn advance_maintenance(&self, now: i64) -> Result<usize, StoreError> {
        let due: Vec<(String, String, i64, i64, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, status, scheduled_for, scheduled_until, notify FROM incidents \
             WHERE kind = 'maintenance' AND ((status = 'scheduled' AND scheduled_for <= $1) \
             OR (status IN ('scheduled', 'in_progress', 'verifying') AND scheduled_until <= $1))")
            .bind(now)
            .fetch_all(p)
            .await)?;
        let mut applied = 0;
        for (id, status, starts, ends, notify) in due {
            let current =
                IncidentStatus::from_str(&status).map_err(|_| corrupt("status", &status))?;
            let Some(next) = maintenance_step(current, starts, ends, now) else {
                continue;
            };
            let update = NewUpdate {
                status: next,
                body: maintenance_step_message(next).to_string(),
                impact: None,
                components: Vec::new(),
                // As the admin chose when scheduling it.
                notify: notify != 0,
            };
            match self
                .add_update(&id, &update, Some(current), None, now)
                .await
            {
                Ok(Some(_)) => applied += 1,
                Ok(None) => {}
                // Deleted since it was read: nothing to step.
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(applied)
    }

    /// One incident with components and updates.
    pub async fn incident(&self, id: &str) -> Result<Incident, StoreError> {
        let sql = format!("{INCIDENT_SELECT} WHERE id = $1");
        let row: Option<IncidentRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        let mut list = vec![Incident::try_from(row.ok_or(StoreError::NotFound)?)?];
        self.fill_incidents(&mut list).await?;
        Ok(list.remove(0))
    }

    /// Incidents matching `f`, newest first, with components and updates.
    pub async fn incidents(&self, f: IncidentFilter) -> Result<Vec<Incident>, StoreError> {
        let mut sql = format!("{INCIDENT_SELECT} WHERE 1 = 1");
        if let Some(k) = f.kind {
            sql.push_str(&format!(" AND kind = '{}'", k.as_str()));
        }
        if f.open_only {
            sql.push_str(" AND status IN ('investigating', 'identified', 'monitoring', 'scheduled', 'in_progress', 'verifying')");
        }
        sql.push_str(" AND started_at >= $1 AND started_at < $2 ORDER BY started_at DESC, created_at DESC LIMIT $3");
        let rows: Vec<IncidentRow> = on_pool!(self, p => sqlx::query_as(&sql)
            .bind(f.since.unwrap_or(i64::MIN))
            .bind(f.until.unwrap_or(i64::MAX))
            .bind(if f.limit > 0 { f.limit } else { 50 })
            .fetch_all(p)
            .await)?;
        let mut list = rows
            .into_iter()
            .map(Incident::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        self.fill_incidents(&mut list).await?;
        Ok(list)
    }

    async fn fill_incidents(&self, list: &mut [Incident]) -> Result<(), StoreError> {
        if list.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = list.iter().map(|i| i.id.clone()).collect();
        let ph = placeholders(1, ids.len());
        let csql = format!(
            "SELECT ic.incident_id, ic.component_id, c.name, ic.status FROM incident_components ic \
             JOIN components c ON c.id = ic.component_id WHERE ic.incident_id IN ({ph}) ORDER BY c.position, c.name"
        );
        let usql = format!(
            "SELECT id, incident_id, status, body, affected_components, notify, created_at, edited_at \
             FROM incident_updates WHERE incident_id IN ({ph}) ORDER BY created_at DESC, id DESC"
        );
        let comps: Vec<(String, String, String, String)> = on_pool!(self, p => {
            let mut q = sqlx::query_as(&csql);
            for id in &ids { q = q.bind(id); }
            q.fetch_all(p).await
        })?;
        let updates: Vec<UpdateRecord> = on_pool!(self, p => {
            let mut q = sqlx::query_as(&usql);
            for id in &ids { q = q.bind(id); }
            q.fetch_all(p).await
        })?;
        for inc in list.iter_mut() {
            for (iid, cid, name, st) in &comps {
                if *iid == inc.id {
                    let st = ComponentStatus::from_str(st).map_err(|_| corrupt("status", st))?;
                    inc.components.push((cid.clone(), name.clone(), st));
                }
            }
            for (uid, iid, st, body, affected, notify, at, edited_at) in &updates {
                if *iid == inc.id {
                    inc.updates.push(IncidentUpdate {
                        id: uid.clone(),
                        incident_id: iid.clone(),
                        status: IncidentStatus::from_str(st).map_err(|_| corrupt("status", st))?,
                        body: body.clone(),
                        affected: serde_json::from_str(affected).unwrap_or_default(),
                        notify: *notify != 0,
                        created_at: *at,
                        edited_at: *edited_at,
                    });
                }
            }
        }
        Ok(())
    }

    /// Corrects published text: the title, or one update's message (the postmortem text too when
    /// that update is the newest postmortem). Nothing is queued for subscribers.
    pub async fn correct_incident(
        &self,
        incident_id: &str,
        correction: &Correction,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let found = match correction {
            Correction::Title(name) => {
                tx.execute(
                    sql("UPDATE incidents SET name = $1, updated_at = $2 WHERE id = $3")
                        .bind(name)
                        .bind(now)
                        .bind(incident_id),
                )
                .await?
            }
            Correction::Message { update_id, body } => {
                let n = tx
                    .execute(
                        sql("UPDATE incident_updates SET body = $1, edited_at = $2 WHERE id = $3 AND incident_id = $4")
                            .bind(body)
                            .bind(now)
                            .bind(update_id)
                            .bind(incident_id),
                    )
                    .await?;
                tx.execute(
                    sql("UPDATE incidents SET updated_at = $1, \
                         postmortem = CASE WHEN (SELECT id FROM incident_updates WHERE incident_id = $2 \
                           AND status = 'postmortem' ORDER BY created_at DESC, id DESC LIMIT 1) = $3 \
                           THEN $4 ELSE postmortem END \
                         WHERE id = $2")
                    .bind(now)
                    .bind(incident_id)
                    .bind(update_id)
                    .bind(body),
                )
                .await?;
                n
            }
        };
        super::found(found)?;
        announce_incident(&mut tx, incident_id);
        tx.commit().await
    }

    /// Deletes an incident or maintenance with its updates, if it is closed or a maintenance
    /// that has not started (an open one would leave its components' statuses behind: resolve
    /// or complete it first). Pending deliveries of its updates find nothing and end quietly.
    pub async fn delete_incident(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.execute(sql("UPDATE incidents SET status = status WHERE id = $1").bind(id))
            .await?;
        let (status,): (String,) = tx
            .fetch_optional(sql("SELECT status FROM incidents WHERE id = $1").bind(id))
            .await?
            .ok_or(StoreError::NotFound)?;
        let status = IncidentStatus::from_str(&status).map_err(|_| corrupt("status", &status))?;
        // `update_changed_components`, in SQL.
        let (changed,): (i64,) = tx
            .fetch_one(
                sql(
                    "SELECT COUNT(*) FROM incident_updates WHERE incident_id = $1 \
                     AND (status IN ('in_progress', 'verifying') OR affected_components <> '[]')",
                )
                .bind(id),
            )
            .await?;
        if !may_delete(status, changed > 0) {
            return Err(StoreError::Invalid(ValidationError::new(
                "status",
                format!(
                    "it is still {}: resolve or complete it first, so its components get their statuses back",
                    status.label().to_lowercase()
                ),
            )));
        }
        let mut linked: Vec<(String,)> = tx
            .fetch_all(
                sql("SELECT component_id FROM incident_components WHERE incident_id = $1").bind(id),
            )
            .await?;
        linked.sort();
        tx.execute(sql("DELETE FROM incidents WHERE id = $1").bind(id))
            .await?;
        // Whatever it still held (a named component of a maintenance that never started) is
        // released.
        for (cid,) in &linked {
            settle(&mut tx, cid, None, now).await?;
        }
        announce_incident(&mut tx, id);
        tx.commit().await
    }

    /// The update with this id and its incident.
    pub async fn update_with_incident(
        &self,
        update_id: &str,
    ) -> Result<(Incident, IncidentUpdate), StoreError> {
        let iid: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT incident_id FROM incident_updates WHERE id = $1")
            .bind(update_id)
            .fetch_optional(p)
            .await)?;
        let (iid,) = iid.ok_or(StoreError::NotFound)?;
        let inc = self.incident(&iid).await?;
        let upd = inc
            .updates
            .iter()
            .find(|u| u.id == update_id)
            .cloned()
            .ok_or(StoreError::NotFound)?;
        Ok((inc, upd))
    }
}

/// A change to an incident shows on its timeline and on the public status page.
fn announce_incident(tx: &mut Tx, id: &str) {
    tx.announce(Topic::Incident(id.to_string()));
    tx.announce(Topic::StatusPage);
}

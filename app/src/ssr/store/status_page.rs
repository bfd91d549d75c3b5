//! Status page in the store: incidents and maintenance with their updates, per-day uptime
//! aggregates, alerts, and monitors (HTTP probes and heartbeats). Every write that changes what
//! the public sees also queues the subscriber fan-out in the same transaction.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{begin_write, new_id, Db, Store, StoreError};
use crate::domain::incident::{
    maintenance_step, maintenance_step_message, may_delete, update_changed_components,
    ComponentChange, Correction, IncidentKind, IncidentStatus,
};
use crate::domain::monitor::{step, MonitorDraft, MonitorKind, MonitorState, MonitorStep};
use crate::domain::status::{ComponentStatus, Impact};
use crate::domain::uptime;
use crate::domain::ValidationError;

/// A component an update changed, as the Statuspage API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedComponent {
    /// Component id.
    pub code: String,
    /// Component name at the time.
    pub name: String,
    /// Status before.
    pub old_status: String,
    /// Status after.
    pub new_status: String,
}

/// One update of an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentUpdate {
    /// Stable id.
    pub id: String,
    /// The incident.
    pub incident_id: String,
    /// Status the update set.
    pub status: IncidentStatus,
    /// Markdown body.
    pub body: String,
    /// Components it changed.
    pub affected: Vec<AffectedComponent>,
    /// Whether subscribers were told.
    pub notify: bool,
    /// When, Unix ms.
    pub created_at: i64,
    /// When its text was last corrected, Unix ms.
    pub edited_at: Option<i64>,
}

impl Incident {
    /// Whether it may be deleted ([`may_delete`]; [`Store::delete_incident`] checks the same).
    pub fn deletable(&self) -> bool {
        let changed = self
            .updates
            .iter()
            .any(|u| update_changed_components(u.status, !u.affected.is_empty()));
        may_delete(self.status, changed)
    }
}

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

/// An incident or maintenance with its components and updates (newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Stable id.
    pub id: String,
    /// Incident or maintenance.
    pub kind: IncidentKind,
    /// Title.
    pub name: String,
    /// Lifecycle status.
    pub status: IncidentStatus,
    /// Impact; `None` for maintenance (the API says "maintenance").
    pub impact: Option<Impact>,
    /// Postmortem text, if published.
    pub postmortem: Option<String>,
    /// Maintenance window start.
    pub scheduled_for: Option<i64>,
    /// Maintenance window end.
    pub scheduled_until: Option<i64>,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Started (maintenance: the window start).
    pub started_at: i64,
    /// First time it went to monitoring.
    pub monitoring_at: Option<i64>,
    /// Resolved or completed.
    pub resolved_at: Option<i64>,
    /// Affected components: `(id, name, status the incident gives it)`.
    pub components: Vec<(String, String, ComponentStatus)>,
    /// Updates, newest first.
    pub updates: Vec<IncidentUpdate>,
}

impl Incident {
    /// The impact as the API spells it (maintenance has its own).
    pub fn impact_str(&self) -> &'static str {
        match self.impact {
            Some(i) => i.as_str(),
            None => "maintenance",
        }
    }
}

/// A new incident or maintenance, validated.
#[derive(Debug, Clone)]
pub struct NewIncident {
    /// Kind.
    pub kind: IncidentKind,
    /// Title.
    pub name: String,
    /// Impact (ignored for maintenance).
    pub impact: Impact,
    /// First status.
    pub status: IncidentStatus,
    /// First update.
    pub body: String,
    /// Component statuses (incidents), or the components under maintenance.
    pub components: Vec<ComponentChange>,
    /// Window (maintenance).
    pub window: Option<(i64, i64)>,
    /// Tell subscribers.
    pub notify: bool,
}

/// A new update, validated.
#[derive(Debug, Clone)]
pub struct NewUpdate {
    /// New status.
    pub status: IncidentStatus,
    /// Message.
    pub body: String,
    /// New impact.
    pub impact: Option<Impact>,
    /// Explicit component statuses.
    pub components: Vec<ComponentChange>,
    /// Tell subscribers.
    pub notify: bool,
}

/// An alert (opened by a monitor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Stable id.
    pub id: String,
    /// Where it came from, e.g. `probe`.
    pub source: String,
    /// Deduplication key; one open alert per key.
    pub dedup_key: String,
    /// One line.
    pub summary: String,
    /// More text.
    pub details: String,
    /// Component it concerns.
    pub component_id: Option<String>,
    /// triggered / acknowledged / resolved.
    pub status: String,
    /// Opened.
    pub created_at: i64,
    /// Resolved.
    pub resolved_at: Option<i64>,
}

/// A monitor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    /// Stable id.
    pub id: String,
    /// Probe or heartbeat.
    pub kind: MonitorKind,
    /// Name.
    pub name: String,
    /// Component it drives.
    pub component_id: Option<String>,
    /// URL (probes).
    pub url: Option<String>,
    /// Interval, seconds.
    pub interval_s: i64,
    /// Timeout, ms.
    pub timeout_ms: i64,
    /// Expected status.
    pub expect_status: Option<i64>,
    /// Required text.
    pub keyword: Option<String>,
    /// Failures before down.
    pub failure_threshold: i64,
    /// Heartbeat token (the ping URL's secret).
    pub token: Option<String>,
    /// Up, down or unknown.
    pub state: MonitorState,
    /// Failures in a row.
    pub consecutive_fails: i64,
    /// Last check.
    pub last_checked_at: Option<i64>,
    /// Last error.
    pub last_error: Option<String>,
    /// Last response time.
    pub last_latency_ms: Option<i64>,
}

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

fn corrupt(what: &str, v: &str) -> StoreError {
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

#[derive(sqlx::FromRow)]
struct MonitorRow {
    id: String,
    kind: String,
    name: String,
    component_id: Option<String>,
    url: Option<String>,
    interval_s: i64,
    timeout_ms: i64,
    expect_status: Option<i64>,
    keyword: Option<String>,
    failure_threshold: i64,
    token: Option<String>,
    state: String,
    consecutive_fails: i64,
    last_checked_at: Option<i64>,
    last_error: Option<String>,
    last_latency_ms: Option<i64>,
}

impl From<MonitorRow> for Monitor {
    fn from(r: MonitorRow) -> Self {
        Monitor {
            kind: if r.kind == "heartbeat" {
                MonitorKind::Heartbeat
            } else {
                MonitorKind::Http
            },
            state: MonitorState::parse(&r.state),
            id: r.id,
            name: r.name,
            component_id: r.component_id,
            url: r.url,
            interval_s: r.interval_s,
            timeout_ms: r.timeout_ms,
            expect_status: r.expect_status,
            keyword: r.keyword,
            failure_threshold: r.failure_threshold,
            token: r.token,
            consecutive_fails: r.consecutive_fails,
            last_checked_at: r.last_checked_at,
            last_error: r.last_error,
            last_latency_ms: r.last_latency_ms,
        }
    }
}

const INCIDENT_SELECT: &str = "SELECT id, kind, name, status, impact, postmortem, scheduled_for, \
    scheduled_until, created_at, updated_at, started_at, monitoring_at, resolved_at FROM incidents";

const MONITOR_SELECT: &str = "SELECT id, kind, name, component_id, url, interval_s, timeout_ms, \
    expect_status, keyword, failure_threshold, token, state, consecutive_fails, last_checked_at, \
    last_error, last_latency_ms FROM monitors";

/// `$1, $2, ... $n` starting at `$from`.
fn placeholders(from: usize, n: usize) -> String {
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

/// Applies one incident-driven component change inside `$tx` and records it as affected.
macro_rules! change_component {
    ($tx:ident, $affected:ident, $cid:expr, $status:expr, $by:expr, $now:expr) => {{
        let cid: &str = $cid;
        let name: Option<(String,)> = sqlx::query_as("SELECT name FROM components WHERE id = $1")
            .bind(cid)
            .fetch_optional(&mut *$tx)
            .await?;
        let Some((name,)) = name else {
            return Err(StoreError::Invalid(ValidationError::new(
                &format!("component.{cid}"),
                "no such component",
            )));
        };
        let new: ComponentStatus = $status;
        if let Some(old) = apply_status!($tx, cid, new, $by, $now)? {
            $affected.push(AffectedComponent {
                code: cid.to_string(),
                name,
                old_status: old.as_str().to_string(),
                new_status: new.as_str().to_string(),
            });
        }
    }};
}

/// Inserts an update and, when it should notify, the fan-out job, inside `$tx`.
macro_rules! insert_update {
    ($tx:ident, $incident:expr, $status:expr, $body:expr, $affected:expr, $notify:expr, $by:expr, $now:expr) => {{
        let uid = new_id();
        let affected_json = serde_json::to_string(&$affected).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO incident_updates (id, incident_id, status, body, affected_components, notify, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&uid)
        .bind($incident)
        .bind($status.as_str())
        .bind($body)
        .bind(&affected_json)
        .bind(i64::from($notify))
        .bind($by)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
        if $notify {
            super::jobs::enqueue_in(&mut $tx, &super::Fanout { update_id: uid.clone() }, $now).await?;
        }
        uid
    }};
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
        on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            sqlx::query(
                "INSERT INTO incidents (id, kind, name, status, impact, scheduled_for, scheduled_until, \
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
                .bind(i64::from(new.notify))
                .execute(&mut *tx)
                .await?;
            let mut affected: Vec<AffectedComponent> = Vec::new();
            for (cid, status) in &new.components {
                let status = match new.kind {
                    IncidentKind::Incident => {
                        change_component!(tx, affected, cid, *status, by, now);
                        *status
                    }
                    IncidentKind::Maintenance => {
                        let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM components WHERE id = $1")
                            .bind(cid)
                            .fetch_optional(&mut *tx)
                            .await?;
                        if exists.is_none() {
                            return Err(StoreError::Invalid(ValidationError::new(
                                &format!("component.{cid}"),
                                "no such component",
                            )));
                        }
                        ComponentStatus::UnderMaintenance
                    }
                };
                sqlx::query("INSERT INTO incident_components (incident_id, component_id, status) VALUES ($1, $2, $3)")
                    .bind(&id)
                    .bind(cid)
                    .bind(status.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            insert_update!(tx, &id, new.status, &new.body, affected, new.notify, by, now);
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        Ok(id)
    }

    /// Adds an update. When `expect` is given and the incident is no longer in that status
    /// (another instance moved it first), nothing happens and `None` is returned.
    ///
    /// Closing (resolved, completed) puts affected components that still show the incident's
    /// status back to operational, unless the update sets them explicitly; a maintenance going
    /// in progress puts its components under maintenance.
    pub async fn add_update(
        &self,
        incident_id: &str,
        update: &NewUpdate,
        expect: Option<IncidentStatus>,
        by: Option<&str>,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            // Lock the incident (a no-op write) so concurrent updates, or two instances
            // stepping the same maintenance, queue up and see each other's result.
            sqlx::query("UPDATE incidents SET status = status WHERE id = $1")
                .bind(incident_id)
                .execute(&mut *tx)
                .await?;
            let row: Option<(String, String)> = sqlx::query_as("SELECT kind, status FROM incidents WHERE id = $1")
                .bind(incident_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((kind, current)) = row else {
                return Err(StoreError::NotFound);
            };
            let kind = IncidentKind::from_str(&kind).map_err(|_| corrupt("kind", &kind))?;
            if update.status.kind() != kind {
                return Err(StoreError::Invalid(ValidationError::new(
                    "status",
                    format!("{} is not a {} status", update.status, kind.as_str()),
                )));
            }
            if let Some(want) = expect {
                if current != want.as_str() {
                    return Ok(None);
                }
            }
            let closing = !update.status.is_open();
            sqlx::query(
                "UPDATE incidents SET status = $1, updated_at = $2, \
                 monitoring_at = CASE WHEN $1 = 'monitoring' AND monitoring_at IS NULL THEN $2 ELSE monitoring_at END, \
                 resolved_at = CASE WHEN $3 = 1 THEN COALESCE(resolved_at, $2) ELSE NULL END, \
                 impact = COALESCE($4, impact), \
                 postmortem = CASE WHEN $1 = 'postmortem' THEN $5 ELSE postmortem END \
                 WHERE id = $6")
                .bind(update.status.as_str())
                .bind(now)
                .bind(i64::from(closing))
                .bind(update.impact.map(|i| i.as_str()))
                .bind(&update.body)
                .bind(incident_id)
                .execute(&mut *tx)
                .await?;
            let mut affected: Vec<AffectedComponent> = Vec::new();
            for (cid, status) in &update.components {
                change_component!(tx, affected, cid, *status, by, now);
                sqlx::query(
                    "INSERT INTO incident_components (incident_id, component_id, status) VALUES ($1, $2, $3) \
                     ON CONFLICT (incident_id, component_id) DO UPDATE SET status = excluded.status")
                    .bind(incident_id)
                    .bind(cid)
                    .bind(status.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            let linked: Vec<(String, String)> = sqlx::query_as(
                "SELECT component_id, status FROM incident_components WHERE incident_id = $1")
                .bind(incident_id)
                .fetch_all(&mut *tx)
                .await?;
            for (cid, set_status) in linked {
                if update.components.iter().any(|(c, _)| *c == cid) {
                    continue;
                }
                let now_status: Option<(String,)> = sqlx::query_as("SELECT status FROM components WHERE id = $1")
                    .bind(&cid)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some((now_status,)) = now_status else { continue };
                let target = if update.status == IncidentStatus::InProgress {
                    Some(ComponentStatus::UnderMaintenance)
                } else if closing && update.status != IncidentStatus::Postmortem && now_status == set_status {
                    // Back to what other open incidents or a failing monitor still say, else
                    // operational.
                    let others: Vec<(String,)> = sqlx::query_as(
                        "SELECT ic.status FROM incident_components ic JOIN incidents i ON i.id = ic.incident_id \
                         WHERE ic.component_id = $1 AND ic.incident_id <> $2 \
                         AND i.status IN ('investigating', 'identified', 'monitoring', 'in_progress', 'verifying')")
                        .bind(&cid)
                        .bind(incident_id)
                        .fetch_all(&mut *tx)
                        .await?;
                    let (down,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM monitors WHERE component_id = $1 AND state = 'down'")
                        .bind(&cid)
                        .fetch_one(&mut *tx)
                        .await?;
                    let held = others
                        .iter()
                        .filter_map(|(s,)| ComponentStatus::from_str(s).ok())
                        .chain((down > 0).then_some(ComponentStatus::MajorOutage))
                        .max_by_key(|s| uptime::rank(*s))
                        .unwrap_or(ComponentStatus::Operational);
                    Some(held)
                } else {
                    None
                };
                if let Some(t) = target {
                    change_component!(tx, affected, &cid, t, by, now);
                }
            }
            let uid = insert_update!(tx, incident_id, update.status, &update.body, affected, update.notify, by, now);
            tx.commit().await?;
            Ok::<Option<String>, StoreError>(Some(uid))
        })
    }

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
        on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            let found = match correction {
                Correction::Title(name) => sqlx::query(
                    "UPDATE incidents SET name = $1, updated_at = $2 WHERE id = $3")
                    .bind(name)
                    .bind(now)
                    .bind(incident_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                Correction::Message { update_id, body } => {
                    let n = sqlx::query(
                        "UPDATE incident_updates SET body = $1, edited_at = $2 WHERE id = $3 AND incident_id = $4")
                        .bind(body)
                        .bind(now)
                        .bind(update_id)
                        .bind(incident_id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    sqlx::query(
                        "UPDATE incidents SET updated_at = $1, \
                         postmortem = CASE WHEN (SELECT id FROM incident_updates WHERE incident_id = $2 \
                           AND status = 'postmortem' ORDER BY created_at DESC, id DESC LIMIT 1) = $3 \
                           THEN $4 ELSE postmortem END \
                         WHERE id = $2")
                        .bind(now)
                        .bind(incident_id)
                        .bind(update_id)
                        .bind(body)
                        .execute(&mut *tx)
                        .await?;
                    n
                }
            };
            if found == 0 {
                return Err(StoreError::NotFound);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Deletes an incident or maintenance with its updates, if it is closed or a maintenance
    /// that has not started (an open one would leave its components' statuses behind: resolve
    /// or complete it first). Pending deliveries of its updates find nothing and end quietly.
    pub async fn delete_incident(&self, id: &str) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            sqlx::query("UPDATE incidents SET status = status WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let row: Option<(String,)> = sqlx::query_as("SELECT status FROM incidents WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((status,)) = row else {
                return Err(StoreError::NotFound);
            };
            let status = IncidentStatus::from_str(&status).map_err(|_| corrupt("status", &status))?;
            // `update_changed_components`, in SQL.
            let (changed,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM incident_updates WHERE incident_id = $1 \
                 AND (status IN ('in_progress', 'verifying') OR affected_components <> '[]')")
                .bind(id)
                .fetch_one(&mut *tx)
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
            sqlx::query("DELETE FROM incidents WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
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

    // ---- alerts ----

    /// Recent alerts, newest first.
    pub async fn alerts(&self, limit: i64) -> Result<Vec<Alert>, StoreError> {
        #[expect(clippy::type_complexity)]
        let rows: Vec<(
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            i64,
            Option<i64>,
        )> = on_pool!(self, p => sqlx::query_as(
                "SELECT id, source, dedup_key, summary, details, component_id, status, created_at, resolved_at \
                 FROM alerts ORDER BY created_at DESC LIMIT $1")
                .bind(limit)
                .fetch_all(p)
                .await)?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    source,
                    dedup_key,
                    summary,
                    details,
                    component_id,
                    status,
                    created_at,
                    resolved_at,
                )| Alert {
                    id,
                    source,
                    dedup_key,
                    summary,
                    details,
                    component_id,
                    status,
                    created_at,
                    resolved_at,
                },
            )
            .collect())
    }

    // ---- monitors ----

    /// Creates a monitor; heartbeats get a secret ping token. The first check is due at once
    /// (probes) or after one interval (heartbeats).
    pub async fn create_monitor(&self, d: &MonitorDraft, now: i64) -> Result<Monitor, StoreError> {
        let id = new_id();
        let token = (d.kind == MonitorKind::Heartbeat).then(|| super::new_id() + &super::new_id());
        let next_due = match d.kind {
            MonitorKind::Http => now,
            MonitorKind::Heartbeat => now + d.interval_s * 1000,
        };
        on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            if let Some(cid) = &d.component_id {
                let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM components WHERE id = $1")
                    .bind(cid)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_none() {
                    return Err(StoreError::Invalid(ValidationError::new("component", "no such component")));
                }
            }
            sqlx::query(
                "INSERT INTO monitors (id, kind, name, component_id, url, interval_s, timeout_ms, expect_status, \
                 keyword, failure_threshold, token, next_due_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
                .bind(&id)
                .bind(d.kind.as_str())
                .bind(&d.name)
                .bind(&d.component_id)
                .bind(&d.url)
                .bind(d.interval_s)
                .bind(d.timeout_ms)
                .bind(d.expect_status)
                .bind(&d.keyword)
                .bind(d.failure_threshold)
                .bind(&token)
                .bind(next_due)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| super::map_unique(e, "name"))?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        self.monitor(&id).await
    }

    /// One monitor.
    pub async fn monitor(&self, id: &str) -> Result<Monitor, StoreError> {
        let sql = format!("{MONITOR_SELECT} WHERE id = $1");
        let row: Option<MonitorRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        Ok(row.ok_or(StoreError::NotFound)?.into())
    }

    /// All monitors by name.
    pub async fn monitors(&self) -> Result<Vec<Monitor>, StoreError> {
        let sql = format!("{MONITOR_SELECT} ORDER BY name");
        let rows: Vec<MonitorRow> = on_pool!(self, p => sqlx::query_as(&sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Monitor::from).collect())
    }

    /// Deletes a monitor and its results (its open alert stays, for the record).
    pub async fn delete_monitor(&self, id: &str) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query("DELETE FROM monitors WHERE id = $1")
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        super::found(n)
    }

    /// Claims monitors of `kind` whose check is due: leases them for `lease_ms` and moves their
    /// next due time one interval on, so no other instance claims them meanwhile.
    pub async fn claim_due_monitors(
        &self,
        kind: MonitorKind,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Monitor>, StoreError> {
        let lock = match self.db {
            Db::Sqlite(_) => "",
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE monitors SET lease_until = $1, next_due_at = $2 + interval_s * 1000 \
             WHERE id IN (SELECT id FROM monitors WHERE kind = $3 AND next_due_at <= $2 AND lease_until <= $2 \
             ORDER BY next_due_at LIMIT $4{lock}) RETURNING id"
        );
        let ids: Vec<(String,)> = on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            let ids = sqlx::query_as(&sql)
                .bind(now + lease_ms)
                .bind(now)
                .bind(kind.as_str())
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(ids)
        })?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{MONITOR_SELECT} WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        let rows: Vec<MonitorRow> = on_pool!(self, p => {
            let mut q = sqlx::query_as(&sql);
            for (id,) in &ids { q = q.bind(id); }
            q.fetch_all(p).await
        })?;
        Ok(rows.into_iter().map(Monitor::from).collect())
    }

    /// Records one check result and applies its consequences in one transaction: down after the
    /// threshold sets the component to major outage and opens an alert; recovery restores the
    /// component (if it still shows the outage) and resolves the alert.
    pub async fn record_check(
        &self,
        monitor_id: &str,
        ok: bool,
        latency_ms: Option<i64>,
        error: Option<&str>,
        now: i64,
    ) -> Result<MonitorStep, StoreError> {
        on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            // Lock the monitor (a no-op write): a ping and an overdue check of the same
            // heartbeat must not both work from the same old state.
            sqlx::query("UPDATE monitors SET state = state WHERE id = $1")
                .bind(monitor_id)
                .execute(&mut *tx)
                .await?;
            let row: Option<(String, String, i64, i64, Option<String>, i64)> = sqlx::query_as(
                "SELECT name, state, consecutive_fails, failure_threshold, component_id, interval_s FROM monitors WHERE id = $1")
                .bind(monitor_id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((name, state, fails, threshold, component_id, interval_s)) = row else {
                return Err(StoreError::NotFound);
            };
            let s = step(MonitorState::parse(&state), fails, threshold, ok);
            sqlx::query(
                "INSERT INTO monitor_results (monitor_id, ok, latency_ms, error, checked_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(monitor_id)
                .bind(i64::from(ok))
                .bind(latency_ms)
                .bind(error)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            // Heartbeats: a ping pushes the deadline one interval on.
            sqlx::query(
                "UPDATE monitors SET state = $1, consecutive_fails = $2, last_checked_at = $3, \
                 last_ok_at = CASE WHEN $4 = 1 THEN $3 ELSE last_ok_at END, last_error = $5, last_latency_ms = $6, \
                 lease_until = 0, \
                 next_due_at = CASE WHEN kind = 'heartbeat' AND $4 = 1 THEN $3 + $7 ELSE next_due_at END \
                 WHERE id = $8")
                .bind(s.state.as_str())
                .bind(s.consecutive_fails)
                .bind(now)
                .bind(i64::from(ok))
                .bind(error)
                .bind(latency_ms)
                .bind(interval_s * 1000)
                .bind(monitor_id)
                .execute(&mut *tx)
                .await?;
            let key = format!("monitor:{monitor_id}");
            if s.went_down {
                if let Some(cid) = &component_id {
                    apply_status!(tx, cid, ComponentStatus::MajorOutage, None::<&str>, now)?;
                }
                let open: Option<(String,)> = sqlx::query_as(
                    "SELECT id FROM alerts WHERE dedup_key = $1 AND status <> 'resolved'")
                    .bind(&key)
                    .fetch_optional(&mut *tx)
                    .await?;
                if open.is_none() {
                    sqlx::query(
                        "INSERT INTO alerts (id, source, dedup_key, summary, details, component_id, status, created_at, updated_at) \
                         VALUES ($1, 'monitor', $2, $3, $4, $5, 'triggered', $6, $6)")
                        .bind(new_id())
                        .bind(&key)
                        .bind(format!("{name} is failing"))
                        .bind(error.unwrap_or(""))
                        .bind(&component_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            if s.recovered {
                if let Some(cid) = &component_id {
                    let cur: Option<(String,)> = sqlx::query_as("SELECT status FROM components WHERE id = $1")
                        .bind(cid)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if cur.is_some_and(|(c,)| c == ComponentStatus::MajorOutage.as_str()) {
                        apply_status!(tx, cid, ComponentStatus::Operational, None::<&str>, now)?;
                    }
                }
                sqlx::query(
                    "UPDATE alerts SET status = 'resolved', resolved_at = $1, updated_at = $1 \
                     WHERE dedup_key = $2 AND status <> 'resolved'")
                    .bind(now)
                    .bind(&key)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<MonitorStep, StoreError>(s)
        })
    }

    /// The heartbeat monitor with this ping token.
    pub async fn monitor_by_token(&self, token: &str) -> Result<Monitor, StoreError> {
        let sql = format!("{MONITOR_SELECT} WHERE token = $1 AND kind = 'heartbeat'");
        let row: Option<MonitorRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(token).fetch_optional(p).await)?;
        Ok(row.ok_or(StoreError::NotFound)?.into())
    }

    /// Deletes check results older than `before` (keeps the table small).
    pub async fn prune_monitor_results(&self, before: i64) -> Result<u64, StoreError> {
        Ok(
            on_pool!(self, p => sqlx::query("DELETE FROM monitor_results WHERE checked_at < $1")
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?,
        )
    }
}

//! Paging's store: services and their integration keys, alerts in from monitoring tools, the
//! on-call incidents that group them with their timelines, and change events.
//!
//! Every write follows the seam: load the open alert and the service's open incident in the
//! transaction, ask `app::domain::oncall` what the signal (or the responder's action) does, and
//! write exactly that, with one timeline event per change (the largest event id is the version
//! live pages follow) and the live topics to announce.

use serde_json::{json, Value};

use super::tx::{sql, Tx};
use super::{map_unique, new_id, Store, StoreError};
use app::domain::escalation::{urgency_of, Change, Urgency, Wait, REASSIGN_GRACE_MIN};
use app::domain::incident::{NewIncident, NewUpdate};
use app::domain::ingest::{Action, Link, Severity, Signal};
use app::domain::live::Topic;
use app::domain::oncall::{
    on_action, on_signal, snooze_over, Act, AlertView, IncidentSnap, OncallIncident, OpenAlert,
    SignalOutcome, State, TimelineEvent, Transition,
};
use app::domain::service::{ChangeEvent, IntegrationKey, KeyKind, Service, ServiceInput};
use app::domain::ValidationError;

use super::escalation::{react_in, service_paging_in, Page};
use super::jobs::enqueue_in;

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {v:?}"))
}

fn severity(s: &str) -> Result<Severity, StoreError> {
    Severity::parse_loose(s).ok_or_else(|| corrupt("severity", s))
}

fn state(s: &str) -> Result<State, StoreError> {
    s.parse().map_err(|_| corrupt("state", s))
}

fn json_or_text(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

// ---- rows ----

#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: String,
    name: String,
    description: String,
    team_id: Option<String>,
    created_at: i64,
}

impl From<ServiceRow> for Service {
    fn from(r: ServiceRow) -> Service {
        Service {
            id: r.id,
            name: r.name,
            description: r.description,
            team_id: r.team_id,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: String,
    service_id: String,
    kind: String,
    name: String,
    key: String,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl TryFrom<KeyRow> for IntegrationKey {
    type Error = StoreError;
    fn try_from(r: KeyRow) -> Result<IntegrationKey, StoreError> {
        Ok(IntegrationKey {
            kind: r.kind.parse().map_err(|_| corrupt("key kind", &r.kind))?,
            id: r.id,
            service_id: r.service_id,
            name: r.name,
            key: r.key,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
        })
    }
}

const KEY_SELECT: &str =
    "SELECT id, service_id, kind, name, key, created_at, revoked_at FROM integration_keys";

#[derive(sqlx::FromRow)]
struct IncidentRow {
    id: String,
    number: i64,
    service_id: Option<String>,
    service_name: Option<String>,
    title: String,
    severity: String,
    status: String,
    assigned_to: Option<String>,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<String>,
    resolved_at: Option<i64>,
    resolved_by: Option<String>,
    snoozed_until: Option<i64>,
    escalation_level: i64,
    urgency: String,
    esc_wait: String,
    esc_due_at: Option<i64>,
    esc_pass: i64,
    esc_gen: i64,
    status_incident_id: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<IncidentRow> for OncallIncident {
    type Error = StoreError;
    fn try_from(r: IncidentRow) -> Result<OncallIncident, StoreError> {
        Ok(OncallIncident {
            severity: severity(&r.severity)?,
            state: state(&r.status)?,
            id: r.id,
            number: r.number,
            service_id: r.service_id,
            service_name: r.service_name,
            title: r.title,
            assigned_to: r.assigned_to,
            acknowledged_at: r.acknowledged_at,
            acknowledged_by: r.acknowledged_by,
            resolved_at: r.resolved_at,
            resolved_by: r.resolved_by,
            snoozed_until: r.snoozed_until,
            escalation_level: r.escalation_level,
            urgency: Urgency::parse(&r.urgency).ok_or_else(|| corrupt("urgency", &r.urgency))?,
            esc_wait: Wait::parse(&r.esc_wait)
                .ok_or_else(|| corrupt("escalation wait", &r.esc_wait))?,
            esc_due_at: r.esc_due_at,
            esc_pass: r.esc_pass,
            esc_gen: r.esc_gen,
            status_incident_id: r.status_incident_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const INCIDENT_SELECT: &str =
    "SELECT i.id, i.number, i.service_id, s.name AS service_name, i.title, i.severity, \
     i.status, i.assigned_to, i.acknowledged_at, i.acknowledged_by, i.resolved_at, i.resolved_by, \
     i.snoozed_until, i.escalation_level, i.urgency, i.esc_wait, i.esc_due_at, i.esc_pass, i.esc_gen, i.status_incident_id, i.created_at, i.updated_at \
     FROM oncall_incidents i LEFT JOIN services s ON s.id = i.service_id";

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: String,
    dedup_key: String,
    summary: String,
    origin: String,
    severity: String,
    status: String,
    details: String,
    links: String,
    images: String,
    event_count: i64,
    created_at: i64,
    resolved_at: Option<i64>,
}

impl TryFrom<AlertRow> for AlertView {
    type Error = StoreError;
    fn try_from(r: AlertRow) -> Result<AlertView, StoreError> {
        Ok(AlertView {
            severity: severity(&r.severity)?,
            state: state(&r.status)?,
            details: json_or_text(&r.details),
            links: serde_json::from_str(&r.links).map_err(|_| corrupt("links", &r.links))?,
            images: serde_json::from_str(&r.images).map_err(|_| corrupt("images", &r.images))?,
            id: r.id,
            dedup_key: r.dedup_key,
            summary: r.summary,
            origin: r.origin,
            event_count: r.event_count,
            created_at: r.created_at,
            resolved_at: r.resolved_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    at: i64,
    kind: String,
    actor_id: Option<String>,
    channel: String,
    alert_id: Option<String>,
    body: String,
}

impl From<EventRow> for TimelineEvent {
    fn from(r: EventRow) -> TimelineEvent {
        TimelineEvent {
            body: json_or_text(&r.body),
            id: r.id,
            at: r.at,
            kind: r.kind,
            actor_id: r.actor_id,
            channel: r.channel,
            alert_id: r.alert_id,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    id: String,
    service_id: String,
    summary: String,
    source: String,
    occurred_at: i64,
    details: String,
    links: String,
}

impl From<ChangeRow> for ChangeEvent {
    fn from(r: ChangeRow) -> ChangeEvent {
        ChangeEvent {
            details: json_or_text(&r.details),
            links: serde_json::from_str(&r.links).unwrap_or_default(),
            id: r.id,
            service_id: r.service_id,
            summary: r.summary,
            source: r.source,
            occurred_at: r.occurred_at,
        }
    }
}

// ---- what a signal is aimed at, and what became of it ----

/// Where a signal goes: its service (if any), the dedup scope (an integration key, or a
/// monitor), and the channel the timeline names.
#[derive(Debug, Clone)]
pub struct Target {
    /// The service whose incident it opens or joins; `None` records the alert only.
    pub service_id: Option<String>,
    /// The integration key it came with.
    pub key_id: Option<String>,
    /// Alerts are deduplicated per scope and dedup key (the key's id; empty for monitors).
    pub scope: String,
    /// The status-page component it concerns (monitors).
    pub component_id: Option<String>,
    /// How the timeline names where it came from ("PagerDuty event", "Alertmanager", "probe").
    pub channel: String,
    /// Stored in the alert's `source` column: `integration` or `monitor`.
    pub source: &'static str,
}

/// What became of one accepted signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The alert's dedup key (generated when the sender gave none).
    pub dedup_key: String,
    /// The alert it acted on, if any.
    pub alert_id: Option<String>,
    /// The incident it opened or touched, if any.
    pub incident_id: Option<String>,
    /// It should page (a new incident, or a new alert on a triggered one).
    pub pages: bool,
}

/// 32 random lowercase hex digits.
fn random_hex32() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// A dedup key for a trigger that named none: 32 lowercase hex digits, as PagerDuty makes.
pub fn generated_dedup_key() -> String {
    random_hex32()
}

/// Adds a timeline event to an incident and marks it (and the list) changed.
#[expect(
    clippy::too_many_arguments,
    reason = "one column each; every caller names them all"
)]
pub(crate) async fn add_event(
    tx: &mut Tx,
    incident_id: &str,
    kind: &str,
    actor: Option<&str>,
    channel: &str,
    alert_id: Option<&str>,
    body: &Value,
    now: i64,
) -> Result<(), StoreError> {
    // The incident row first: writers of one incident queue on its lock before they take an
    // event id, so its events' ids follow commit order (its page's version never skips one).
    if tx.first_time(format!("incident:{incident_id}")) {
        let due: Option<(Option<i64>,)> = tx
            .fetch_optional(
                sql("UPDATE oncall_incidents SET updated_at = $1 WHERE id = $2 RETURNING esc_due_at")
                    .bind(now)
                    .bind(incident_id),
            )
            .await?;
        wake_if_due(tx, due.and_then(|(at,)| at), now);
    }
    tx.execute(
        sql(
            "INSERT INTO oncall_events (incident_id, at, kind, actor_id, channel, alert_id, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(incident_id)
        .bind(now)
        .bind(kind)
        .bind(actor)
        .bind(channel)
        .bind(alert_id)
        .bind(body.to_string()),
    )
    .await?;
    tx.announce(Topic::OncallIncident(incident_id.to_string()));
    tx.announce(Topic::Oncall);
    Ok(())
}

/// For a writer that holds an incident's row lock: an escalation round passes over rows locked
/// by others (PostgreSQL's `SKIP LOCKED`), so an incident due now (`esc_due_at`) gets its round
/// once this transaction commits, not at the next tick.
fn wake_if_due(tx: &mut Tx, esc_due_at: Option<i64>, now: i64) {
    if esc_due_at.is_some_and(|at| at <= now) {
        tx.wake(super::Work::Escalation);
    }
}

/// Takes a service's row lock for the rest of the transaction.
pub(crate) async fn lock_service(tx: &mut Tx, service_id: &str) -> Result<(), StoreError> {
    if tx.first_time(format!("service:{service_id}")) {
        tx.execute(
            sql("UPDATE services SET updated_at = updated_at WHERE id = $1").bind(service_id),
        )
        .await?;
    }
    Ok(())
}

/// The open incident `where_clause` finds (with `$1` = `arg`), with its severity.
async fn open_incident_snap(
    tx: &mut Tx,
    where_clause: &str,
    arg: &str,
) -> Result<Option<(IncidentSnap, Severity)>, StoreError> {
    let row: Option<(String, String, i64, String)> = tx
        .fetch_optional(
            sql(format!(
                // Open alerts counted up to 2 (the rules ask "is this the last one?"): a full
                // count made every alert of a storm read all the alerts before it.
                "SELECT i.id, i.status, (SELECT COUNT(*) FROM (SELECT 1 FROM alerts a \
                 WHERE a.incident_id = i.id AND a.status <> 'resolved' LIMIT 2) open_alerts), i.severity \
                 FROM oncall_incidents i WHERE {where_clause} AND i.status <> 'resolved' \
                 ORDER BY i.created_at DESC LIMIT 1"
            ))
            .bind(arg),
        )
        .await?;
    row.map(|(id, s, n, sev)| {
        Ok((
            IncidentSnap {
                id,
                state: state(&s)?,
                open_alerts: n,
            },
            severity(&sev)?,
        ))
    })
    .transpose()
}

/// Applies one signal in `tx`: the one path by which alerts open, repeat, acknowledge and
/// resolve, whether they came from an integration or a built-in monitor.
pub(crate) async fn apply_signal(
    tx: &mut Tx,
    target: &Target,
    signal: &Signal,
    now: i64,
) -> Result<Applied, StoreError> {
    let dedup_key = signal.dedup_key.clone().unwrap_or_else(generated_dedup_key);
    // Everything that decides about a service's alerts and incidents (ingestion, monitors,
    // responders' actions) holds its row lock first, so no decision reads a state another
    // transaction is changing (a no-op when this transaction holds it already).
    if let Some(sid) = &target.service_id {
        lock_service(tx, sid).await?;
    }
    let open_row: Option<(String, String, Option<String>)> = tx
        .fetch_optional(
            sql("SELECT id, status, incident_id FROM alerts \
                 WHERE scope = $1 AND dedup_key = $2 AND status <> 'resolved'")
            .bind(&target.scope)
            .bind(&dedup_key),
        )
        .await?;
    let open = match open_row {
        Some((id, s, incident_id)) => {
            let incident = match &incident_id {
                Some(iid) => open_incident_snap(tx, "i.id = $1", iid)
                    .await?
                    .map(|(i, _)| i),
                None => None,
            };
            if incident_id.is_some() && incident.is_none() {
                // Its incident was resolved without it (written before this lock existed):
                // the alert is over too, and the signal is judged as if it were not there.
                tx.execute(
                    sql("UPDATE alerts SET status = 'resolved', resolved_at = $1, updated_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(&id),
                )
                .await?;
                None
            } else {
                Some(OpenAlert {
                    id,
                    state: state(&s)?,
                    incident,
                })
            }
        }
        None => None,
    };
    let service_open_full = match (&target.service_id, signal.action, &open) {
        (Some(sid), Action::Trigger, None) => {
            open_incident_snap(tx, "i.service_id = $1", sid).await?
        }
        _ => None,
    };
    let (service_open, open_severity) = match service_open_full {
        Some((snap, sev)) => (Some(snap), Some(sev)),
        None => (None, None),
    };
    let outcome = on_signal(signal.action, open.as_ref(), service_open.as_ref());
    let mut applied = Applied {
        dedup_key: dedup_key.clone(),
        alert_id: None,
        incident_id: None,
        pages: false,
    };
    let alert_body = || {
        json!({
            "summary": signal.summary,
            "severity": signal.severity.as_str(),
            "source": signal.source,
        })
    };
    match outcome {
        SignalOutcome::Ignore => {}
        SignalOutcome::Open { join } => {
            let alert_id = new_id();
            let incident_id = match (&target.service_id, join) {
                (_, Some(iid)) => {
                    // Loaded with the decision, in this transaction.
                    applied.pages = service_open
                        .as_ref()
                        .is_some_and(|i| i.state == State::Triggered);
                    // The incident's severity is its worst alert's (`Severity` orders them).
                    if open_severity.is_some_and(|now| signal.severity > now) {
                        tx.execute(
                            sql("UPDATE oncall_incidents SET severity = $1 WHERE id = $2")
                                .bind(signal.severity.as_str())
                                .bind(&iid),
                        )
                        .await?;
                        if let Some(sid) = &target.service_id {
                            let paging = service_paging_in(tx, sid).await?;
                            if urgency_of(signal.severity, paging.high_urgency_from)
                                == Urgency::High
                            {
                                // Now high urgency: an incident waiting for working hours pages now.
                                tx.execute(
                                    sql("UPDATE oncall_incidents SET urgency = 'high', \
                                         esc_due_at = CASE WHEN esc_wait = 'hold' THEN $1 ELSE esc_due_at END \
                                         WHERE id = $2 AND urgency = 'low'")
                                        .bind(now)
                                        .bind(&iid),
                                )
                                .await?;
                                tx.wake(super::Work::Escalation);
                            }
                        }
                    }
                    Some(iid)
                }
                (Some(sid), None) => {
                    let iid = new_id();
                    let (number,): (i64,) = tx
                        .fetch_one(sql(
                            "UPDATE counters SET value = value + 1 WHERE name = 'oncall_incident' RETURNING value",
                        ))
                        .await?;
                    let paging = service_paging_in(tx, sid).await?;
                    let urgency = urgency_of(signal.severity, paging.high_urgency_from);
                    tx.execute(
                        sql("INSERT INTO oncall_incidents (id, number, service_id, title, severity, status, created_at, updated_at, urgency) \
                             VALUES ($1, $2, $3, $4, $5, 'triggered', $6, $6, $7)")
                        .bind(&iid)
                        .bind(number)
                        .bind(sid)
                        .bind(&signal.summary)
                        .bind(signal.severity.as_str())
                        .bind(now)
                        .bind(urgency.as_str()),
                    )
                    .await?;
                    add_event(
                        tx,
                        &iid,
                        "opened",
                        None,
                        &target.channel,
                        None,
                        &json!({}),
                        now,
                    )
                    .await?;
                    applied.pages = true;
                    Some(iid)
                }
                (None, None) => None,
            };
            tx.execute(
                sql("INSERT INTO alerts (id, source, dedup_key, summary, details, component_id, status, created_at, updated_at, \
                     service_id, key_id, incident_id, severity, origin, links, images, event_count, scope) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'triggered', $7, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15)")
                .bind(&alert_id)
                .bind(target.source)
                .bind(&dedup_key)
                .bind(&signal.summary)
                .bind(details_text(&signal.details))
                .bind(&target.component_id)
                .bind(signal.occurred_at.unwrap_or(now).min(now))
                .bind(&target.service_id)
                .bind(&target.key_id)
                .bind(&incident_id)
                .bind(signal.severity.as_str())
                .bind(&signal.source)
                .bind(json!(signal.links).to_string())
                .bind(json!(signal.images).to_string())
                .bind(&target.scope),
            )
            .await?;
            if let Some(iid) = &incident_id {
                add_event(
                    tx,
                    iid,
                    "alert_triggered",
                    None,
                    &target.channel,
                    Some(&alert_id),
                    &alert_body(),
                    now,
                )
                .await?;
            }
            if let (Some(iid), Some(sid)) = (&incident_id, &target.service_id) {
                refresh_auto_resolve(tx, iid, sid, now).await?;
            }
            if let (Some(iid), None) = (&incident_id, &service_open) {
                // A new incident starts escalating (after its first alert is on the timeline).
                react_in(tx, iid, Change::Opened, now).await?;
            }
            applied.alert_id = Some(alert_id);
            applied.incident_id = incident_id;
        }
        SignalOutcome::Repeat { alert, incident } => {
            tx.execute(
                sql("UPDATE alerts SET event_count = event_count + 1, updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(&alert),
            )
            .await?;
            if let Some(iid) = &incident {
                let mut body = alert_body();
                body["details"] = signal.details.clone();
                add_event(
                    tx,
                    iid,
                    "alert_repeated",
                    None,
                    &target.channel,
                    Some(&alert),
                    &body,
                    now,
                )
                .await?;
            }
            if let (Some(iid), Some(sid)) = (&incident, &target.service_id) {
                refresh_auto_resolve(tx, iid, sid, now).await?;
            }
            applied.alert_id = Some(alert);
            applied.incident_id = incident;
        }
        SignalOutcome::Acknowledge { alert, incident }
        | SignalOutcome::Resolve { alert, incident } => {
            // Only a resolve signal is ever decided a `Resolve`, an acknowledge an `Acknowledge`.
            let to = if signal.action == Action::Resolve {
                State::Resolved
            } else {
                State::Acknowledged
            };
            let parent = open.as_ref().and_then(|a| a.incident.as_ref());
            let parent = parent.map(|i| i.id.clone());
            source_closes(
                tx,
                target,
                &alert,
                parent.as_deref(),
                incident.as_deref(),
                to,
                now,
            )
            .await?;
            applied.alert_id = Some(alert);
            applied.incident_id = parent;
        }
    }
    Ok(applied)
}

/// A new alert on an incident: its auto-resolve (if its service has one) counts from now.
async fn refresh_auto_resolve(
    tx: &mut Tx,
    incident_id: &str,
    service_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    tx.execute(
        sql(
            "UPDATE oncall_incidents SET auto_resolve_at = $1 + 60000 * \
             (SELECT auto_resolve_min FROM services WHERE id = $2) WHERE id = $3",
        )
        .bind(now)
        .bind(service_id)
        .bind(incident_id),
    )
    .await?;
    Ok(())
}

/// The source acknowledged or resolved `alert` (`to`): the alert moves, its incident `parent`
/// notes it, and `incident` (the parent, when the rules say it moves too) follows, by its source.
async fn source_closes(
    tx: &mut Tx,
    target: &Target,
    alert: &str,
    parent: Option<&str>,
    incident: Option<&str>,
    to: State,
    now: i64,
) -> Result<(), StoreError> {
    let (alert_sql, incident_sql) = match to {
        State::Resolved => (
            "UPDATE alerts SET status = 'resolved', resolved_at = $1, updated_at = $1 WHERE id = $2",
            "UPDATE oncall_incidents SET status = 'resolved', resolved_at = $1, resolved_by = NULL, \
             snoozed_until = NULL, auto_resolve_at = NULL WHERE id = $2",
        ),
        _ => (
            "UPDATE alerts SET status = 'acknowledged', updated_at = $1 WHERE id = $2",
            "UPDATE oncall_incidents SET status = 'acknowledged', acknowledged_at = $1, acknowledged_by = NULL, \
             snoozed_until = NULL WHERE id = $2",
        ),
    };
    tx.execute(sql(alert_sql).bind(now).bind(alert)).await?;
    let channel = &target.channel;
    if let Some(iid) = parent {
        let kind = format!("alert_{}", to.as_str());
        add_event(tx, iid, &kind, None, channel, Some(alert), &json!({}), now).await?;
    }
    if let Some(iid) = incident {
        tx.execute(sql(incident_sql).bind(now).bind(iid)).await?;
        let change = match to {
            State::Resolved => Change::Resolved,
            _ => Change::Acknowledged,
        };
        react_in(tx, iid, change, now).await?;
        add_event(
            tx,
            iid,
            to.as_str(),
            None,
            channel,
            Some(alert),
            &json!({}),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Details as stored: a JSON text, or the text itself for a plain string (old probe errors).
fn details_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One event for [`Store::ingest`]: the key it came with, and what it says.
#[derive(Debug, Clone)]
pub enum Ingest {
    /// An alert signal.
    Signal {
        /// The key's id.
        key_id: String,
        /// What it says.
        signal: Signal,
        /// Alerts the sender left out of this batch (Alertmanager's `truncatedAlerts`), noted
        /// on the incident.
        truncated: u64,
    },
    /// A change event.
    Change {
        /// The key's id.
        key_id: String,
        /// What changed.
        summary: String,
        /// Where.
        source: String,
        /// When (the sender's time), Unix ms.
        occurred_at: Option<i64>,
        /// What else it said.
        details: Value,
        /// Links.
        links: Vec<Link>,
    },
}

/// What became of one [`Ingest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Stored (or accepted and ignored, as the format says), with the alert's dedup key.
    Accepted(Option<Applied>),
    /// The key was revoked (or deleted) after the request was checked: nothing stored.
    KeyGone,
}

impl Store {
    // ---- services ----

    /// Every service, by name.
    pub async fn services(&self) -> Result<Vec<Service>, StoreError> {
        let rows: Vec<ServiceRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, name, description, team_id, created_at FROM services ORDER BY name")
            .fetch_all(p).await)?;
        Ok(rows.into_iter().map(Service::from).collect())
    }

    /// One service.
    pub async fn service(&self, id: &str) -> Result<Service, StoreError> {
        let row: Option<ServiceRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, name, description, team_id, created_at FROM services WHERE id = $1")
            .bind(id).fetch_optional(p).await)?;
        row.map(Service::from).ok_or(StoreError::NotFound)
    }

    async fn check_team(tx: &mut Tx, team_id: &str) -> Result<(), StoreError> {
        if team_id.is_empty() {
            return Ok(());
        }
        // A no-op write: it locks the team, so a concurrent delete of the team either waits
        // for this service or has already removed the team (and this fails).
        let n = tx
            .execute(sql("UPDATE teams SET name = name WHERE id = $1").bind(team_id))
            .await?;
        if n == 0 {
            return Err(ValidationError::new("team_id", "no such team").into());
        }
        Ok(())
    }

    /// Creates a service from a normalized input.
    pub async fn create_service(&self, s: &ServiceInput, now: i64) -> Result<Service, StoreError> {
        let id = new_id();
        let mut tx = self.begin().await?;
        Self::check_team(&mut tx, &s.team_id).await?;
        tx.execute(
            sql("INSERT INTO services (id, name, description, team_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
                .bind(&id)
                .bind(&s.name)
                .bind(&s.description)
                .bind((!s.team_id.is_empty()).then_some(s.team_id.as_str()))
                .bind(now),
        )
        .await
        .map_err(|e| map_unique(e, "name"))?;
        tx.commit().await?;
        self.service(&id).await
    }

    /// Renames a service or changes its description or team.
    pub async fn update_service(
        &self,
        id: &str,
        s: &ServiceInput,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        Self::check_team(&mut tx, &s.team_id).await?;
        let n = tx
            .execute(
                sql("UPDATE services SET name = $1, description = $2, team_id = $3, updated_at = $4 WHERE id = $5")
                    .bind(&s.name)
                    .bind(&s.description)
                    .bind((!s.team_id.is_empty()).then_some(s.team_id.as_str()))
                    .bind(now)
                    .bind(id),
            )
            .await
            .map_err(|e| map_unique(e, "name"))?;
        super::found(n)?;
        tx.commit().await
    }

    // ---- integration keys ----

    /// Creates an integration key of `kind` on a service, with a fresh 32-character secret.
    pub async fn create_key(
        &self,
        service_id: &str,
        kind: KeyKind,
        name: &str,
        now: i64,
    ) -> Result<IntegrationKey, StoreError> {
        let id = new_id();
        let mut tx = self.begin().await?;
        let s: Option<(String,)> = tx
            .fetch_optional(sql("SELECT id FROM services WHERE id = $1").bind(service_id))
            .await?;
        s.ok_or(StoreError::NotFound)?;
        tx.execute(
            sql("INSERT INTO integration_keys (id, service_id, kind, name, key, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&id)
                .bind(service_id)
                .bind(kind.as_str())
                .bind(name)
                // The secret senders present (like a PagerDuty routing key).
                .bind(random_hex32())
                .bind(now),
        )
        .await?;
        tx.commit().await?;
        self.key(&id).await
    }

    /// One key by id.
    pub async fn key(&self, id: &str) -> Result<IntegrationKey, StoreError> {
        let q = format!("{KEY_SELECT} WHERE id = $1");
        let row: Option<KeyRow> =
            on_pool!(self, p => sqlx::query_as(&q).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// The key whose secret is `secret`, revoked or not.
    pub async fn key_by_secret(&self, secret: &str) -> Result<Option<IntegrationKey>, StoreError> {
        let q = format!("{KEY_SELECT} WHERE key = $1");
        let row: Option<KeyRow> =
            on_pool!(self, p => sqlx::query_as(&q).bind(secret).fetch_optional(p).await)?;
        row.map(IntegrationKey::try_from).transpose()
    }

    /// A service's keys, newest first.
    pub async fn keys(&self, service_id: &str) -> Result<Vec<IntegrationKey>, StoreError> {
        let q = format!("{KEY_SELECT} WHERE service_id = $1 ORDER BY created_at DESC, id");
        let rows: Vec<KeyRow> =
            on_pool!(self, p => sqlx::query_as(&q).bind(service_id).fetch_all(p).await)?;
        rows.into_iter().map(IntegrationKey::try_from).collect()
    }

    /// Revokes a key: events with it are refused from now on.
    pub async fn revoke_key(&self, service_id: &str, id: &str, now: i64) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE integration_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND service_id = $3")
            .bind(now).bind(id).bind(service_id).execute(p).await.map(|r| r.rows_affected()))?;
        super::found(n)
    }

    // ---- ingestion ----

    /// Applies a batch of accepted events in one transaction (one durable commit for all), in
    /// order. Each key is checked again inside the transaction, so a key revoked meanwhile
    /// stores nothing. On error nothing of the batch is stored.
    pub async fn ingest(
        &self,
        batch: &[Ingest],
        now: i64,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let mut tx = self.begin().await?;
        // Lock the batch's services first, in id order: a concurrent commit for the same
        // service (PostgreSQL runs several) then waits and sees this one's alerts and incident,
        // instead of opening a second alert for the dedup key (a unique violation, so a 503)
        // or a second incident. One order for all, so two commits cannot deadlock.
        let mut key_ids: Vec<&str> = batch
            .iter()
            .map(|i| match i {
                Ingest::Signal { key_id, .. } | Ingest::Change { key_id, .. } => key_id.as_str(),
            })
            .collect();
        key_ids.sort_unstable();
        key_ids.dedup();
        // Each key once, checked again in this transaction: one revoked meanwhile stores nothing.
        let mut keys = std::collections::HashMap::new();
        for key_id in key_ids {
            let k: Option<(String, String, Option<i64>)> = tx
                .fetch_optional(
                    sql("SELECT service_id, kind, revoked_at FROM integration_keys WHERE id = $1")
                        .bind(key_id),
                )
                .await?;
            if let Some(k) = k {
                keys.insert(key_id.to_string(), k);
            }
        }
        let mut service_ids: Vec<&str> = keys.values().map(|(sid, _, _)| sid.as_str()).collect();
        service_ids.sort_unstable();
        service_ids.dedup();
        let service_ids: Vec<String> = service_ids.into_iter().map(str::to_string).collect();
        for sid in &service_ids {
            lock_service(&mut tx, sid).await?;
        }
        let mut out = Vec::with_capacity(batch.len());
        for item in batch {
            let key_id = match item {
                Ingest::Signal { key_id, .. } | Ingest::Change { key_id, .. } => key_id,
            };
            let Some((service_id, kind, None)) = keys.get(key_id).cloned() else {
                out.push(IngestOutcome::KeyGone);
                continue;
            };
            let kind: KeyKind = kind.parse().map_err(|_| corrupt("key kind", &kind))?;
            match item {
                Ingest::Signal {
                    signal, truncated, ..
                } => {
                    let target = Target {
                        service_id: Some(service_id),
                        key_id: Some(key_id.clone()),
                        scope: key_id.clone(),
                        component_id: None,
                        channel: kind.channel().to_string(),
                        source: "integration",
                    };
                    let applied = apply_signal(&mut tx, &target, signal, now).await?;
                    if *truncated > 0 {
                        if let Some(iid) = &applied.incident_id {
                            add_event(
                                &mut tx,
                                iid,
                                "alerts_truncated",
                                None,
                                kind.channel(),
                                None,
                                &json!({ "count": truncated }),
                                now,
                            )
                            .await?;
                        }
                    }
                    out.push(IngestOutcome::Accepted(Some(applied)));
                }
                Ingest::Change {
                    summary,
                    source,
                    occurred_at,
                    details,
                    links,
                    ..
                } => {
                    tx.execute(
                        sql("INSERT INTO change_events (id, service_id, key_id, summary, source, occurred_at, received_at, details, links) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                        .bind(new_id())
                        .bind(&service_id)
                        .bind(key_id)
                        .bind(summary)
                        .bind(source)
                        .bind(occurred_at.unwrap_or(now))
                        .bind(now)
                        .bind(details.to_string())
                        .bind(json!(links).to_string()),
                    )
                    .await?;
                    out.push(IngestOutcome::Accepted(None));
                }
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Change events on a service between `from` and `to`, newest first.
    pub async fn changes(
        &self,
        service_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ChangeEvent>, StoreError> {
        let rows: Vec<ChangeRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, service_id, summary, source, occurred_at, details, links FROM change_events \
             WHERE service_id = $1 AND occurred_at >= $2 AND occurred_at <= $3 ORDER BY occurred_at DESC LIMIT 50")
            .bind(service_id).bind(from).bind(to).fetch_all(p).await)?;
        Ok(rows.into_iter().map(ChangeEvent::from).collect())
    }

    // ---- on-call incidents ----

    /// On-call incidents, open ones first, newest first within each; filtered by state,
    /// service and owning team.
    pub async fn oncall_incidents(
        &self,
        f: &OncallFilter,
    ) -> Result<Vec<OncallIncident>, StoreError> {
        let mut q = format!("{INCIDENT_SELECT} WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        let mut push = |cond: &str, v: &str, q: &mut String| {
            args.push(v.to_string());
            q.push_str(&cond.replace("$?", &format!("${}", args.len())));
        };
        if let Some(s) = f.state {
            push(" AND i.status = $?", s.as_str(), &mut q);
        } else if f.open_only {
            q.push_str(" AND i.status <> 'resolved'");
        }
        if let Some(s) = &f.service_id {
            push(" AND i.service_id = $?", s, &mut q);
        }
        if let Some(t) = &f.team_id {
            push(" AND s.team_id = $?", t, &mut q);
        }
        q.push_str(&format!(
            " ORDER BY CASE WHEN i.status = 'resolved' THEN 1 ELSE 0 END, i.created_at DESC, i.number DESC LIMIT {}",
            f.limit.clamp(1, 500)
        ));
        let rows: Vec<IncidentRow> = on_pool!(self, p => {
            let mut query = sqlx::query_as(&q);
            for a in &args {
                query = query.bind(a);
            }
            query.fetch_all(p).await
        })?;
        rows.into_iter().map(OncallIncident::try_from).collect()
    }

    /// One on-call incident.
    pub async fn oncall_incident(&self, id: &str) -> Result<OncallIncident, StoreError> {
        let q = format!("{INCIDENT_SELECT} WHERE i.id = $1");
        let row: Option<IncidentRow> =
            on_pool!(self, p => sqlx::query_as(&q).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// How many on-call incidents are open.
    pub async fn open_oncall_count(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*) FROM oncall_incidents WHERE status IN ('triggered', 'acknowledged')").fetch_one(p).await)?;
        Ok(n)
    }

    /// An incident's alerts, oldest first.
    pub async fn incident_alerts(&self, incident_id: &str) -> Result<Vec<AlertView>, StoreError> {
        let rows: Vec<AlertRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, dedup_key, summary, origin, severity, status, details, links, images, event_count, created_at, resolved_at \
             FROM alerts WHERE incident_id = $1 ORDER BY created_at, id")
            .bind(incident_id).fetch_all(p).await)?;
        rows.into_iter().map(AlertView::try_from).collect()
    }

    /// An incident's timeline, in order.
    pub async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEvent>, StoreError> {
        let rows: Vec<EventRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, at, kind, actor_id, channel, alert_id, body FROM oncall_events WHERE incident_id = $1 ORDER BY id")
            .bind(incident_id).fetch_all(p).await)?;
        Ok(rows.into_iter().map(TimelineEvent::from).collect())
    }

    /// The version of an incident's page (its newest event's id), or of the whole list when
    /// `incident_id` is `None`. Every instance computes the same value.
    pub async fn oncall_version(&self, incident_id: Option<&str>) -> Result<String, StoreError> {
        // The newest id, and how many events the newest thousand ids hold: on PostgreSQL an
        // event can commit after one with a larger id (another incident's), and the count
        // still changes then. One incident's events are in commit order (see `add_event`).
        let (max, n): (Option<i64>, i64) = match incident_id {
            Some(id) => on_pool!(self, p => sqlx::query_as(
                "SELECT MAX(id), COUNT(*) FROM oncall_events WHERE incident_id = $1").bind(id).fetch_one(p).await)?,
            None => on_pool!(self, p => sqlx::query_as(
                "SELECT MAX(id), COUNT(*) FROM oncall_events \
                 WHERE id > (SELECT COALESCE(MAX(id), 0) - 1000 FROM oncall_events)").fetch_one(p).await)?,
        };
        Ok(format!("{}.{n}", max.unwrap_or(0)))
    }

    /// A responder's action on an on-call incident, through `channel` (`web`, `api`). Returns
    /// what it did; an action with nothing to do (a second acknowledgement) records nothing.
    pub async fn act_on_incident(
        &self,
        id: &str,
        actor: &str,
        channel: &str,
        act: &Act,
        now: i64,
    ) -> Result<Transition, StoreError> {
        let mut tx = self.begin().await?;
        let t = act_in(&mut tx, id, actor, channel, act, now).await?;
        tx.commit().await?;
        Ok(t)
    }

    /// A one-tap link's action: remembers the link's `nonce` as used (until `expires_at`) and
    /// acts as [`Store::act_on_incident`] does, in one transaction, so a link is spent exactly
    /// when its action is recorded. [`LinkUse::Used`] when the nonce was used before (nothing
    /// changes); [`LinkUse::Unchanged`] when there was nothing to do (someone else acknowledged
    /// or resolved it first), with the incident as it stands.
    #[expect(clippy::too_many_arguments, reason = "one link's facts")]
    pub async fn act_by_link(
        &self,
        nonce: &str,
        expires_at: i64,
        id: &str,
        actor: &str,
        channel: &str,
        act: &Act,
        now: i64,
    ) -> Result<LinkUse, StoreError> {
        let mut tx = self.begin().await?;
        let fresh: Option<(String,)> = tx
            .fetch_optional(
                sql("INSERT INTO action_link_uses (nonce, used_at, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (nonce) DO NOTHING RETURNING nonce")
                .bind(nonce)
                .bind(now)
                .bind(expires_at),
            )
            .await?;
        if fresh.is_none() {
            return Ok(LinkUse::Used);
        }
        let changed = match act_in(&mut tx, id, actor, channel, act, now).await {
            Ok(t) => t.changed,
            // Nothing to do in its state (acknowledging a resolved incident): said as such.
            Err(StoreError::Invalid(_)) => false,
            Err(e) => return Err(e),
        };
        let q = format!("{INCIDENT_SELECT} WHERE i.id = $1");
        let row: IncidentRow = tx.fetch_one(sql(q).bind(id)).await?;
        let inc = OncallIncident::try_from(row)?;
        tx.commit().await?;
        Ok(if changed {
            LinkUse::Acted(inc)
        } else {
            LinkUse::Unchanged(inc)
        })
    }

    /// Whether the one-tap link with `nonce` was used.
    pub async fn link_used(&self, nonce: &str) -> Result<bool, StoreError> {
        let row: Option<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT nonce FROM action_link_uses WHERE nonce = $1")
            .bind(nonce)
            .fetch_optional(p)
            .await)?;
        Ok(row.is_some())
    }

    /// Forgets used one-tap links that expired before `before` (they are refused as expired).
    pub async fn prune_link_uses(&self, before: i64) -> Result<u64, StoreError> {
        Ok(
            on_pool!(self, p => sqlx::query("DELETE FROM action_link_uses WHERE expires_at < $1")
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?,
        )
    }

    /// Triggers again every snoozed incident whose snooze is over. Returns how many.
    pub async fn wake_snoozed(&self, now: i64) -> Result<usize, StoreError> {
        // Every tick asks; only a due snooze takes the write lock.
        let (due,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*) FROM oncall_incidents WHERE status = 'acknowledged' AND snoozed_until <= $1")
            .bind(now).fetch_one(p).await)?;
        if due == 0 {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        let due: Vec<IncidentRow> = tx
            .fetch_all(
                sql(format!(
                    "{INCIDENT_SELECT} WHERE i.status = 'acknowledged' AND i.snoozed_until <= $1"
                ))
                .bind(now),
            )
            .await?;
        let mut woken = 0;
        for row in due {
            let inc = OncallIncident::try_from(row)?;
            if !snooze_over(&inc.now(), now) {
                continue;
            }
            // Only if it is still snoozed: a responder (or another instance) may have acted
            // since it was read.
            let n = tx
                .execute(
                    sql(
                        "UPDATE oncall_incidents SET status = 'triggered', snoozed_until = NULL \
                         WHERE id = $1 AND status = 'acknowledged' AND snoozed_until <= $2",
                    )
                    .bind(&inc.id)
                    .bind(now),
                )
                .await?;
            if n == 1 {
                react_in(&mut tx, &inc.id, Change::Retriggered, now).await?;
                add_event(
                    &mut tx,
                    &inc.id,
                    "snooze_ended",
                    None,
                    "",
                    None,
                    &json!({}),
                    now,
                )
                .await?;
                woken += 1;
            }
        }
        tx.commit().await?;
        Ok(woken)
    }

    /// Posts to the public status page from an on-call incident: opens a public incident (when
    /// none is linked, or the linked one is closed) or adds an update to the linked one, links
    /// both ways and records the post on the on-call timeline, all in one transaction. `new`
    /// is used to open, `update` to add. Returns the public incident's id.
    pub async fn post_status_from_oncall(
        &self,
        oncall_id: &str,
        actor: &str,
        new: &NewIncident,
        update: &NewUpdate,
        now: i64,
    ) -> Result<String, StoreError> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                sql("UPDATE oncall_incidents SET status = status WHERE id = $1").bind(oncall_id),
            )
            .await?;
        super::found(n)?;
        let linked: Option<(String,)> = tx
            .fetch_optional(
                sql("SELECT p.id FROM oncall_incidents o JOIN incidents p ON p.id = o.status_incident_id \
                     WHERE o.id = $1 AND p.status NOT IN ('resolved', 'postmortem', 'completed')")
                .bind(oncall_id),
            )
            .await?;
        let (public_id, status) = match linked {
            Some((pid,)) => {
                super::incidents::add_update_in(&mut tx, &pid, update, None, Some(actor), now)
                    .await?;
                (pid, update.status.as_str())
            }
            None => (
                super::incidents::create_incident_in(&mut tx, new, Some(actor), now).await?,
                new.status.as_str(),
            ),
        };
        Self::note_status_post(&mut tx, oncall_id, &public_id, status, actor, now).await?;
        tx.commit().await?;
        Ok(public_id)
    }

    /// Links an on-call incident to the public status-page incident it opened or updated, and
    /// records the post on its timeline, in `tx`.
    async fn note_status_post(
        tx: &mut Tx,
        oncall_id: &str,
        status_incident_id: &str,
        status: &str,
        actor: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        tx.execute(
            sql("UPDATE oncall_incidents SET status_incident_id = $1 WHERE id = $2")
                .bind(status_incident_id)
                .bind(oncall_id),
        )
        .await?;
        add_event(
            tx,
            oncall_id,
            "status_posted",
            Some(actor),
            "web",
            None,
            &json!({ "status": status, "status_incident_id": status_incident_id }),
            now,
        )
        .await
    }

    /// The on-call incidents linked to a public status-page incident.
    pub async fn oncall_for_status_incident(
        &self,
        status_incident_id: &str,
    ) -> Result<Vec<OncallIncident>, StoreError> {
        let q = format!("{INCIDENT_SELECT} WHERE i.status_incident_id = $1 ORDER BY i.number");
        let rows: Vec<IncidentRow> =
            on_pool!(self, p => sqlx::query_as(&q).bind(status_incident_id).fetch_all(p).await)?;
        rows.into_iter().map(OncallIncident::try_from).collect()
    }
}

/// Which on-call incidents to list.
#[derive(Debug, Clone, Default)]
pub struct OncallFilter {
    /// Only this state.
    pub state: Option<State>,
    /// Only open ones (when no state is given).
    pub open_only: bool,
    /// Only this service's.
    pub service_id: Option<String>,
    /// Only services this team owns.
    pub team_id: Option<String>,
    /// At most this many.
    pub limit: i64,
}

/// What a one-tap link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkUse {
    /// It was used before: nothing changed.
    Used,
    /// Its action was done; the incident after it.
    Acted(OncallIncident),
    /// There was nothing to do (someone else acknowledged or resolved it first); the incident.
    Unchanged(OncallIncident),
}

/// A responder's action in the caller's transaction (see [`Store::act_on_incident`]).
async fn act_in(
    tx: &mut Tx,
    id: &str,
    actor: &str,
    channel: &str,
    act: &Act,
    now: i64,
) -> Result<Transition, StoreError> {
    // Locks in the one order (service, then incident): a signal for the same service waits
    // for this action and sees its result, and two responders' actions queue up.
    let svc: Option<(Option<String>,)> = tx
        .fetch_optional(sql("SELECT service_id FROM oncall_incidents WHERE id = $1").bind(id))
        .await?;
    let (svc,) = svc.ok_or(StoreError::NotFound)?;
    if let Some(sid) = &svc {
        lock_service(tx, sid).await?;
    }
    let due: Option<(Option<i64>,)> = tx
        .fetch_optional(
            sql("UPDATE oncall_incidents SET status = status WHERE id = $1 RETURNING esc_due_at")
                .bind(id),
        )
        .await?;
    let (due,) = due.ok_or(StoreError::NotFound)?;
    wake_if_due(tx, due, now);
    let q = format!("{INCIDENT_SELECT} WHERE i.id = $1");
    let row: IncidentRow = tx.fetch_one(sql(q).bind(id)).await?;
    let inc = OncallIncident::try_from(row)?;
    if let Act::Reassign(user) = act {
        let u: Option<(String,)> = tx
            .fetch_optional(
                sql("SELECT id FROM users WHERE id = $1 AND deactivated_at IS NULL AND role <> 'viewer'")
                    .bind(user),
            )
            .await?;
        if u.is_none() {
            return Err(
                ValidationError::new("user", "no active responder or admin with this id").into(),
            );
        }
    }
    let t = on_action(&inc.now(), act, now)?;
    if !t.changed {
        return Ok(t);
    }
    let next = &t.next;
    // A note changes nothing but the timeline.
    let moved = !matches!(act, Act::Note(_));
    if moved {
        tx.execute(
        sql("UPDATE oncall_incidents SET status = $1, assigned_to = $2, snoozed_until = $3, \
             auto_resolve_at = CASE WHEN $1 = 'resolved' THEN NULL ELSE auto_resolve_at END, \
             acknowledged_at = CASE WHEN $1 = 'acknowledged' AND status <> 'acknowledged' THEN $4 ELSE acknowledged_at END, \
             acknowledged_by = CASE WHEN $1 = 'acknowledged' AND status <> 'acknowledged' THEN $5 ELSE acknowledged_by END, \
             resolved_at = CASE WHEN $1 <> 'resolved' THEN NULL WHEN status = 'resolved' THEN resolved_at ELSE $4 END, \
             resolved_by = CASE WHEN $1 <> 'resolved' THEN NULL WHEN status = 'resolved' THEN resolved_by ELSE $5 END \
             WHERE id = $6")
        .bind(next.state.as_str())
        .bind(&next.assigned_to)
        .bind(next.snoozed_until)
        .bind(now)
        .bind(actor)
        .bind(id),
    )
    .await?;
        if t.resolve_alerts {
            tx.execute(
                sql(
                    "UPDATE alerts SET status = 'resolved', resolved_at = $1, updated_at = $1 \
                 WHERE incident_id = $2 AND status <> 'resolved'",
                )
                .bind(now)
                .bind(id),
            )
            .await?;
        }
        if t.acknowledge_alerts {
            tx.execute(
                sql(
                    "UPDATE alerts SET status = 'acknowledged', updated_at = $1 \
                 WHERE incident_id = $2 AND status = 'triggered'",
                )
                .bind(now)
                .bind(id),
            )
            .await?;
        }
    }
    let change = match act {
        Act::Acknowledge => Some(Change::Acknowledged),
        Act::Resolve => Some(Change::Resolved),
        Act::Retrigger => Some(Change::Retriggered),
        Act::Snooze(_) => Some(Change::Snoozed),
        Act::EscalateNow => Some(Change::EscalateNow),
        Act::Reassign(_) => Some(Change::Reassigned {
            grace_ms: REASSIGN_GRACE_MIN * 60_000,
        }),
        Act::Note(_) => None,
    };
    if let Some(change) = change {
        react_in(tx, id, change, now).await?;
    }
    if let Act::Reassign(user) = act {
        // The new owner is paged directly, once per reassignment.
        let page = Page {
            incident_id: id.to_string(),
            user_id: user.clone(),
            key: format!("reassign:{id}:{}:{user}", new_id()),
            urgency: inc.urgency.as_str().to_string(),
            gen: None,
        };
        enqueue_in(tx, &page, now).await?;
    }
    let body = match act {
        Act::Note(text) => json!({ "text": text }),
        Act::Reassign(user) => json!({ "user": user }),
        Act::Snooze(m) => json!({ "minutes": m }),
        _ => json!({}),
    };
    add_event(tx, id, act.kind(), Some(actor), channel, None, &body, now).await?;
    Ok(t)
}

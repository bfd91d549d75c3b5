//! Monitors (HTTP probes and heartbeats), their check results, and the alerts they open. A check
//! that changes a monitor's state re-derives its component ([`settle`]) in the same transaction;
//! deleting a monitor resolves its alert and releases its component.

use super::components::settle;
use super::incidents::placeholders;
use super::paging::{apply_signal, Target};
use super::tx::sql;
use super::{new_id, Store, StoreError};
use app::domain::ingest::{Action, Severity, Signal};
use app::domain::monitor::{
    step, Alert, Monitor, MonitorDraft, MonitorKind, MonitorState, MonitorStep,
};
use app::domain::ValidationError;
use serde_json::Value;

#[derive(sqlx::FromRow)]
struct MonitorRow {
    id: String,
    kind: String,
    name: String,
    component_id: Option<String>,
    service_id: Option<String>,
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
    paused_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AlertRow {
    id: String,
    source: String,
    dedup_key: String,
    summary: String,
    details: String,
    component_id: Option<String>,
    status: String,
    created_at: i64,
    resolved_at: Option<i64>,
}

impl From<AlertRow> for Alert {
    fn from(r: AlertRow) -> Self {
        Alert {
            id: r.id,
            source: r.source,
            dedup_key: r.dedup_key,
            summary: r.summary,
            details: r.details,
            component_id: r.component_id,
            status: r.status,
            created_at: r.created_at,
            resolved_at: r.resolved_at,
        }
    }
}

impl TryFrom<MonitorRow> for Monitor {
    type Error = StoreError;
    fn try_from(r: MonitorRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("{what} {v:?}"));
        Ok(Monitor {
            kind: match r.kind.as_str() {
                "heartbeat" => MonitorKind::Heartbeat,
                "http" => MonitorKind::Http,
                k => return Err(corrupt("monitor kind", k)),
            },
            state: match r.state.as_str() {
                "up" | "down" | "unknown" => MonitorState::parse(&r.state),
                st => return Err(corrupt("monitor state", st)),
            },
            id: r.id,
            name: r.name,
            component_id: r.component_id,
            service_id: r.service_id,
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
            paused_at: r.paused_at,
        })
    }
}

const MONITOR_SELECT: &str =
    "SELECT id, kind, name, component_id, service_id, url, interval_s, timeout_ms, \
    expect_status, keyword, failure_threshold, token, state, consecutive_fails, last_checked_at, \
    last_error, last_latency_ms, paused_at FROM monitors";

impl Store {
    // ---- alerts ----

    /// Recent alerts, newest first.
    pub async fn alerts(&self, limit: i64) -> Result<Vec<Alert>, StoreError> {
        let rows: Vec<AlertRow> = on_pool!(self, p => sqlx::query_as(
                "SELECT id, source, dedup_key, summary, details, component_id, status, created_at, resolved_at \
                 FROM alerts ORDER BY created_at DESC LIMIT $1")
                .bind(limit)
                .fetch_all(p)
                .await)?;
        Ok(rows.into_iter().map(Alert::from).collect())
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
        let mut tx = self.begin().await?;
        check_links(&mut tx, d).await?;
        tx.execute(
            sql("INSERT INTO monitors (id, kind, name, component_id, url, interval_s, timeout_ms, expect_status, \
                 keyword, failure_threshold, token, next_due_at, created_at, service_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
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
            .bind(&d.service_id),
        )
        .await
        .map_err(|e| super::map_unique(e, "name"))?;
        tx.commit().await?;
        self.monitor(&id).await
    }

    /// One monitor.
    pub async fn monitor(&self, id: &str) -> Result<Monitor, StoreError> {
        let sql = format!("{MONITOR_SELECT} WHERE id = $1");
        let row: Option<MonitorRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// All monitors by name.
    pub async fn monitors(&self) -> Result<Vec<Monitor>, StoreError> {
        let sql = format!("{MONITOR_SELECT} ORDER BY name");
        let rows: Vec<MonitorRow> = on_pool!(self, p => sqlx::query_as(&sql).fetch_all(p).await)?;
        rows.into_iter().map(Monitor::try_from).collect()
    }

    /// Deletes a monitor and its results. Its open alert is resolved and its component released
    /// (nothing is left failing for good); the alert stays, for the record.
    pub async fn delete_monitor(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let (component_id, service_id): (Option<String>, Option<String>) = tx
            .fetch_optional(
                sql("SELECT component_id, service_id FROM monitors WHERE id = $1").bind(id),
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.execute(sql("DELETE FROM monitors WHERE id = $1").bind(id))
            .await?;
        let target = Target {
            service_id,
            key_id: None,
            scope: String::new(),
            component_id: component_id.clone(),
            channel: "monitor deleted".to_string(),
            source: "monitor",
        };
        apply_signal(
            &mut tx,
            &target,
            &monitor_signal(id, Action::Resolve, "", None),
            now,
        )
        .await?;
        if let Some(cid) = &component_id {
            settle(&mut tx, cid, None, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Pauses (`paused: true`) or resumes a monitor. Pausing resolves its open alert and
    /// releases its component (a paused monitor holds nothing); resuming starts from "not
    /// checked yet", with the first check due at once (probes) or after one interval
    /// (heartbeats).
    pub async fn set_monitor_paused(
        &self,
        id: &str,
        paused: bool,
        now: i64,
    ) -> Result<Monitor, StoreError> {
        let mut tx = self.begin().await?;
        let (component_id, service_id, kind, interval_s): (
            Option<String>,
            Option<String>,
            String,
            i64,
        ) = tx
            .fetch_optional(
                sql(
                    "SELECT component_id, service_id, kind, interval_s FROM monitors WHERE id = $1",
                )
                .bind(id),
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        let next_due = if kind == "heartbeat" {
            now + interval_s * 1000
        } else {
            now
        };
        // Only a running monitor pauses and only a paused one resumes: a repeated or stale
        // request changes nothing (resuming a running, failing monitor would forget its state
        // while its alert stays open).
        let changed = tx
            .execute(
                sql(if paused {
                    "UPDATE monitors SET paused_at = $1, state = 'unknown', consecutive_fails = 0, \
                     lease_until = 0, next_due_at = $2 WHERE id = $3 AND paused_at IS NULL"
                } else {
                    "UPDATE monitors SET paused_at = $1, state = 'unknown', consecutive_fails = 0, \
                     lease_until = 0, next_due_at = $2 WHERE id = $3 AND paused_at IS NOT NULL"
                })
                .bind(paused.then_some(now))
                .bind(next_due)
                .bind(id),
            )
            .await?;
        if changed == 0 {
            tx.commit().await?;
            return self.monitor(id).await;
        }
        if paused {
            release_monitor(&mut tx, id, component_id, service_id, "monitor paused", now).await?;
        }
        tx.commit().await?;
        self.monitor(id).await
    }

    /// Changes a monitor's settings (its kind stays). It starts again from "not checked yet":
    /// its open alert is resolved and its old component released.
    pub async fn update_monitor(
        &self,
        id: &str,
        d: &MonitorDraft,
        now: i64,
    ) -> Result<Monitor, StoreError> {
        let mut tx = self.begin().await?;
        let (component_id, service_id, kind, paused_at): (
            Option<String>,
            Option<String>,
            String,
            Option<i64>,
        ) = tx
            .fetch_optional(
                sql("SELECT component_id, service_id, kind, paused_at FROM monitors WHERE id = $1")
                    .bind(id),
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        if kind != d.kind.as_str() {
            return Err(StoreError::Invalid(ValidationError::new(
                "kind",
                "cannot change; delete the monitor and add a new one",
            )));
        }
        check_links(&mut tx, d).await?;
        let next_due = match d.kind {
            MonitorKind::Http => now,
            MonitorKind::Heartbeat => now + d.interval_s * 1000,
        };
        tx.execute(
            sql(
                "UPDATE monitors SET name = $1, component_id = $2, url = $3, interval_s = $4, \
                 timeout_ms = $5, expect_status = $6, keyword = $7, failure_threshold = $8, \
                 service_id = $9, state = 'unknown', consecutive_fails = 0, lease_until = 0, \
                 next_due_at = $10 WHERE id = $11",
            )
            .bind(&d.name)
            .bind(&d.component_id)
            .bind(&d.url)
            .bind(d.interval_s)
            .bind(d.timeout_ms)
            .bind(d.expect_status)
            .bind(&d.keyword)
            .bind(d.failure_threshold)
            .bind(&d.service_id)
            .bind(next_due)
            .bind(id),
        )
        .await
        .map_err(|e| super::map_unique(e, "name"))?;
        if paused_at.is_none() {
            release_monitor(
                &mut tx,
                id,
                component_id,
                service_id,
                "monitor changed",
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.monitor(id).await
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
        let mut tx = self.begin().await?;
        let claim = format!(
            "UPDATE monitors SET lease_until = $1, next_due_at = $2 + interval_s * 1000 \
             WHERE id IN (SELECT id FROM monitors WHERE kind = $3 AND paused_at IS NULL AND next_due_at <= $2 AND lease_until <= $2 \
             ORDER BY next_due_at LIMIT $4{}) RETURNING id",
            tx.skip_locked()
        );
        let ids: Vec<(String,)> = tx
            .fetch_all(
                sql(claim)
                    .bind(now + lease_ms)
                    .bind(now)
                    .bind(kind.as_str())
                    .bind(limit),
            )
            .await?;
        tx.commit().await?;
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
        rows.into_iter().map(Monitor::try_from).collect()
    }

    /// Records one check result and applies its consequences in one transaction: down after the
    /// threshold opens an alert, recovery resolves it, and either way the component is derived
    /// again ([`settle`]): a failing monitor holds it at major outage, a recovered one releases
    /// it to what else holds it.
    pub async fn record_check(
        &self,
        monitor_id: &str,
        ok: bool,
        latency_ms: Option<i64>,
        error: Option<&str>,
        now: i64,
    ) -> Result<MonitorStep, StoreError> {
        let mut tx = self.begin().await?;
        // Lock the monitor (a no-op write): a ping and an overdue check of the same heartbeat
        // must not both work from the same old state.
        tx.execute(sql("UPDATE monitors SET state = state WHERE id = $1").bind(monitor_id))
            .await?;
        let (name, state, fails, threshold, component_id, interval_s, service_id, paused_at): CheckRow = tx
            .fetch_optional(
                sql("SELECT name, state, consecutive_fails, failure_threshold, component_id, interval_s, service_id, paused_at \
                     FROM monitors WHERE id = $1")
                .bind(monitor_id),
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        if paused_at.is_some() {
            // Paused while the check ran (or a ping came in): nothing is recorded or opened.
            tx.commit().await?;
            return Ok(MonitorStep {
                state: MonitorState::parse(&state),
                consecutive_fails: fails,
                went_down: false,
                recovered: false,
            });
        }
        let s = step(MonitorState::parse(&state), fails, threshold, ok);
        tx.execute(
            sql("INSERT INTO monitor_results (monitor_id, ok, latency_ms, error, checked_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(monitor_id)
                .bind(ok)
                .bind(latency_ms)
                .bind(error)
                .bind(now),
        )
        .await?;
        // Heartbeats: a ping pushes the deadline one interval on.
        tx.execute(
            sql("UPDATE monitors SET state = $1, consecutive_fails = $2, last_checked_at = $3, \
                 last_ok_at = CASE WHEN $4 = 1 THEN $3 ELSE last_ok_at END, last_error = $5, last_latency_ms = $6, \
                 lease_until = 0, \
                 next_due_at = CASE WHEN kind = 'heartbeat' AND $4 = 1 THEN $3 + $7 ELSE next_due_at END \
                 WHERE id = $8")
            .bind(s.state.as_str())
            .bind(s.consecutive_fails)
            .bind(now)
            .bind(ok)
            .bind(error)
            .bind(latency_ms)
            .bind(interval_s * 1000)
            .bind(monitor_id),
        )
        .await?;
        if s.went_down || s.recovered {
            // The monitor's alert, through the one path every alert takes: on a service it
            // opens (or resolves) an on-call incident there.
            let target = Target {
                service_id,
                key_id: None,
                scope: String::new(),
                component_id: component_id.clone(),
                channel: "probe".to_string(),
                source: "monitor",
            };
            let action = if s.went_down {
                Action::Trigger
            } else {
                Action::Resolve
            };
            let signal = monitor_signal(monitor_id, action, &name, error);
            apply_signal(&mut tx, &target, &signal, now).await?;
        }
        if s.went_down || s.recovered {
            if let Some(cid) = &component_id {
                settle(&mut tx, cid, None, now).await?;
            }
        }
        tx.commit().await?;
        Ok(s)
    }

    /// The heartbeat monitor with this ping token.
    pub async fn monitor_by_token(&self, token: &str) -> Result<Monitor, StoreError> {
        let sql = format!("{MONITOR_SELECT} WHERE token = $1 AND kind = 'heartbeat'");
        let row: Option<MonitorRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(token).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
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

/// A monitor's signal about its own alert (dedup key `monitor:ID`).
fn monitor_signal(monitor_id: &str, action: Action, name: &str, error: Option<&str>) -> Signal {
    Signal {
        action,
        dedup_key: Some(format!("monitor:{monitor_id}")),
        summary: format!("{name} is failing"),
        source: name.to_string(),
        severity: Severity::Critical,
        occurred_at: None,
        details: error
            .map(|e| Value::String(e.to_string()))
            .unwrap_or(Value::Null),
        links: Vec::new(),
        images: Vec::new(),
    }
}

/// What recording a check reads of its monitor: name, state, failures in a row, threshold,
/// component, interval, service, when paused.
type CheckRow = (
    String,
    String,
    i64,
    i64,
    Option<String>,
    i64,
    Option<String>,
    Option<i64>,
);

/// Refuses a draft whose component or service does not exist.
async fn check_links(tx: &mut super::tx::Tx, d: &MonitorDraft) -> Result<(), StoreError> {
    if let Some(cid) = &d.component_id {
        let exists: Option<(String,)> = tx
            .fetch_optional(sql("SELECT id FROM components WHERE id = $1").bind(cid))
            .await?;
        if exists.is_none() {
            return Err(StoreError::Invalid(ValidationError::new(
                "component",
                "no such component",
            )));
        }
    }
    if let Some(sid) = &d.service_id {
        let exists: Option<(String,)> = tx
            .fetch_optional(sql("SELECT id FROM services WHERE id = $1").bind(sid))
            .await?;
        if exists.is_none() {
            return Err(StoreError::Invalid(ValidationError::new(
                "service",
                "no such service",
            )));
        }
    }
    Ok(())
}

/// Resolves a monitor's open alert and derives its component again (nothing stays held by a
/// monitor that was paused or changed).
async fn release_monitor(
    tx: &mut super::tx::Tx,
    id: &str,
    component_id: Option<String>,
    service_id: Option<String>,
    channel: &str,
    now: i64,
) -> Result<(), StoreError> {
    let target = Target {
        service_id,
        key_id: None,
        scope: String::new(),
        component_id: component_id.clone(),
        channel: channel.to_string(),
        source: "monitor",
    };
    apply_signal(
        tx,
        &target,
        &monitor_signal(id, Action::Resolve, "", None),
        now,
    )
    .await?;
    if let Some(cid) = &component_id {
        settle(tx, cid, None, now).await?;
    }
    Ok(())
}

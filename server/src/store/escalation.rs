//! Escalation's store: policies, each service's paging settings and maintenance windows, the
//! on-call resolver (who a person, schedule or team target means at an instant), and the
//! engine's round: claim the due incidents, ask `app::domain::escalation::advance`, and write
//! the new state, the pages (jobs keyed per step and person) and the timeline in one transaction.
//!
//! Every pending step is a row (`oncall_incidents.esc_due_at`), so a restart loses nothing and
//! runs late steps at once. A round claims its incidents with `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL (SQLite has one writer), so instances split the work and each step runs once;
//! the page jobs' dedup keys make even a step that ran twice page nobody twice.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::jobs::{enqueue_in, JobSpec, Queue};
use super::paging::add_event;
use super::tx::{sql, Tx};
use super::{map_unique, new_id, Store, StoreError, Work};
use app::domain::escalation::{
    advance, react, starts_unstaffed, Change, Effect, EscState, MaintenanceWindow, Policy,
    PolicyInput, ServicePaging, Situation, Step, Target, TargetKind, Urgency, Wait, WorkingHours,
};
use app::domain::ingest::Severity;
use app::domain::oncall::State;
use app::domain::schedule::{expand, oncall_at, Window};
use app::domain::ValidationError;

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {v:?}"))
}

/// Page one person for one step of an incident's escalation (or a reassignment). The key names
/// the step firing and the person, so queueing it again is a no-op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The on-call incident.
    pub incident_id: String,
    /// Who is paged.
    pub user_id: String,
    /// `page:INCIDENT:GEN:PASS:STEP:USER` (or `reassign:...`): the idempotency key, also sent
    /// with the message so a receiver can drop a repeat.
    pub key: String,
    /// `high` or `low`.
    pub urgency: String,
    /// The escalation run (`esc_gen`) that decided it; a page still retrying from an earlier run
    /// (the incident was acknowledged and triggered again since) is dropped. `None` for a
    /// reassignment's page.
    #[serde(default)]
    pub gen: Option<i64>,
}

impl JobSpec for Page {
    const KIND: &'static str = "page";
    const QUEUE: Queue = Queue::Pages;
    const PRIORITY: i64 = 10;

    fn dedup_key(&self) -> Option<String> {
        Some(self.key.clone())
    }
}

#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: String,
    name: String,
    description: String,
    repeats: i64,
    steps: String,
}

impl TryFrom<PolicyRow> for Policy {
    type Error = StoreError;
    fn try_from(r: PolicyRow) -> Result<Policy, StoreError> {
        let steps: Vec<Step> =
            serde_json::from_str(&r.steps).map_err(|_| corrupt("policy steps", &r.steps))?;
        Ok(Policy {
            id: r.id,
            name: r.name,
            description: r.description,
            repeats: r.repeats,
            steps,
        })
    }
}

const POLICY_SELECT: &str = "SELECT id, name, description, repeats, steps FROM escalation_policies";

#[derive(sqlx::FromRow)]
struct PagingRow {
    policy_id: Option<String>,
    high_urgency_from: String,
    low_urgency_hours: Option<String>,
    ack_timeout_min: Option<i64>,
    auto_resolve_min: Option<i64>,
}

impl TryFrom<PagingRow> for ServicePaging {
    type Error = StoreError;
    fn try_from(r: PagingRow) -> Result<ServicePaging, StoreError> {
        let hours = match r.low_urgency_hours {
            Some(h) => Some(
                serde_json::from_str::<WorkingHours>(&h)
                    .map_err(|_| corrupt("working hours", &h))?,
            ),
            None => None,
        };
        Ok(ServicePaging {
            policy_id: r.policy_id,
            high_urgency_from: Severity::parse_loose(&r.high_urgency_from)
                .ok_or_else(|| corrupt("severity", &r.high_urgency_from))?,
            low_urgency_hours: hours,
            ack_timeout_min: r.ack_timeout_min,
            auto_resolve_min: r.auto_resolve_min,
        })
    }
}

const PAGING_SELECT: &str = "SELECT policy_id, high_urgency_from, low_urgency_hours, ack_timeout_min, auto_resolve_min FROM services";

/// A service's paging settings, read in `tx`.
pub(crate) async fn service_paging_in(
    tx: &mut Tx,
    service_id: &str,
) -> Result<ServicePaging, StoreError> {
    let row: Option<PagingRow> = tx
        .fetch_optional(sql(format!("{PAGING_SELECT} WHERE id = $1")).bind(service_id))
        .await?;
    row.ok_or(StoreError::NotFound)?.try_into()
}

#[derive(sqlx::FromRow)]
struct EscRow {
    esc_gen: i64,
    esc_pass: i64,
    escalation_level: i64,
    esc_due_at: Option<i64>,
    esc_wait: String,
}

impl TryFrom<EscRow> for EscState {
    type Error = StoreError;
    fn try_from(r: EscRow) -> Result<EscState, StoreError> {
        Ok(EscState {
            gen: r.esc_gen,
            pass: r.esc_pass,
            step: r.escalation_level,
            due_at: r.esc_due_at,
            wait: Wait::parse(&r.esc_wait)
                .ok_or_else(|| corrupt("escalation wait", &r.esc_wait))?,
        })
    }
}

/// An incident's escalation state, read in `tx`.
pub(crate) async fn esc_state_in(tx: &mut Tx, incident_id: &str) -> Result<EscState, StoreError> {
    let row: Option<EscRow> = tx
        .fetch_optional(
            sql("SELECT esc_gen, esc_pass, escalation_level, esc_due_at, esc_wait FROM oncall_incidents WHERE id = $1")
                .bind(incident_id),
        )
        .await?;
    row.ok_or(StoreError::NotFound)?.try_into()
}

/// Stores an incident's escalation state, and wakes the engine when it is due now.
pub(crate) async fn set_esc_state(
    tx: &mut Tx,
    incident_id: &str,
    st: &EscState,
    now: i64,
) -> Result<(), StoreError> {
    tx.execute(
        sql("UPDATE oncall_incidents SET esc_gen = $1, esc_pass = $2, escalation_level = $3, esc_due_at = $4, esc_wait = $5 WHERE id = $6")
            .bind(st.gen)
            .bind(st.pass)
            .bind(st.step)
            .bind(st.due_at)
            .bind(st.wait.as_str())
            .bind(incident_id),
    )
    .await?;
    if st.due_at.is_some_and(|d| d <= now) {
        tx.wake(Work::Escalation);
    }
    Ok(())
}

/// Moves an incident's escalation by `change` (read, [`react`], write), in `tx`.
pub(crate) async fn react_in(
    tx: &mut Tx,
    incident_id: &str,
    change: Change,
    now: i64,
) -> Result<EscState, StoreError> {
    let st = esc_state_in(tx, incident_id).await?;
    let sid: Option<(Option<String>,)> = tx
        .fetch_optional(
            sql("SELECT service_id FROM oncall_incidents WHERE id = $1").bind(incident_id),
        )
        .await?;
    let paging = match sid.and_then(|(s,)| s) {
        Some(sid) => Some(service_paging_in(tx, &sid).await?),
        None => None,
    };
    let ack_timeout_ms = paging
        .as_ref()
        .and_then(|p| p.ack_timeout_min)
        .map(|m| m * 60_000);
    let mut next = react(st, change, ack_timeout_ms, now);
    if paging.is_some_and(|p| p.policy_id.is_none()) {
        // Said at once, in the same commit: nobody will be paged.
        if let Some(stopped) = starts_unstaffed(next, now) {
            next = stopped;
            add_event(
                tx,
                incident_id,
                "no_policy",
                None,
                "",
                None,
                &json!({}),
                now,
            )
            .await?;
        }
    }
    if next != st {
        set_esc_state(tx, incident_id, &next, now).await?;
    }
    Ok(next)
}

/// The end of the maintenance window of `service_id` that covers `now`, if any (the latest end
/// when several overlap).
async fn maintenance_until_in(
    tx: &mut Tx,
    service_id: &str,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let (until,): (Option<i64>,) = tx
        .fetch_one(
            sql("SELECT MAX(ends_at) FROM service_maintenance WHERE service_id = $1 AND starts_at <= $2 AND ends_at > $2")
                .bind(service_id)
                .bind(now),
        )
        .await?;
    Ok(until)
}

#[derive(sqlx::FromRow)]
struct DueRow {
    id: String,
    number: i64,
    service_id: Option<String>,
    status: String,
    snoozed_until: Option<i64>,
    urgency: String,
    esc_gen: i64,
    esc_pass: i64,
    escalation_level: i64,
    esc_due_at: Option<i64>,
    esc_wait: String,
}

/// What one engine round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Incidents whose due escalation was decided.
    pub incidents: usize,
    /// Pages queued.
    pub pages: usize,
}

impl Store {
    // ---- policies ----

    /// Every escalation policy, by name.
    pub async fn policies(&self) -> Result<Vec<Policy>, StoreError> {
        let rows: Vec<PolicyRow> = on_pool!(self, p => sqlx::query_as(
            &format!("{POLICY_SELECT} ORDER BY name")).fetch_all(p).await)?;
        rows.into_iter().map(Policy::try_from).collect()
    }

    /// One policy.
    pub async fn policy(&self, id: &str) -> Result<Policy, StoreError> {
        let row: Option<PolicyRow> = on_pool!(self, p => sqlx::query_as(
            &format!("{POLICY_SELECT} WHERE id = $1")).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Checks that every target of `input` exists (active people who can respond, published
    /// schedules, teams), naming the step of the first that does not.
    async fn check_targets(tx: &mut Tx, input: &PolicyInput) -> Result<(), StoreError> {
        for (i, step) in input.steps.iter().enumerate() {
            for t in &step.targets {
                // (how many there are, how many of them may be paged: a draft schedule not yet).
                let q = match t.kind {
                    TargetKind::User => {
                        "SELECT COUNT(*), COUNT(*) FROM users WHERE id = $1 AND deactivated_at IS NULL AND role <> 'viewer'"
                    }
                    TargetKind::Schedule => {
                        "SELECT COUNT(*), COUNT(published_at) FROM schedules WHERE id = $1"
                    }
                    TargetKind::Team => "SELECT COUNT(*), COUNT(*) FROM teams WHERE id = $1",
                };
                let (n, pageable): (i64, i64) = tx.fetch_one(sql(q).bind(&t.id)).await?;
                let field = format!("steps.{}.targets", i + 1);
                if n == 0 {
                    let what = match t.kind {
                        TargetKind::User => "no active responder or admin",
                        TargetKind::Schedule => "no schedule",
                        TargetKind::Team => "no team",
                    };
                    return Err(ValidationError::new(
                        &field,
                        format!("step {}: {what} with id {}", i + 1, t.id),
                    )
                    .into());
                }
                if pageable == 0 {
                    return Err(ValidationError::new(
                        &field,
                        format!(
                            "step {}: that schedule is still a draft; publish it on its edit page first",
                            i + 1
                        ),
                    )
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Creates a policy from a normalized input.
    pub async fn create_policy(&self, input: &PolicyInput, now: i64) -> Result<Policy, StoreError> {
        let id = new_id();
        let mut tx = self.begin().await?;
        Self::check_targets(&mut tx, input).await?;
        tx.execute(
            sql("INSERT INTO escalation_policies (id, name, description, repeats, steps, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)")
                .bind(&id)
                .bind(&input.name)
                .bind(&input.description)
                .bind(input.repeats)
                .bind(json!(input.steps).to_string())
                .bind(now),
        )
        .await
        .map_err(|e| map_unique(e, "name"))?;
        tx.commit().await?;
        self.policy(&id).await
    }

    /// Replaces a policy with a normalized input. Incidents escalating under it take the new
    /// steps from their next step on.
    pub async fn update_policy(
        &self,
        id: &str,
        input: &PolicyInput,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        Self::check_targets(&mut tx, input).await?;
        let n = tx
            .execute(
                sql("UPDATE escalation_policies SET name = $1, description = $2, repeats = $3, steps = $4, updated_at = $5 WHERE id = $6")
                    .bind(&input.name)
                    .bind(&input.description)
                    .bind(input.repeats)
                    .bind(json!(input.steps).to_string())
                    .bind(now)
                    .bind(id),
            )
            .await
            .map_err(|e| map_unique(e, "name"))?;
        super::found(n)?;
        tx.commit().await
    }

    /// Deletes a policy; refused (409) while a service uses it.
    pub async fn delete_policy(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(sql("UPDATE escalation_policies SET name = name WHERE id = $1").bind(id))
            .await?;
        super::found(n)?;
        let (users,): (i64,) = tx
            .fetch_one(sql("SELECT COUNT(*) FROM services WHERE policy_id = $1").bind(id))
            .await?;
        if users > 0 {
            return Err(ValidationError::new(
                "policy",
                format!("{users} service(s) use this policy; choose another policy for them first"),
            )
            .into());
        }
        tx.execute(sql("DELETE FROM escalation_policies WHERE id = $1").bind(id))
            .await?;
        tx.commit().await
    }

    // ---- service settings and maintenance ----

    /// A service's paging settings.
    pub async fn service_paging(&self, service_id: &str) -> Result<ServicePaging, StoreError> {
        let row: Option<PagingRow> = on_pool!(self, p => sqlx::query_as(
            &format!("{PAGING_SELECT} WHERE id = $1")).bind(service_id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Sets a service's paging settings (validated by the caller with
    /// [`ServicePaging::validate`]); the policy must exist (`policy_id`).
    pub async fn set_service_paging(
        &self,
        service_id: &str,
        s: &ServicePaging,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if let Some(pid) = &s.policy_id {
            // A no-op write: it locks the policy, so a concurrent delete of it either waits for
            // this save (and then counts this service) or has already removed it.
            let n = tx
                .execute(sql("UPDATE escalation_policies SET name = name WHERE id = $1").bind(pid))
                .await?;
            if n == 0 {
                return Err(ValidationError::new("policy_id", "no such escalation policy").into());
            }
        }
        super::paging::lock_service(&mut tx, service_id).await?;
        let before = service_paging_in(&mut tx, service_id).await?;
        let hours = s.low_urgency_hours.as_ref().map(|h| json!(h).to_string());
        let n = tx
            .execute(
                sql("UPDATE services SET policy_id = $1, high_urgency_from = $2, low_urgency_hours = $3, \
                     ack_timeout_min = $4, auto_resolve_min = $5, updated_at = $6 WHERE id = $7")
                    .bind(&s.policy_id)
                    .bind(s.high_urgency_from.as_str())
                    .bind(hours)
                    .bind(s.ack_timeout_min)
                    .bind(s.auto_resolve_min)
                    .bind(now)
                    .bind(service_id),
            )
            .await?;
        super::found(n)?;
        // Open incidents follow the new settings: urgency is rated again, a held one is looked
        // at again now (the hours may have changed), and one that paged nobody for want of a
        // policy starts escalating under the new one.
        let open: Vec<(String, String, String, String, String)> = tx
            .fetch_all(
                sql(
                    "SELECT id, severity, urgency, status, esc_wait FROM oncall_incidents \
                     WHERE service_id = $1 AND status <> 'resolved'",
                )
                .bind(service_id),
            )
            .await?;
        for (id, severity, urgency, status, wait) in open {
            let sev =
                Severity::parse_loose(&severity).ok_or_else(|| corrupt("severity", &severity))?;
            let rated = app::domain::escalation::urgency_of(sev, s.high_urgency_from);
            if rated.as_str() != urgency {
                tx.execute(
                    sql("UPDATE oncall_incidents SET urgency = $1 WHERE id = $2")
                        .bind(rated.as_str())
                        .bind(&id),
                )
                .await?;
                // The row is locked until the commit, and a round passes over locked rows
                // (`SKIP LOCKED`): one due meanwhile gets its round after the commit.
                tx.wake(Work::Escalation);
            }
            if status != "triggered" {
                continue;
            }
            if wait == Wait::Hold.as_str() {
                tx.execute(
                    sql("UPDATE oncall_incidents SET esc_due_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(&id),
                )
                .await?;
                tx.wake(Work::Escalation);
            } else if wait == Wait::Exhausted.as_str()
                && before.policy_id.is_none()
                && s.policy_id.is_some()
            {
                react_in(&mut tx, &id, Change::Retriggered, now).await?;
            }
        }
        tx.commit().await
    }

    /// Puts a service in maintenance from `starts_at` to `ends_at`. Returns the window's id.
    pub async fn add_maintenance(
        &self,
        service_id: &str,
        starts_at: i64,
        ends_at: i64,
        reason: &str,
        by: Option<&str>,
        now: i64,
    ) -> Result<String, StoreError> {
        if ends_at <= starts_at {
            return Err(ValidationError::new("ends", "the end must be after the start").into());
        }
        if ends_at <= now {
            return Err(ValidationError::new("ends", "the window is already over").into());
        }
        let id = new_id();
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                sql("UPDATE services SET updated_at = updated_at WHERE id = $1").bind(service_id),
            )
            .await?;
        super::found(n)?;
        tx.execute(
            sql("INSERT INTO service_maintenance (id, service_id, starts_at, ends_at, reason, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&id)
                .bind(service_id)
                .bind(starts_at)
                .bind(ends_at)
                .bind(reason)
                .bind(by)
                .bind(now),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Ends a maintenance window now (or deletes it if it has not started). Incidents held by
    /// it page at once.
    pub async fn end_maintenance(
        &self,
        service_id: &str,
        id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // The service first, as every writer of its incidents does (see the lock order).
        super::paging::lock_service(&mut tx, service_id).await?;
        let n = tx
            .execute(
                sql("DELETE FROM service_maintenance WHERE id = $1 AND service_id = $2 AND starts_at > $3")
                    .bind(id)
                    .bind(service_id)
                    .bind(now),
            )
            .await?;
        if n == 0 {
            let n = tx
                .execute(
                    sql("UPDATE service_maintenance SET ends_at = $1 WHERE id = $2 AND service_id = $3 AND ends_at > $1")
                        .bind(now)
                        .bind(id)
                        .bind(service_id),
                )
                .await?;
            super::found(n)?;
        }
        // Held incidents of the service look again now (the engine holds them again if another
        // window still covers them).
        let n = tx
            .execute(
                sql("UPDATE oncall_incidents SET esc_due_at = $1 WHERE service_id = $2 AND esc_wait = 'hold' AND status = 'triggered'")
                    .bind(now)
                    .bind(service_id),
            )
            .await?;
        if n > 0 {
            tx.wake(Work::Escalation);
        }
        tx.commit().await
    }

    /// A service's maintenance windows that have not ended by `now`, soonest first.
    pub async fn maintenance_windows(
        &self,
        service_id: &str,
        now: i64,
    ) -> Result<Vec<MaintenanceWindow>, StoreError> {
        let rows: Vec<(String, String, i64, i64, String, Option<String>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, service_id, starts_at, ends_at, reason, created_by FROM service_maintenance \
             WHERE service_id = $1 AND ends_at > $2 ORDER BY starts_at, id")
            .bind(service_id).bind(now).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, service_id, starts_at, ends_at, reason, created_by)| MaintenanceWindow {
                    id,
                    service_id,
                    starts_at,
                    ends_at,
                    reason,
                    created_by,
                },
            )
            .collect())
    }

    // ---- who is on call ----

    /// The people each of `targets` means at `at` (Unix ms): a person (if active and able to
    /// respond), whoever a schedule has on call then (overrides included), a team's active
    /// members. Unknown targets mean nobody.
    pub async fn resolve_targets(
        &self,
        targets: &[Target],
        at: i64,
    ) -> Result<HashMap<Target, Vec<String>>, StoreError> {
        let mut out = HashMap::new();
        let t = Timestamp::from_millisecond(at).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let t_end = t
            .checked_add(SignedDuration::from_millis(1))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        for target in targets {
            if out.contains_key(target) {
                continue;
            }
            let users: Vec<String> = match target.kind {
                TargetKind::User => {
                    let rows: Vec<(String,)> = on_pool!(self, p => sqlx::query_as(
                        "SELECT id FROM users WHERE id = $1 AND deactivated_at IS NULL AND role <> 'viewer'")
                        .bind(&target.id).fetch_all(p).await)?;
                    rows.into_iter().map(|(id,)| id).collect()
                }
                TargetKind::Team => {
                    let rows: Vec<(String,)> = on_pool!(self, p => sqlx::query_as(
                        "SELECT u.id FROM team_members m JOIN users u ON u.id = m.user_id \
                         WHERE m.team_id = $1 AND u.deactivated_at IS NULL AND u.role <> 'viewer' ORDER BY u.name, u.id")
                        .bind(&target.id).fetch_all(p).await)?;
                    rows.into_iter().map(|(id,)| id).collect()
                }
                TargetKind::Schedule => match self.schedule_full(&target.id, t, t_end).await {
                    Ok(full) => {
                        let window =
                            Window::new(t, t_end).map_err(|e| StoreError::Corrupt(e.message))?;
                        let shifts = expand(&full.schedule, &window);
                        oncall_at(&shifts, t)
                            .and_then(|s| s.user.clone())
                            .into_iter()
                            .collect()
                    }
                    Err(StoreError::NotFound) => Vec::new(),
                    Err(e) => return Err(e),
                },
            };
            out.insert(target.clone(), users);
        }
        Ok(out)
    }

    // ---- the engine ----

    /// One engine round at `now`: claims up to `limit` incidents whose escalation is due, decides
    /// each ([`advance`]) and writes the result with its pages and timeline, in one
    /// transaction. Returns what it did; fewer than `limit` incidents means none are left due.
    pub async fn escalate_due(&self, now: i64, limit: i64) -> Result<Round, StoreError> {
        // Who each target means now is read before the write transaction, on the pool: inside
        // it (SQLite's one write lock held) a read on another pool connection can wait for a
        // connection that is itself waiting for that lock, and nothing moves until the busy
        // timeout fails the waiters. Targets of the due incidents' policies first; one added
        // meanwhile (a policy edited) is resolved and the round begun again.
        let mut resolved = self
            .resolve_targets(&self.due_targets(now).await?, now)
            .await?;
        // And how to reach each of them: their plans are written with the step.
        let mut reach = self.reach(resolved.values().flatten()).await?;
        loop {
            let mut tx = self.begin().await?;
            match self
                .escalate_in(&mut tx, now, limit, &resolved, &reach)
                .await?
            {
                Ok(round) => {
                    tx.commit().await?;
                    return Ok(round);
                }
                Err(missing) => {
                    drop(tx);
                    let more = self.resolve_targets(&missing, now).await?;
                    reach.extend(self.reach(more.values().flatten()).await?);
                    resolved.extend(more);
                }
            }
        }
    }

    /// The targets of the policies of the services whose incidents are due at `now`.
    async fn due_targets(&self, now: i64) -> Result<Vec<Target>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT steps FROM escalation_policies WHERE id IN \
             (SELECT s.policy_id FROM services s JOIN oncall_incidents i ON i.service_id = s.id \
              WHERE i.esc_due_at <= $1)")
            .bind(now).fetch_all(p).await)?;
        let mut targets = Vec::new();
        for (steps,) in rows {
            let steps: Vec<Step> =
                serde_json::from_str(&steps).map_err(|_| corrupt("policy steps", &steps))?;
            targets.extend(steps.into_iter().flat_map(|s| s.targets));
        }
        Ok(targets)
    }

    /// The round of [`Store::escalate_due`] in `tx`, with the targets resolved up front; or
    /// the targets of the claimed incidents' policies missing from `resolved` (nothing is
    /// written then).
    async fn escalate_in(
        &self,
        tx: &mut Tx,
        now: i64,
        limit: i64,
        resolved: &HashMap<Target, Vec<String>>,
        reach: &HashMap<String, super::notify::Reach>,
    ) -> Result<Result<Round, Vec<Target>>, StoreError> {
        let claim = format!(
            "SELECT id, number, service_id, status, snoozed_until, urgency, esc_gen, esc_pass, \
             escalation_level, esc_due_at, esc_wait FROM oncall_incidents \
             WHERE esc_due_at <= $1 ORDER BY esc_due_at, id LIMIT $2{}",
            tx.skip_locked()
        );
        let due: Vec<DueRow> = tx.fetch_all(sql(claim).bind(now).bind(limit)).await?;
        let mut round = Round {
            incidents: due.len(),
            pages: 0,
        };
        if due.is_empty() {
            return Ok(Ok(round));
        }
        // Per service: settings, its policy, and the maintenance covering now. Per target: who
        // it means now. Read once for the round.
        let mut services: HashMap<String, (ServicePaging, Option<Policy>, Option<i64>)> =
            HashMap::new();
        let mut policies: HashMap<String, Option<Policy>> = HashMap::new();
        for row in &due {
            let Some(sid) = &row.service_id else { continue };
            if services.contains_key(sid) {
                continue;
            }
            let paging = service_paging_in(tx, sid).await?;
            let policy = match &paging.policy_id {
                Some(pid) => match policies.get(pid) {
                    Some(p) => p.clone(),
                    None => {
                        let row: Option<PolicyRow> = tx
                            .fetch_optional(sql(format!("{POLICY_SELECT} WHERE id = $1")).bind(pid))
                            .await?;
                        let p = row.map(Policy::try_from).transpose()?;
                        policies.insert(pid.clone(), p.clone());
                        p
                    }
                },
                None => None,
            };
            let until = maintenance_until_in(tx, sid, now).await?;
            services.insert(sid.clone(), (paging, policy, until));
        }
        let missing: Vec<Target> = services
            .values()
            .filter_map(|(_, p, _)| p.as_ref())
            .flat_map(|p| p.steps.iter().flat_map(|s| s.targets.iter().cloned()))
            .filter(|t| !resolved.contains_key(t))
            .collect();
        if !missing.is_empty() {
            return Ok(Err(missing));
        }
        let oncall = |t: &Target| resolved.get(t).cloned().unwrap_or_default();
        for row in due {
            let status: State = row
                .status
                .parse()
                .map_err(|_| corrupt("state", &row.status))?;
            let state = EscState::try_from(EscRow {
                esc_gen: row.esc_gen,
                esc_pass: row.esc_pass,
                escalation_level: row.escalation_level,
                esc_due_at: row.esc_due_at,
                esc_wait: row.esc_wait.clone(),
            })?;
            let (paging, policy, until) =
                match row.service_id.as_ref().and_then(|s| services.get(s)) {
                    Some((paging, policy, until)) => (Some(paging), policy.as_ref(), *until),
                    None => (None, None, None),
                };
            let sit = Situation {
                status,
                snoozed: row.snoozed_until.is_some(),
                number: row.number,
                urgency: Urgency::parse(&row.urgency).unwrap_or(Urgency::High),
                maintenance_until: until,
                hours: paging.and_then(|p| p.low_urgency_hours.clone()),
                ack_timeout_ms: paging.and_then(|p| p.ack_timeout_min).map(|m| m * 60_000),
            };
            let a = advance(state, &sit, policy, &oncall, now);
            // The new state first: stored even when unchanged (a state not due any more must
            // not be claimed again), and before the notes, so that they do not see the
            // incident as still due and wake another round.
            let mut next = a.state;
            if next.due_at.is_some_and(|d| d <= now) {
                // Never due again at the same instant: that would spin.
                next.due_at = Some(now + 1);
            }
            set_esc_state(tx, &row.id, &next, now).await?;
            for effect in &a.effects {
                match effect {
                    Effect::Retrigger => {
                        tx.execute(
                            sql("UPDATE oncall_incidents SET status = 'triggered', acknowledged_at = NULL, acknowledged_by = NULL \
                                 WHERE id = $1 AND status = 'acknowledged'")
                                .bind(&row.id),
                        )
                        .await?;
                    }
                    Effect::Note { kind, body } => {
                        add_event(tx, &row.id, kind, None, "", None, body, now).await?;
                    }
                    Effect::Page {
                        user,
                        gen,
                        pass,
                        step,
                    } => {
                        let key = format!("page:{}:{gen}:{pass}:{step}:{user}", row.id);
                        // The person's plan is written with the step (outbox rows and their
                        // sends); someone not read up front gets a `Page` job that plans.
                        let new = match reach.get(user) {
                            Some(r) => {
                                let plan = r.planned(sit.urgency);
                                super::notify::plan_in(
                                    tx,
                                    &row.id,
                                    user,
                                    &key,
                                    Some(*gen),
                                    sit.urgency,
                                    &plan,
                                    now,
                                )
                                .await?
                            }
                            None => {
                                let page = Page {
                                    incident_id: row.id.clone(),
                                    user_id: user.clone(),
                                    key,
                                    urgency: sit.urgency.as_str().to_string(),
                                    gen: Some(*gen),
                                };
                                enqueue_in(tx, &page, now).await?.is_some()
                            }
                        };
                        if new {
                            round.pages += 1;
                        }
                    }
                }
            }
            super::providers::queue_team_chats(tx, &row.id, policy, &a.effects, now).await?;
        }
        Ok(Ok(round))
    }

    /// When the next escalation is due (Unix ms), if any (for tests and benchmarks; the engine
    /// runs on its tick and on wakes).
    pub async fn next_escalation_due(&self) -> Result<Option<i64>, StoreError> {
        let (due,): (Option<i64>,) = on_pool!(self, p => sqlx::query_as(
            "SELECT MIN(esc_due_at) FROM oncall_incidents WHERE esc_due_at IS NOT NULL")
            .fetch_one(p).await)?;
        Ok(due)
    }

    /// Adds a system entry to an on-call incident's timeline (a page sent or failed).
    pub async fn note_oncall(
        &self,
        incident_id: &str,
        kind: &str,
        channel: &str,
        body: &serde_json::Value,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        add_event(&mut tx, incident_id, kind, None, channel, None, body, now).await?;
        tx.commit().await
    }

    /// Marks a claimed job done and adds `kind` to an on-call incident's timeline in one
    /// commit (a page sent: one write instead of two on the page's path). `LeaseLost` (and
    /// nothing written) if the claim no longer holds, as [`Store::finish_job`].
    pub async fn finish_job_noting(
        &self,
        job: &super::Job,
        incident_id: &str,
        kind: &str,
        channel: &str,
        body: &serde_json::Value,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                sql(
                    "UPDATE jobs SET done_at = $1, last_error = NULL, lease_until = 0 \
                     WHERE id = $2 AND lease_token = $3 AND lease_until > $1 AND done_at IS NULL",
                )
                .bind(now)
                .bind(job.id)
                .bind(&job.lease_token),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::LeaseLost);
        }
        add_event(&mut tx, incident_id, kind, None, channel, None, body, now).await?;
        tx.commit().await
    }

    /// Resolves every open incident whose auto-resolve time has come (no new alert for its
    /// service's `auto_resolve_min`). Each in its own transaction, under the service lock and
    /// checked again there, so a new alert meanwhile keeps it open. Returns how many.
    pub async fn auto_resolve_due(&self, now: i64) -> Result<usize, StoreError> {
        let due: Vec<(String, Option<String>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, service_id FROM oncall_incidents WHERE auto_resolve_at <= $1 AND status <> 'resolved' \
             ORDER BY auto_resolve_at LIMIT 100")
            .bind(now).fetch_all(p).await)?;
        let mut resolved = 0;
        for (id, service_id) in due {
            let mut tx = self.begin().await?;
            if let Some(sid) = &service_id {
                super::paging::lock_service(&mut tx, sid).await?;
            }
            let n = tx
                .execute(
                    sql("UPDATE oncall_incidents SET status = 'resolved', resolved_at = $1, resolved_by = NULL, \
                         snoozed_until = NULL, auto_resolve_at = NULL \
                         WHERE id = $2 AND auto_resolve_at <= $1 AND status <> 'resolved'")
                        .bind(now)
                        .bind(&id),
                )
                .await?;
            if n == 0 {
                continue;
            }
            tx.execute(
                sql(
                    "UPDATE alerts SET status = 'resolved', resolved_at = $1, updated_at = $1 \
                     WHERE incident_id = $2 AND status <> 'resolved'",
                )
                .bind(now)
                .bind(&id),
            )
            .await?;
            react_in(&mut tx, &id, Change::Resolved, now).await?;
            add_event(
                &mut tx,
                &id,
                "auto_resolved",
                None,
                "",
                None,
                &json!({}),
                now,
            )
            .await?;
            tx.commit().await?;
            resolved += 1;
        }
        Ok(resolved)
    }
}

//! Reaching people, stored: notification rules, and the outbox of messages each contact method
//! owes. A page becomes one outbox row per method of the person's plan, due when the plan says,
//! with one [`Notify`] job each; a send claims every due row of its method at once (one message,
//! or a bundle) and records what happened on each incident's timeline. A failed send releases
//! its rows for the retry and brings the person's later methods for the same pages forward.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::jobs::enqueue_in;
use super::paging::add_event;
use super::people::CONTACT_COLS;
use super::tx::sql;
use super::{new_id, ContactMethod, JobSpec, Queue, Store, StoreError};
use app::domain::escalation::Urgency;
use app::domain::notify::{
    check_code, plan, throttled_until, MethodKind, NewRule, PendingCode, Rule,
};

/// Sends what one contact method owes (every due outbox row at once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notify {
    /// The contact method.
    pub contact_id: String,
    /// Makes the job unique: the outbox row it was queued for, or the throttle's wake-up.
    pub key: String,
}

impl JobSpec for Notify {
    const KIND: &'static str = "send";
    const QUEUE: Queue = Queue::Pages;
    const PRIORITY: i64 = 10;

    fn dedup_key(&self) -> Option<String> {
        Some(format!("send:{}", self.key))
    }
}

/// What a send may take now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// These rows (none: nothing is owed).
    Rows(Vec<OutboxRow>),
    /// Nothing yet: the rate limit says to try again at this time.
    Later(i64),
}

/// A stored notification rule.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredRule {
    /// Id.
    pub id: String,
    /// `high` or `low`.
    pub urgency: String,
    /// The contact method.
    pub contact_id: String,
    /// Minutes after the page.
    pub delay_min: i64,
}

/// One outbox row claimed for a send.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxRow {
    /// Id.
    pub id: String,
    /// Whom.
    pub user_id: String,
    /// About which incident.
    pub incident_id: String,
    /// The page's idempotency key.
    pub page_key: String,
    /// `high` or `low`.
    pub urgency: String,
}

/// One step of a page's plan as it is written: the method, its kind's name, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The rule (method and delay).
    pub rule: Rule,
    /// The method's kind, for the timeline ("push").
    pub kind: String,
    /// The method's label, if any.
    pub label: Option<String>,
}

/// What reaching one person takes: their contact methods and their rules, read before a
/// write transaction plans a page for them.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// Their contact methods.
    pub contacts: Vec<ContactMethod>,
    /// Their notification rules.
    pub rules: Vec<StoredRule>,
}

impl Reach {
    /// The plan for a page of `urgency`: their rules for it, or the defaults
    /// ([`app::domain::notify::plan`]), with each method's kind and label for the timeline.
    pub fn planned(&self, urgency: Urgency) -> Vec<Planned> {
        let methods: Vec<_> = self.contacts.iter().filter_map(|c| c.method()).collect();
        let rules: Vec<Rule> = self
            .rules
            .iter()
            .filter(|r| r.urgency == urgency.as_str())
            .map(|r| Rule {
                contact_id: r.contact_id.clone(),
                delay_min: r.delay_min,
            })
            .collect();
        plan(&rules, &methods, urgency)
            .into_iter()
            .filter_map(|rule| {
                let c = self.contacts.iter().find(|c| c.id == rule.contact_id)?;
                Some(Planned {
                    kind: c.kind.clone(),
                    label: c.label.clone(),
                    rule,
                })
            })
            .collect()
    }
}

/// Writes a page's plan in `tx`: one outbox row and one [`Notify`] job per step, due
/// `delay_min` after `now`, and the `paged` timeline entry saying the plan (or `page_failed`
/// when the plan is empty: the person has no working method). Written once per page key (a
/// re-run changes nothing). Returns whether it was new.
#[expect(clippy::too_many_arguments, reason = "one page's facts")]
pub(crate) async fn plan_in(
    tx: &mut super::tx::Tx,
    incident_id: &str,
    user_id: &str,
    page_key: &str,
    gen: Option<i64>,
    urgency: Urgency,
    plan: &[Planned],
    now: i64,
) -> Result<bool, StoreError> {
    if plan.is_empty() {
        let body = json!({ "user": user_id, "error": "no verified contact method to page" });
        add_event(tx, incident_id, "page_failed", None, "", None, &body, now).await?;
        return Ok(true);
    }
    let mut steps = Vec::new();
    for p in plan {
        let id = new_id();
        let due = now + p.rule.delay_min * 60_000;
        let inserted: Option<(String,)> = tx
            .fetch_optional(
                sql("INSERT INTO notify_outbox (id, user_id, contact_id, incident_id, page_key, gen, \
                     urgency, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (page_key, contact_id) DO NOTHING RETURNING id")
                .bind(&id)
                .bind(user_id)
                .bind(&p.rule.contact_id)
                .bind(incident_id)
                .bind(page_key)
                .bind(gen)
                .bind(urgency.as_str())
                .bind(due)
                .bind(now),
            )
            .await?;
        if inserted.is_some() {
            enqueue_in(
                tx,
                &Notify {
                    contact_id: p.rule.contact_id.clone(),
                    key: id,
                },
                due,
            )
            .await?;
            steps.push(json!({
                "kind": p.kind, "label": p.label, "delay_min": p.rule.delay_min,
            }));
        }
    }
    if steps.is_empty() {
        return Ok(false);
    }
    let body = json!({ "user": user_id, "key": page_key, "plan": steps });
    add_event(tx, incident_id, "paged", None, "", None, &body, now).await?;
    Ok(true)
}

/// A failed method falls through: `user`'s later methods for the page `page_key` (all but
/// `failed_contact`) become due at `now` and their sends are queued now (`why` tells the sends
/// apart from the ones queued with the plan). Returns their `(outbox id, contact id)`.
pub(crate) async fn bring_forward_in(
    tx: &mut super::tx::Tx,
    user: &str,
    page_key: &str,
    failed_contact: &str,
    why: &str,
    now: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    let moved: Vec<(String, String)> = tx
        .fetch_all(
            sql(
                "UPDATE notify_outbox SET due_at = $1 WHERE user_id = $2 AND page_key = $3 \
                 AND contact_id <> $4 AND state = 'pending' AND due_at > $1 \
                 RETURNING id, contact_id",
            )
            .bind(now)
            .bind(user)
            .bind(page_key)
            .bind(failed_contact),
        )
        .await?;
    for (id, contact) in &moved {
        enqueue_in(
            tx,
            &Notify {
                contact_id: contact.clone(),
                key: format!("{id}:{why}"),
            },
            now,
        )
        .await?;
    }
    Ok(moved)
}

impl Store {
    /// What reaching each of `users` takes (read on the pool, before a write transaction).
    pub async fn reach(
        &self,
        users: impl IntoIterator<Item = &String>,
    ) -> Result<std::collections::HashMap<String, Reach>, StoreError> {
        let mut out = std::collections::HashMap::new();
        for u in users {
            if out.contains_key(u) {
                continue;
            }
            let reach = Reach {
                contacts: self.contact_methods(u).await?,
                rules: self.notification_rules(u).await?,
            };
            out.insert(u.clone(), reach);
        }
        Ok(out)
    }

    /// A contact method by id.
    pub async fn contact(&self, id: &str) -> Result<ContactMethod, StoreError> {
        let row: Option<ContactMethod> = on_pool!(self, p => sqlx::query_as(
            &format!("SELECT {CONTACT_COLS} FROM contact_methods WHERE id = $1"))
            .bind(id)
            .fetch_optional(p)
            .await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Adds a contact method of any kind, not verified yet; `Conflict { field: "target" }` when
    /// the person already has it. `config` is the kind's settings (JSON).
    pub async fn add_contact(
        &self,
        user_id: &str,
        kind: MethodKind,
        target: &str,
        label: Option<&str>,
        config: &serde_json::Value,
        now: i64,
    ) -> Result<String, StoreError> {
        let id = new_id();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO contact_methods (id, user_id, kind, target, label, config, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(user_id)
            .bind(kind.as_str())
            .bind(target)
            .bind(label)
            .bind(config.to_string())
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| super::map_unique(e, "target"))?;
        Ok(id)
    }

    /// The same push subscription sent again (Enable pressed twice, or the browser's new keys
    /// for it): its keys and name are replaced in place, so the person's rules that use it
    /// stay. New keys, or a device the push service had called gone, must be verified again
    /// (the switch-off is lifted: the code's round trip shows whether it works now).
    /// `NotFound` unless it is theirs.
    pub async fn renew_push(
        &self,
        user_id: &str,
        contact_id: &str,
        label: &str,
        config: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE contact_methods SET label = $1, \
             verified_at = CASE WHEN config = $2 AND disabled_at IS NULL THEN verified_at ELSE NULL END, \
             config = $2, \
             disabled_at = NULL, disabled_reason = NULL \
             WHERE id = $3 AND user_id = $4 AND kind = 'push'")
            .bind(label)
            .bind(config.to_string())
            .bind(contact_id)
            .bind(user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        super::found(n)
    }

    /// Stores a new pending code (its SHA-256 hex) for one of `user_id`'s methods; the old
    /// one stops working. `NotFound` when the method is not theirs.
    pub async fn set_verification(
        &self,
        user_id: &str,
        contact_id: &str,
        code_hash: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE contact_methods SET verify_hash = $1, verify_expires_at = $2, verify_attempts = 0 \
             WHERE id = $3 AND user_id = $4")
            .bind(code_hash)
            .bind(expires_at)
            .bind(contact_id)
            .bind(user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        super::found(n)
    }

    /// Checks a typed code (its SHA-256 hex) against the pending one: right, the method is
    /// verified (and working again if it was disabled); wrong, the try is counted and
    /// `Invalid` (field `code`) says why. `NotFound` when the method is not theirs.
    pub async fn verify_contact(
        &self,
        user_id: &str,
        contact_id: &str,
        given_hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // The try is counted first, in the statement that reads the code (it locks the row on
        // PostgreSQL): tries at once cannot all see the count before any is added.
        let row: Option<(Option<String>, Option<i64>, i64)> = tx
            .fetch_optional(
                sql(
                    "UPDATE contact_methods SET verify_attempts = verify_attempts + 1 \
                     WHERE id = $1 AND user_id = $2 \
                     RETURNING verify_hash, verify_expires_at, verify_attempts - 1",
                )
                .bind(contact_id)
                .bind(user_id),
            )
            .await?;
        let (hash, expires_at, attempts) = row.ok_or(StoreError::NotFound)?;
        let pending = PendingCode {
            hash,
            expires_at,
            attempts,
        };
        match check_code(&pending, given_hash, now) {
            Ok(()) => {
                tx.execute(
                    sql(
                        "UPDATE contact_methods SET verified_at = $1, verify_hash = NULL, \
                         verify_expires_at = NULL, verify_attempts = 0, disabled_at = NULL, \
                         disabled_reason = NULL WHERE id = $2",
                    )
                    .bind(now)
                    .bind(contact_id),
                )
                .await?;
                adopt_gone_push_rules(&mut tx, user_id, contact_id, now).await?;
                tx.commit().await
            }
            Err(e) => {
                tx.commit().await?;
                Err(StoreError::Invalid(e))
            }
        }
    }

    /// A person's notification rules.
    pub async fn notification_rules(&self, user_id: &str) -> Result<Vec<StoredRule>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT id, urgency, contact_id, delay_min FROM notification_rules \
             WHERE user_id = $1 ORDER BY urgency, delay_min, created_at, id")
            .bind(user_id)
            .fetch_all(p)
            .await)?)
    }

    /// Adds a rule; `Conflict { field: "delay_min" }` when the same one exists.
    pub async fn add_notification_rule(
        &self,
        user_id: &str,
        rule: &NewRule,
        now: i64,
    ) -> Result<String, StoreError> {
        let id = new_id();
        on_pool!(self, p => sqlx::query(
            "INSERT INTO notification_rules (id, user_id, urgency, contact_id, delay_min, created_at) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS \
             (SELECT 1 FROM contact_methods WHERE id = $4 AND user_id = $2)")
            .bind(&id)
            .bind(user_id)
            .bind(rule.urgency.as_str())
            .bind(&rule.rule.contact_id)
            .bind(rule.rule.delay_min)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| super::map_unique(e, "delay_min"))
        .and_then(|n| if n == 0 { Err(StoreError::NotFound) } else { Ok(()) })?;
        Ok(id)
    }

    /// Removes one of `user_id`'s rules (`NotFound` when it is not theirs).
    pub async fn remove_notification_rule(
        &self,
        user_id: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query(
            "DELETE FROM notification_rules WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        super::found(n)
    }

    /// Writes a page's plan in its own transaction (see [`plan_in`]).
    #[expect(clippy::too_many_arguments, reason = "one page's facts")]
    pub async fn plan_page(
        &self,
        incident_id: &str,
        user_id: &str,
        page_key: &str,
        gen: Option<i64>,
        urgency: Urgency,
        plan: &[Planned],
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let new = plan_in(
            &mut tx,
            incident_id,
            user_id,
            page_key,
            gen,
            urgency,
            plan,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Claims every row `contact_id` owes at `now` for `lease_ms` under `token`, unless the
    /// method's rate limit (sends within `window_ms`, a send in progress counting as one now)
    /// says to wait: then nothing is claimed and the answer is when to try again. Rows whose
    /// incident was acknowledged, resolved or triggered again since their page are dropped
    /// first (the person's rules stop the moment anyone acknowledges). A claim left by a
    /// crashed send is taken over once it runs out. The method's row is locked for the
    /// decision, so sends for one method running at once cannot all slip under the limit.
    pub async fn claim_outbox(
        &self,
        contact_id: &str,
        token: &str,
        now: i64,
        lease_ms: i64,
        window_ms: i64,
    ) -> Result<Claim, StoreError> {
        let mut tx = self.begin().await?;
        tx.execute(
            sql("UPDATE contact_methods SET verify_attempts = verify_attempts WHERE id = $1")
                .bind(contact_id),
        )
        .await?;
        tx.execute(
            sql(
                "UPDATE notify_outbox SET state = 'dropped', claim = NULL WHERE contact_id = $1 \
                 AND state = 'pending' AND due_at <= $2 \
                 AND (claimed_until IS NULL OR claimed_until < $2) \
                 AND EXISTS (SELECT 1 FROM oncall_incidents i \
                 WHERE i.id = notify_outbox.incident_id AND (i.status <> 'triggered' \
                 OR (notify_outbox.gen IS NOT NULL AND i.esc_gen <> notify_outbox.gen)))",
            )
            .bind(contact_id)
            .bind(now),
        )
        .await?;
        // One entry per message (a sent row keeps its send's claim token: a bundle is one).
        let sent: Vec<(i64,)> = tx
            .fetch_all(
                sql("SELECT MIN(sent_at) FROM notify_outbox WHERE contact_id = $1 AND sent_at > $2 \
                     GROUP BY claim")
                    .bind(contact_id)
                    .bind(now - window_ms),
            )
            .await?;
        let sending: Vec<(String,)> = tx
            .fetch_all(
                sql(
                    "SELECT DISTINCT claim FROM notify_outbox WHERE contact_id = $1 \
                     AND state = 'pending' AND claimed_until >= $2",
                )
                .bind(contact_id)
                .bind(now),
            )
            .await?;
        let recent: Vec<i64> = sent
            .into_iter()
            .map(|(t,)| t)
            .chain(sending.iter().map(|_| now))
            .collect();
        if let Some(at) = throttled_until(&recent, now, window_ms) {
            tx.commit().await?;
            return Ok(Claim::Later(at.max(now + 1)));
        }
        let claim = format!(
            "UPDATE notify_outbox SET claim = $1, claimed_until = $2 WHERE id IN \
             (SELECT id FROM notify_outbox WHERE contact_id = $3 AND state = 'pending' AND due_at <= $4 \
             AND (claimed_until IS NULL OR claimed_until < $4) ORDER BY created_at, id{}) \
             RETURNING id, user_id, incident_id, page_key, urgency",
            tx.skip_locked()
        );
        let mut rows: Vec<OutboxRow> = tx
            .fetch_all(
                sql(claim)
                    .bind(token)
                    .bind(now + lease_ms)
                    .bind(contact_id)
                    .bind(now),
            )
            .await?;
        if rows.is_empty() {
            // Due rows another send still holds (a send cut off by its timeout, or a crashed
            // one not yet past its lease): try again when that claim runs out, so they are
            // never left without a send to take them.
            let held: Option<(Option<i64>,)> = tx
                .fetch_optional(
                    sql(
                        "SELECT MIN(claimed_until) FROM notify_outbox WHERE contact_id = $1 \
                         AND state = 'pending' AND due_at <= $2 AND claimed_until >= $2",
                    )
                    .bind(contact_id)
                    .bind(now),
                )
                .await?;
            tx.commit().await?;
            if let Some((Some(until),)) = held {
                return Ok(Claim::Later(until + 1));
            }
            return Ok(Claim::Rows(rows));
        }
        tx.commit().await?;
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Claim::Rows(rows))
    }

    /// Incidents still open (triggered) that `user_id` was paged about.
    pub async fn open_paged(&self, user_id: &str) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(DISTINCT o.incident_id) FROM notify_outbox o JOIN oncall_incidents i \
             ON i.id = o.incident_id WHERE o.user_id = $1 AND i.status = 'triggered'")
            .bind(user_id)
            .fetch_one(p)
            .await)?;
        Ok(n)
    }

    /// Records a claimed send as gone out: its rows are sent, and each incident's timeline says
    /// through what (`notified`).
    pub async fn outbox_sent(
        &self,
        token: &str,
        kind: &str,
        via: &str,
        provider_ref: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let rows: Vec<(String, String)> = tx
            .fetch_all(
                sql(
                    "UPDATE notify_outbox SET state = 'sent', sent_at = $1, provider_ref = $2, \
                     claimed_until = NULL WHERE claim = $3 AND state = 'pending' \
                     RETURNING incident_id, user_id",
                )
                .bind(now)
                .bind(provider_ref)
                .bind(token),
            )
            .await?;
        let bundle = rows.len();
        for (incident, user) in &rows {
            let body = json!({ "user": user, "via": via, "bundle": bundle });
            add_event(&mut tx, incident, "notified", None, kind, None, &body, now).await?;
        }
        tx.commit().await
    }

    /// Marks a claimed send's rows sent, nothing else: the fallback when [`Store::outbox_sent`]
    /// could not write the timeline, so no later send repeats the message.
    pub async fn outbox_mark_sent(&self, token: &str, now: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE notify_outbox SET state = 'sent', sent_at = $1, claimed_until = NULL \
             WHERE claim = $2 AND state = 'pending'")
            .bind(now)
            .bind(token)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Drops a claimed send's rows without sending (their person was deactivated meanwhile).
    pub async fn outbox_drop(&self, token: &str) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE notify_outbox SET state = 'dropped', claimed_until = NULL \
             WHERE claim = $1 AND state = 'pending'")
            .bind(token)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records a claimed send as failed: each incident's timeline says why (`notify_failed`);
    /// the rows wait for the retry (or, `gone`, are given up and the method disabled with the
    /// reason). The person's later methods for the same pages become due at once; returns
    /// their `(outbox id, contact id)` so their sends can be queued now.
    pub async fn outbox_failed(
        &self,
        token: &str,
        contact_id: &str,
        error: &str,
        gone: bool,
        now: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut tx = self.begin().await?;
        let rows: Vec<(String, String, String)> = tx
            .fetch_all(
                sql(
                    "UPDATE notify_outbox SET state = CASE WHEN $1 = 1 THEN 'failed' ELSE state END, \
                     claim = NULL, claimed_until = NULL WHERE claim = $2 AND state = 'pending' \
                     RETURNING incident_id, user_id, page_key",
                )
                .bind(gone)
                .bind(token),
            )
            .await?;
        let kind: Option<(String,)> = tx
            .fetch_optional(sql("SELECT kind FROM contact_methods WHERE id = $1").bind(contact_id))
            .await?;
        let kind = kind.map(|(k,)| k).unwrap_or_default();
        if gone {
            tx.execute(
                sql("UPDATE contact_methods SET disabled_at = $1, disabled_reason = $2 WHERE id = $3 AND disabled_at IS NULL")
                    .bind(now)
                    .bind(error)
                    .bind(contact_id),
            )
            .await?;
        }
        let mut sooner = Vec::new();
        for (incident, user, key) in &rows {
            let body = json!({ "user": user, "error": error, "gone": gone });
            add_event(
                &mut tx,
                incident,
                "notify_failed",
                None,
                &kind,
                None,
                &body,
                now,
            )
            .await?;
            let moved = bring_forward_in(&mut tx, user, key, contact_id, "sooner", now).await?;
            sooner.extend(moved);
        }
        tx.commit().await?;
        Ok(sooner)
    }

    /// Deletes outbox rows settled (sent, dropped, failed) before `before`.
    pub async fn prune_outbox(&self, before: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, p => sqlx::query(
            "DELETE FROM notify_outbox WHERE state <> 'pending' AND created_at < $1")
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }

    /// Queues a [`Notify`] for `contact_id` at `at` (the rate limit's wake-up).
    pub async fn send_later(&self, contact_id: &str, at: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        enqueue_in(
            &mut tx,
            &Notify {
                contact_id: contact_id.to_string(),
                key: format!("{contact_id}:at:{at}"),
            },
            at,
        )
        .await?;
        tx.commit().await
    }
}

/// A push device, once verified, takes over the rules of the person's push devices that
/// are gone (the push service said so): a phone that re-subscribed, or a new phone, is
/// reached as the old one was, instead of by none of the rules. Returns how many rules
/// moved (none unless `contact_id` is a verified push device of `user_id`).
async fn adopt_gone_push_rules(
    tx: &mut super::tx::Tx,
    user_id: &str,
    contact_id: &str,
    now: i64,
) -> Result<usize, StoreError> {
    let theirs: Option<(String,)> = tx
        .fetch_optional(
            sql(
                "SELECT id FROM contact_methods WHERE id = $1 AND user_id = $2 \
                 AND kind = 'push' AND verified_at IS NOT NULL AND disabled_at IS NULL",
            )
            .bind(contact_id)
            .bind(user_id),
        )
        .await?;
    if theirs.is_none() {
        return Ok(0);
    }
    let rules: Vec<(String, String, i64)> = tx
        .fetch_all(
            sql(
                "SELECT r.id, r.urgency, r.delay_min FROM notification_rules r \
                 JOIN contact_methods c ON c.id = r.contact_id \
                 WHERE r.user_id = $1 AND c.user_id = $1 AND c.kind = 'push' \
                 AND c.disabled_at IS NOT NULL AND c.id <> $2",
            )
            .bind(user_id)
            .bind(contact_id),
        )
        .await?;
    let mut moved = 0;
    for (id, urgency, delay_min) in &rules {
        // Two gone devices may have had the same rule: it is taken once.
        let added = tx
            .execute(
                sql("INSERT INTO notification_rules (id, user_id, urgency, contact_id, delay_min, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (user_id, urgency, contact_id, delay_min) DO NOTHING")
                .bind(new_id())
                .bind(user_id)
                .bind(urgency)
                .bind(contact_id)
                .bind(*delay_min)
                .bind(now),
            )
            .await?;
        moved += usize::try_from(added).unwrap_or(0);
        tx.execute(sql("DELETE FROM notification_rules WHERE id = $1").bind(id))
            .await?;
    }
    Ok(moved)
}

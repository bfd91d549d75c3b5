//! The background job queue (claimed with a lease; `FOR UPDATE SKIP LOCKED` on PostgreSQL),
//! status-page subscribers, and per-key rate-limit counters.

use super::tx::{sql, Tx};
use super::{begin_write, new_id, Db, Store, StoreError};
use crate::domain::subscription::{SubscribeDraft, SubscriberKind};

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Row id.
    pub id: i64,
    /// What to do, e.g. `fanout`, `deliver`, `confirm`.
    pub kind: String,
    /// JSON arguments.
    pub payload: String,
    /// Attempts so far, including this one.
    pub attempts: i64,
}

/// A subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// Stable id.
    pub id: String,
    /// Email or webhook.
    pub kind: SubscriberKind,
    /// Address or URL.
    pub target: String,
    /// Component ids; empty means all.
    pub components: Vec<String>,
    /// Secret for confirm and unsubscribe links.
    pub token: String,
    /// When the address confirmed (webhooks: when added).
    pub confirmed_at: Option<i64>,
    /// Created.
    pub created_at: i64,
}

type SubscriberRow = (String, String, String, String, String, Option<i64>, i64);

fn subscriber(r: SubscriberRow) -> Subscriber {
    let (id, kind, target, components, token, confirmed_at, created_at) = r;
    Subscriber {
        id,
        kind: if kind == "webhook" {
            SubscriberKind::Webhook
        } else {
            SubscriberKind::Email
        },
        target,
        components: serde_json::from_str(&components).unwrap_or_default(),
        token,
        confirmed_at,
        created_at,
    }
}

const SUBSCRIBER_SELECT: &str =
    "SELECT id, kind, target, components, token, confirmed_at, created_at FROM subscribers";

/// Queues a job inside a write's transaction, so it exists exactly when the change does.
pub(crate) async fn enqueue_in(
    tx: &mut Tx,
    kind: &str,
    payload: &str,
    run_at: i64,
) -> Result<(), StoreError> {
    tx.execute(
        sql("INSERT INTO jobs (kind, payload, run_at, created_at) VALUES ($1, $2, $3, $3)")
            .bind(kind)
            .bind(payload)
            .bind(run_at),
    )
    .await?;
    Ok(())
}

impl Store {
    // ---- jobs ----

    /// Queues a job to run at `run_at`.
    pub async fn enqueue(&self, kind: &str, payload: &str, run_at: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        enqueue_in(&mut tx, kind, payload, run_at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims up to `limit` due jobs for `lease_ms`; a job whose worker died is claimed again
    /// when its lease runs out.
    pub async fn claim_jobs(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let lock = match self.db {
            Db::Sqlite(_) => "",
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE jobs SET lease_until = $1, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= $2 AND lease_until <= $2 \
             ORDER BY run_at, id LIMIT $3{lock}) RETURNING id, kind, payload, attempts"
        );
        let rows: Vec<(i64, String, String, i64)> = on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            let rows = sqlx::query_as(&sql)
                .bind(now + lease_ms)
                .bind(now)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(rows)
        })?;
        let mut jobs: Vec<Job> = rows
            .into_iter()
            .map(|(id, kind, payload, attempts)| Job {
                id,
                kind,
                payload,
                attempts,
            })
            .collect();
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// Marks a job done.
    pub async fn finish_job(&self, id: i64, now: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("UPDATE jobs SET done_at = $1, last_error = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Records a failure: retry at `retry_at`, or give up (`None`) and keep the error.
    pub async fn fail_job(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE jobs SET last_error = $1, lease_until = 0, run_at = COALESCE($2, run_at), \
             done_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END WHERE id = $4")
            .bind(error)
            .bind(retry_at)
            .bind(now)
            .bind(id)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Jobs not yet done: `(pending, failed at least once)`.
    pub async fn job_backlog(&self) -> Result<(i64, i64), StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN last_error IS NULL THEN 0 ELSE 1 END), 0) FROM jobs WHERE done_at IS NULL")
            .fetch_one(p)
            .await)?)
    }

    /// Deletes finished jobs older than `before`.
    pub async fn prune_jobs(&self, before: i64) -> Result<u64, StoreError> {
        Ok(
            on_pool!(self, p => sqlx::query("DELETE FROM jobs WHERE done_at IS NOT NULL AND done_at < $1")
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?,
        )
    }

    /// Queues one `deliver` job per confirmed subscriber, in batches, each in its own transaction.
    /// `filter` decides from a subscriber's component choice whether it gets this update.
    pub async fn fan_out(
        &self,
        update_id: &str,
        filter: impl Fn(&[String]) -> bool,
        now: i64,
    ) -> Result<usize, StoreError> {
        let subs = self.subscribers(true).await?;
        let targets: Vec<&Subscriber> = subs.iter().filter(|s| filter(&s.components)).collect();
        for chunk in targets.chunks(500) {
            on_pool!(self, p => {
                let mut tx = begin_write(p).await?;
                for s in chunk {
                    let payload = serde_json::json!({ "subscriber_id": s.id, "update_id": update_id }).to_string();
                    // A retried or re-run fan-out queues nothing twice.
                    sqlx::query(
                        "INSERT INTO jobs (kind, payload, run_at, created_at, dedup_key) VALUES ('deliver', $1, $2, $2, $3) \
                         ON CONFLICT (dedup_key) DO NOTHING")
                        .bind(&payload)
                        .bind(now)
                        .bind(format!("deliver:{update_id}:{}", s.id))
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok::<(), StoreError>(())
            })?;
        }
        Ok(targets.len())
    }

    // ---- subscribers ----

    /// Adds a subscriber, or returns the existing one for the same address/URL (with its
    /// component choice updated while unconfirmed). Email subscribers start unconfirmed; webhooks (added by an
    /// admin) are confirmed at once. Returns the subscriber and whether it is new.
    pub async fn subscribe(
        &self,
        d: &SubscribeDraft,
        ip: &str,
        now: i64,
    ) -> Result<(Subscriber, bool), StoreError> {
        let components = serde_json::to_string(&d.components).unwrap_or_else(|_| "[]".into());
        let confirmed = (d.kind == SubscriberKind::Webhook).then_some(now);
        let sql = format!("{SUBSCRIBER_SELECT} WHERE kind = $1 AND target = $2");
        let (row, new): (SubscriberRow, bool) = on_pool!(self, p => {
            let mut tx = begin_write(p).await?;
            let existing: Option<SubscriberRow> = sqlx::query_as(&sql)
                .bind(d.kind.as_str())
                .bind(&d.target)
                .fetch_optional(&mut *tx)
                .await?;
            let new = existing.is_none();
            if new {
                // Two requests for the same address at once: the second one finds the first.
                sqlx::query(
                    "INSERT INTO subscribers (id, kind, target, components, token, confirmed_at, created_ip, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, target) DO NOTHING")
                    .bind(new_id())
                    .bind(d.kind.as_str())
                    .bind(&d.target)
                    .bind(&components)
                    .bind(new_id() + &new_id() + &new_id())
                    .bind(confirmed)
                    .bind(ip)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            } else {
                // Only an unconfirmed subscription takes the new choice: nobody can change a
                // confirmed subscriber's preferences by submitting the public form.
                sqlx::query("UPDATE subscribers SET components = $1 WHERE kind = $2 AND target = $3 \
                             AND confirmed_at IS NULL")
                    .bind(&components)
                    .bind(d.kind.as_str())
                    .bind(&d.target)
                    .execute(&mut *tx)
                    .await?;
            }
            let row: SubscriberRow = sqlx::query_as(&sql)
                .bind(d.kind.as_str())
                .bind(&d.target)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>((row, new))
        })?;
        Ok((subscriber(row), new))
    }

    /// Confirms the subscriber with this token; `NotFound` for an unknown token.
    pub async fn confirm_subscriber(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Subscriber, StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE subscribers SET confirmed_at = COALESCE(confirmed_at, $1) WHERE token = $2")
            .bind(now)
            .bind(token)
            .execute(p)
            .await
            .map(|_| ()))?;
        self.subscriber_by_token(token).await
    }

    /// The subscriber with this token.
    pub async fn subscriber_by_token(&self, token: &str) -> Result<Subscriber, StoreError> {
        let sql = format!("{SUBSCRIBER_SELECT} WHERE token = $1");
        let row: Option<SubscriberRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(token).fetch_optional(p).await)?;
        row.map(subscriber).ok_or(StoreError::NotFound)
    }

    /// The subscriber with this id.
    pub async fn subscriber(&self, id: &str) -> Result<Subscriber, StoreError> {
        let sql = format!("{SUBSCRIBER_SELECT} WHERE id = $1");
        let row: Option<SubscriberRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        row.map(subscriber).ok_or(StoreError::NotFound)
    }

    /// Removes the subscriber with this token.
    pub async fn unsubscribe(&self, token: &str) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query("DELETE FROM subscribers WHERE token = $1")
            .bind(token)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        super::found(n)
    }

    /// Removes a subscriber by id (admin).
    pub async fn delete_subscriber(&self, id: &str) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query("DELETE FROM subscribers WHERE id = $1")
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        super::found(n)
    }

    /// All subscribers (or only confirmed ones), oldest first.
    pub async fn subscribers(&self, confirmed_only: bool) -> Result<Vec<Subscriber>, StoreError> {
        let sql = if confirmed_only {
            format!("{SUBSCRIBER_SELECT} WHERE confirmed_at IS NOT NULL ORDER BY created_at, id")
        } else {
            format!("{SUBSCRIBER_SELECT} ORDER BY created_at, id")
        };
        let rows: Vec<SubscriberRow> =
            on_pool!(self, p => sqlx::query_as(&sql).fetch_all(p).await)?;
        Ok(rows.into_iter().map(subscriber).collect())
    }

    // ---- rate limits ----

    /// Counts one request for `key` in the fixed window of `window_ms` containing `now`;
    /// returns the count including this one.
    pub async fn rate_limit_hit(
        &self,
        key: &str,
        window_ms: i64,
        now: i64,
    ) -> Result<i64, StoreError> {
        let start = now - now.rem_euclid(window_ms);
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1) \
             ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limits.count + 1 RETURNING count")
            .bind(key)
            .bind(start)
            .fetch_one(p)
            .await)?;
        Ok(n)
    }

    /// Deletes rate-limit windows that started before `before`.
    pub async fn prune_rate_limits(&self, before: i64) -> Result<u64, StoreError> {
        Ok(
            on_pool!(self, p => sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?,
        )
    }
}

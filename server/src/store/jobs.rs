//! The background job queue, status-page subscribers, and per-key rate-limit counters.
//!
//! Jobs are typed: each kind is a Rust type implementing [`JobSpec`] (its payload is the type
//! itself, stored as JSON; its queue and priority are constants). Queues are claimed one at a
//! time ([`Store::claim_jobs`]), so each has its own workers and a backlog in one never delays
//! another. Every claim writes a fresh lease token; [`Store::finish_job`] and
//! [`Store::fail_job`] apply only while the worker still holds the lease. PostgreSQL claims with
//! `FOR UPDATE SKIP LOCKED`, so several instances share the queues.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::tx::{sql, Tx};
use super::{new_id, Store, StoreError};
use app::domain::subscription::{SubscribeDraft, Subscriber, SubscriberKind};

/// A job queue. Each queue has its own workers and is claimed on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    /// Paging notifications: nothing else runs on its workers, so no fan-out can delay a page.
    Pages,
    /// Status-page subscriber work: fan-out, confirmation mail, update mail and webhooks.
    Subscribers,
}

impl Queue {
    /// Every queue, most urgent first.
    pub const ALL: [Queue; 2] = [Queue::Pages, Queue::Subscribers];

    /// The name stored in the `queue` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Queue::Pages => "pages",
            Queue::Subscribers => "subscribers",
        }
    }
}

impl std::fmt::Display for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Queue {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Queue, StoreError> {
        Queue::ALL
            .into_iter()
            .find(|q| q.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("job queue {s:?}")))
    }
}

/// One kind of background job. The payload is the implementing type itself, stored as JSON in
/// the row; rows outlive versions, so a kind's name and its fields' names never change (add
/// fields with `#[serde(default)]`).
pub trait JobSpec: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stored in the `kind` column; the engine dispatches on it.
    const KIND: &'static str;
    /// Whose workers run it.
    const QUEUE: Queue;
    /// Among due jobs of the same queue, higher runs first.
    const PRIORITY: i64 = 0;

    /// A key that makes queueing the same job again a no-op (while the first row is kept).
    fn dedup_key(&self) -> Option<String> {
        None
    }
}

/// Fan an incident update out to its subscribers: queues one [`Deliver`] per subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fanout {
    /// The incident update to announce.
    pub update_id: String,
}

impl JobSpec for Fanout {
    const KIND: &'static str = "fanout";
    const QUEUE: Queue = Queue::Subscribers;
    const PRIORITY: i64 = 10;
}

/// Mail an email subscriber the link that confirms the subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirm {
    /// The unconfirmed subscriber.
    pub subscriber_id: String,
}

impl JobSpec for Confirm {
    const KIND: &'static str = "confirm";
    const QUEUE: Queue = Queue::Subscribers;
    /// Someone is waiting for this mail: it goes before any delivery.
    const PRIORITY: i64 = 20;
}

/// Send one incident update to one subscriber (mail or webhook).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliver {
    /// The subscriber.
    pub subscriber_id: String,
    /// The incident update.
    pub update_id: String,
}

impl JobSpec for Deliver {
    const KIND: &'static str = "deliver";
    const QUEUE: Queue = Queue::Subscribers;

    /// A retried or re-run fan-out queues nobody twice.
    fn dedup_key(&self) -> Option<String> {
        Some(format!("deliver:{}:{}", self.update_id, self.subscriber_id))
    }
}

/// A claimed job, held under a lease until `lease_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Row id.
    pub id: i64,
    /// Which [`JobSpec::KIND`].
    pub kind: String,
    /// The queue it was claimed from.
    pub queue: Queue,
    /// The payload, JSON.
    pub payload: String,
    /// Attempts so far, including this one.
    pub attempts: i64,
    /// This claim's lease token: finishing or failing the job needs it.
    pub lease_token: String,
    /// When the lease runs out, Unix ms; after it another worker may claim the job.
    pub lease_until: i64,
}

impl Job {
    /// Whether this is a job of kind `J`.
    pub fn is<J: JobSpec>(&self) -> bool {
        self.kind == J::KIND
    }

    /// The typed payload; `Corrupt` when the kind differs or the JSON does not fit `J`.
    pub fn payload<J: JobSpec>(&self) -> Result<J, StoreError> {
        if !self.is::<J>() {
            return Err(StoreError::Corrupt(format!(
                "job {} is a {:?}, not a {:?}",
                self.id,
                self.kind,
                J::KIND
            )));
        }
        serde_json::from_str(&self.payload).map_err(|e| {
            StoreError::Corrupt(format!("payload of {:?} job {}: {e}", self.kind, self.id))
        })
    }
}

/// A job row as stored, for inspection (tests, the admin's backlog).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRecord {
    /// Row id.
    pub id: i64,
    /// Its kind.
    pub kind: String,
    /// Its queue's name.
    pub queue: String,
    /// Its priority.
    pub priority: i64,
    /// The payload, JSON.
    pub payload: String,
    /// Claims so far.
    pub attempts: i64,
    /// Due from, Unix ms.
    pub run_at: i64,
    /// Leased until, Unix ms (0: not leased).
    pub lease_until: i64,
    /// The last error, if the last attempt failed.
    pub last_error: Option<String>,
    /// When it finished (done or given up), Unix ms.
    pub done_at: Option<i64>,
}

/// Queues `job` to run at `run_at` inside the open transaction `tx`, so a write and
/// the work it causes commit together. Returns the row id, or `None` when a job with the same
/// [`JobSpec::dedup_key`] already exists.
pub(crate) async fn enqueue_in<J: JobSpec>(
    tx: &mut Tx,
    job: &J,
    run_at: i64,
) -> Result<Option<i64>, StoreError> {
    let payload = serde_json::to_string(job)
        .map_err(|e| StoreError::Corrupt(format!("{} payload: {e}", J::KIND)))?;
    let id: Option<(i64,)> = tx
        .fetch_optional(
            sql("INSERT INTO jobs (kind, queue, priority, payload, run_at, created_at, dedup_key) \
                 VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (dedup_key) DO NOTHING RETURNING id")
            .bind(J::KIND)
            .bind(J::QUEUE.as_str())
            .bind(J::PRIORITY)
            .bind(payload)
            .bind(run_at)
            .bind(job.dedup_key()),
        )
        .await?;
    if id.is_some() {
        tx.wake(super::Work::Queue(J::QUEUE));
    }
    Ok(id.map(|(id,)| id))
}

type JobRow = (i64, String, String, i64, String, i64, i64);

#[derive(sqlx::FromRow)]
struct SubscriberRow {
    id: String,
    kind: String,
    target: String,
    components: String,
    token: String,
    confirmed_at: Option<i64>,
    created_at: i64,
}

impl TryFrom<SubscriberRow> for Subscriber {
    type Error = StoreError;
    fn try_from(r: SubscriberRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("{what} {v:?}"));
        Ok(Subscriber {
            kind: match r.kind.as_str() {
                "webhook" => SubscriberKind::Webhook,
                "email" => SubscriberKind::Email,
                k => return Err(corrupt("subscriber kind", k)),
            },
            components: serde_json::from_str(&r.components)
                .map_err(|_| corrupt("subscriber components", &r.components))?,
            id: r.id,
            target: r.target,
            token: r.token,
            confirmed_at: r.confirmed_at,
            created_at: r.created_at,
        })
    }
}

const SUBSCRIBER_SELECT: &str =
    "SELECT id, kind, target, components, token, confirmed_at, created_at FROM subscribers";

impl Store {
    // ---- jobs ----

    /// Queues `job` to run at `run_at`; returns its id (`None`: already queued, same dedup key).
    pub async fn enqueue<J: JobSpec>(
        &self,
        job: &J,
        run_at: i64,
    ) -> Result<Option<i64>, StoreError> {
        let mut tx = self.begin().await?;
        let id = enqueue_in(&mut tx, job, run_at).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Queues many jobs of one kind in one transaction; returns how many were new.
    pub async fn enqueue_many<J: JobSpec>(
        &self,
        jobs: &[J],
        run_at: i64,
    ) -> Result<usize, StoreError> {
        let mut queued = 0;
        for chunk in jobs.chunks(500) {
            let mut tx = self.begin().await?;
            for job in chunk {
                if enqueue_in(&mut tx, job, run_at).await?.is_some() {
                    queued += 1;
                }
            }
            tx.commit().await?;
        }
        Ok(queued)
    }

    /// Claims up to `limit` due jobs of `queue` (highest priority, then oldest first) for
    /// `lease_ms`, under one fresh lease token. A job whose worker died is claimed again when
    /// its lease runs out.
    pub async fn claim_jobs(
        &self,
        queue: Queue,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let token = format!("{}{}", new_id(), new_id());
        let mut tx = self.begin().await?;
        let claim = format!(
            "UPDATE jobs SET lease_until = $1, lease_token = $2, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM jobs WHERE queue = $3 AND done_at IS NULL AND run_at <= $4 AND lease_until <= $4 \
             ORDER BY priority DESC, run_at, id LIMIT $5{}) \
             RETURNING id, kind, payload, attempts, lease_token, lease_until, priority",
            tx.skip_locked()
        );
        let mut rows: Vec<JobRow> = tx
            .fetch_all(
                sql(claim)
                    .bind(now + lease_ms)
                    .bind(&token)
                    .bind(queue.as_str())
                    .bind(now)
                    .bind(limit),
            )
            .await?;
        tx.commit().await?;
        // RETURNING has no order: hand the jobs out in the order they were picked.
        rows.sort_by_key(|r| (std::cmp::Reverse(r.6), r.0));
        Ok(rows
            .into_iter()
            .map(
                |(id, kind, payload, attempts, lease_token, lease_until, _)| Job {
                    id,
                    kind,
                    queue,
                    payload,
                    attempts,
                    lease_token,
                    lease_until,
                },
            )
            .collect())
    }

    /// Marks a claimed job done, if `job`'s claim still holds the lease at `now`; otherwise
    /// changes nothing and returns `LeaseLost` (the lease ran out, and another worker may have
    /// the job).
    pub async fn finish_job(&self, job: &Job, now: i64) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE jobs SET done_at = $1, last_error = NULL, lease_until = 0 \
             WHERE id = $2 AND lease_token = $3 AND lease_until > $1 AND done_at IS NULL")
            .bind(now)
            .bind(job.id)
            .bind(&job.lease_token)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::LeaseLost);
        }
        Ok(())
    }

    /// Records a failure of a claimed job: retry at `retry_at`, or give up (`None`) and keep
    /// the error. Like [`Store::finish_job`], only while the claim holds the lease (`LeaseLost`).
    pub async fn fail_job(
        &self,
        job: &Job,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        let n = on_pool!(self, p => sqlx::query(
            "UPDATE jobs SET last_error = $1, lease_until = 0, run_at = COALESCE($2, run_at), \
             done_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END \
             WHERE id = $4 AND lease_token = $5 AND lease_until > $3 AND done_at IS NULL")
            .bind(error)
            .bind(retry_at)
            .bind(now)
            .bind(job.id)
            .bind(&job.lease_token)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::LeaseLost);
        }
        Ok(())
    }

    /// One job row as stored.
    pub async fn job(&self, id: i64) -> Result<JobRecord, StoreError> {
        let row: Option<JobRecord> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, kind, queue, priority, payload, attempts, run_at, lease_until, last_error, done_at \
             FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(p)
            .await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Jobs not yet done: `(pending, failed at least once)`.
    pub async fn job_backlog(&self) -> Result<(i64, i64), StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN last_error IS NULL THEN 0 ELSE 1 END), 0) FROM jobs WHERE done_at IS NULL")
            .fetch_one(p)
            .await)?)
    }

    /// Jobs due by `now` and not done (the work a settled engine has none of).
    pub async fn due_jobs(&self, now: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*) FROM jobs WHERE done_at IS NULL AND run_at <= $1")
            .bind(now)
            .fetch_one(p)
            .await)?;
        Ok(n)
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

    /// Queues one [`Deliver`] per confirmed subscriber, in batches, each in its own transaction.
    /// `filter` decides from a subscriber's component choice whether it gets this update.
    pub async fn fan_out(
        &self,
        update_id: &str,
        filter: impl Fn(&[String]) -> bool,
        now: i64,
    ) -> Result<usize, StoreError> {
        let subs = self.subscribers(true).await?;
        let deliveries: Vec<Deliver> = subs
            .iter()
            .filter(|s| filter(&s.components))
            .map(|s| Deliver {
                subscriber_id: s.id.clone(),
                update_id: update_id.to_string(),
            })
            .collect();
        // A retried or re-run fan-out queues nothing twice (the dedup key).
        self.enqueue_many(&deliveries, now).await?;
        Ok(deliveries.len())
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
        let by_address = format!("{SUBSCRIBER_SELECT} WHERE kind = $1 AND target = $2");
        let mut tx = self.begin().await?;
        let existing: Option<SubscriberRow> = tx
            .fetch_optional(sql(&by_address).bind(d.kind.as_str()).bind(&d.target))
            .await?;
        let new = existing.is_none();
        if new {
            // Two requests for the same address at once: the second one finds the first.
            tx.execute(
                sql("INSERT INTO subscribers (id, kind, target, components, token, confirmed_at, created_ip, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, target) DO NOTHING")
                .bind(new_id())
                .bind(d.kind.as_str())
                .bind(&d.target)
                .bind(&components)
                .bind(new_id() + &new_id() + &new_id())
                .bind(confirmed)
                .bind(ip)
                .bind(now),
            )
            .await?;
        } else {
            // Only an unconfirmed subscription takes the new choice: nobody can change a
            // confirmed subscriber's preferences by submitting the public form.
            tx.execute(
                sql(
                    "UPDATE subscribers SET components = $1 WHERE kind = $2 AND target = $3 \
                     AND confirmed_at IS NULL",
                )
                .bind(&components)
                .bind(d.kind.as_str())
                .bind(&d.target),
            )
            .await?;
        }
        let row: SubscriberRow = tx
            .fetch_one(sql(&by_address).bind(d.kind.as_str()).bind(&d.target))
            .await?;
        tx.commit().await?;
        Ok((Subscriber::try_from(row)?, new))
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
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// The subscriber with this id.
    pub async fn subscriber(&self, id: &str) -> Result<Subscriber, StoreError> {
        let sql = format!("{SUBSCRIBER_SELECT} WHERE id = $1");
        let row: Option<SubscriberRow> =
            on_pool!(self, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)?.try_into()
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
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let id = r.id.clone();
                Subscriber::try_from(r)
                    .map_err(|e| tracing::error!(subscriber = %id, error = %e, "skipping an unreadable subscriber"))
                    .ok()
            })
            .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn claimed(kind: &str, payload: &str) -> Job {
        Job {
            id: 1,
            kind: kind.into(),
            queue: Queue::Subscribers,
            payload: payload.into(),
            attempts: 1,
            lease_token: "t".into(),
            lease_until: 0,
        }
    }

    /// The payloads older versions stored read as the typed jobs, and the typed jobs store the
    /// same JSON: a queue survives an upgrade (and a rollback).
    #[test]
    fn payloads_match_what_older_versions_stored() {
        let cases: [(&str, &str); 3] = [
            ("fanout", r#"{"update_id":"u1"}"#),
            ("confirm", r#"{"subscriber_id":"s1"}"#),
            ("deliver", r#"{"subscriber_id":"s1","update_id":"u1"}"#),
        ];
        let fanout = claimed(cases[0].0, cases[0].1).payload::<Fanout>().unwrap();
        assert_eq!(serde_json::to_string(&fanout).unwrap(), cases[0].1);
        let confirm = claimed(cases[1].0, cases[1].1)
            .payload::<Confirm>()
            .unwrap();
        assert_eq!(serde_json::to_string(&confirm).unwrap(), cases[1].1);
        let deliver = claimed(cases[2].0, cases[2].1)
            .payload::<Deliver>()
            .unwrap();
        assert_eq!(serde_json::to_string(&deliver).unwrap(), cases[2].1);
        assert_eq!(deliver.dedup_key().as_deref(), Some("deliver:u1:s1"));
        // A field added by a newer version does not break an older reader.
        let newer = claimed("fanout", r#"{"update_id":"u2","extra":true}"#);
        assert_eq!(newer.payload::<Fanout>().unwrap().update_id, "u2");
    }

    #[test]
    fn a_payload_of_another_kind_or_shape_is_corrupt() {
        assert!(matches!(
            claimed("deliver", r#"{"update_id":"u1"}"#).payload::<Fanout>(),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            claimed("deliver", r#"{"update_id":"u1"}"#).payload::<Deliver>(),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn queue_names_round_trip() {
        for q in Queue::ALL {
            assert_eq!(q.as_str().parse::<Queue>().unwrap(), q);
        }
        assert!("nope".parse::<Queue>().is_err());
    }
}

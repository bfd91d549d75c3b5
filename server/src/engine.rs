//! The background engine: moves maintenance windows along by the clock, runs HTTP probes and
//! watches heartbeats, and works the job queues with retries. Each queue ([`Queue`]) has its own
//! worker loop and slots, so a page never waits behind a subscriber fan-out; each job runs on
//! its own task under `job_timeout_secs`, so one slow send holds up nothing else. Jobs are typed
//! ([`JobSpec`]) and dispatched by kind to their [`Perform`] implementation. Work is claimed
//! through the database (leases with a token checked when the result is recorded, and
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL), so several instances share it safely and a restart
//! loses nothing. Mail, webhooks and probes go through [`crate::services`].

use std::time::Duration;

use crate::notify::{Outgoing, Purpose, SendFailure};
use crate::store::{
    Claim, Confirm, Deliver, Fanout, Job, JobSpec, Monitor, Notify, Page, Queue, ShiftNotice,
    StoreError, Work,
};
use anyhow::{anyhow, bail, Context};
use app::domain::escalation::Urgency;
use app::domain::monitor::MonitorKind;
use app::domain::notify::{self, About};
use app::domain::subscription::{retry_delay_ms, wants, SubscriberKind};
use async_trait::async_trait;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::Message;
use tokio::task::JoinSet;

use crate::state::AppState;

/// How often the clock-driven work runs, and how often an idle queue looks for due jobs.
const TICK: Duration = Duration::from_secs(1);

/// How many jobs of `queue` run at once (per instance). Each queue has its own workers, so a
/// subscriber fan-out can fill its own slots but never a page's.
fn slots(queue: Queue) -> usize {
    match queue {
        Queue::Pages => 8,
        Queue::Subscribers => 16,
    }
}

/// A claimed job is claimed again by someone else after this long: well beyond the per-job
/// timeout, so a job that is still running keeps its lease.
fn lease_ms(job_timeout: Duration) -> i64 {
    i64::try_from(job_timeout.as_millis())
        .unwrap_or(i64::MAX / 4)
        .saturating_mul(2)
        .saturating_add(60_000)
}

/// Runs until the task is aborted.
pub async fn run(state: AppState) {
    tokio::join!(
        tick_loop(state.clone()),
        escalation_loop(state.clone()),
        work_queue(state.clone(), Queue::Pages),
        work_queue(state, Queue::Subscribers),
    );
}

async fn tick_loop(state: AppState) {
    let mut last_prune = state.clock.now_ms();
    let mut last_shifts = i64::MIN;
    loop {
        let now = state.clock.now_ms();
        tick(&state, now).await;
        // Shift reminders and hand-off summaries: once a minute is enough (each is queued once).
        if now.saturating_sub(last_shifts) >= crate::notify::notices::ROUND_EVERY_MS
            || now < last_shifts
        {
            last_shifts = now;
            if let Err(e) = crate::notify::notices::shift_round(&state, now).await {
                tracing::warn!(error = %e, "queueing shift notices failed");
            }
        }
        if now - last_prune > 3_600_000 {
            last_prune = now;
            prune(&state, now).await;
        }
        state.ticked.send_replace(now);
        // Counted from this round's `now`: time that passed meanwhile (a slow round, or a test
        // moving a fake clock on) shortens the wait instead of being lost.
        // Never longer than one tick from the clock's reading now either: a wall clock stepped
        // back (NTP, a resumed VM) must not stall the engine for the size of the step.
        let tick_ms = i64::try_from(TICK.as_millis()).unwrap_or(1000);
        let next = now
            .saturating_add(tick_ms)
            .min(state.clock.now_ms().saturating_add(tick_ms));
        state.clock.sleep_until(next).await;
    }
}

/// One round of the clock-driven work at `now`: steps maintenance windows, starts the probes
/// that are due, and marks silent heartbeats. The engine runs it every [`TICK`] of the clock.
async fn tick(state: &AppState, now: i64) {
    if let Err(e) = state.store.advance_maintenance(now).await {
        tracing::warn!(error = %e, "advancing maintenance failed");
    }
    escalate(state, now).await;
    match state.store.auto_resolve_due(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(incidents = n, "on-call incidents resolved automatically"),
        Err(e) => tracing::warn!(error = %e, "auto-resolving failed"),
    }
    match state.store.wake_snoozed(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(incidents = n, "snoozed on-call incidents triggered again"),
        Err(e) => tracing::warn!(error = %e, "waking snoozed incidents failed"),
    }
    match state
        .store
        .claim_due_monitors(MonitorKind::Http, now, 70_000, 50)
        .await
    {
        Ok(due) => {
            for m in due {
                tokio::spawn(run_probe(state.clone(), m));
            }
        }
        Err(e) => tracing::warn!(error = %e, "claiming probes failed"),
    }
    match state
        .store
        .claim_due_monitors(MonitorKind::Heartbeat, now, 10_000, 50)
        .await
    {
        Ok(overdue) => {
            for m in overdue {
                let msg = format!("no ping for {} s", m.interval_s);
                record(state, &m, false, None, Some(&msg)).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "claiming heartbeats failed"),
    }
}

/// Incidents decided per escalation round (one transaction).
const ESCALATION_BATCH: i64 = 200;

/// Runs escalation rounds at `now` until nothing is due.
async fn escalate(state: &AppState, now: i64) {
    loop {
        match state.store.escalate_due(now, ESCALATION_BATCH).await {
            Ok(round) if round.incidents as i64 >= ESCALATION_BATCH => continue,
            Ok(_) => break,
            Err(e) => {
                tracing::warn!(error = %e, "escalating failed");
                break;
            }
        }
    }
}

/// Escalates the moment a commit makes an incident due (a new incident, "escalate now", a
/// maintenance window ended), on this instance or, through PostgreSQL `NOTIFY`, another one:
/// a page does not wait for the next tick. Delays that come due are the tick's.
async fn escalation_loop(state: AppState) {
    loop {
        state.store.wakes().woken(Work::Escalation).await;
        escalate(&state, state.clock.now_ms()).await;
    }
}

/// Waits until the engine has done a round of its clock-driven work at `at_ms` or later:
/// maintenance steps and heartbeat deadlines committed and announced, due probes started (a
/// probe's result is recorded when its request ends). Tests on a fake clock move the clock on,
/// then wait here.
pub async fn ticked(state: &AppState, at_ms: i64) {
    let mut rx = state.ticked.subscribe();
    // The sender lives in the state, as long as `state` does.
    let _ = rx.wait_for(|t| *t >= at_ms).await;
}

async fn prune(state: &AppState, now: i64) {
    let week = 7 * 86_400_000;
    let r = async {
        state.store.prune_jobs(now - week).await?;
        state.store.prune_rate_limits(now - 86_400_000).await?;
        state.store.prune_monitor_results(now - 2 * week).await?;
        // Long past any rate-limit window; delivery reports come within days.
        state.store.prune_outbox(now - 4 * week).await?;
        // A used link is refused as expired once it expires: its nonce is not needed then.
        state.store.prune_link_uses(now).await?;
        Ok::<(), crate::store::StoreError>(())
    }
    .await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "pruning failed");
    }
}

async fn record(
    state: &AppState,
    m: &Monitor,
    ok: bool,
    latency: Option<i64>,
    error: Option<&str>,
) {
    match state
        .store
        .record_check(&m.id, ok, latency, error, state.clock.now_ms())
        .await
    {
        Ok(step) => {
            if step.went_down {
                tracing::warn!(monitor = %m.name, error = error.unwrap_or(""), "monitor is down; alert opened");
            }
            if step.recovered {
                tracing::info!(monitor = %m.name, "monitor recovered; alert resolved");
            }
        }
        Err(e) => tracing::warn!(error = %e, monitor = %m.name, "recording a check failed"),
    }
}

async fn run_probe(state: AppState, m: Monitor) {
    let (result, latency) = state.services.probes.probe(&m).await;
    match result {
        Ok(()) => record(&state, &m, true, Some(latency), None).await,
        Err(e) => record(&state, &m, false, Some(latency), Some(&e)).await,
    }
}

/// Works one queue: claims due jobs while it has free slots and runs each on its own task, so
/// a slow send holds one slot and nothing else. Each run is cut off after `job_timeout`.
async fn work_queue(state: AppState, queue: Queue) {
    let slots = slots(queue);
    let timeout = state.config.job_timeout;
    let lease = lease_ms(timeout);
    let mut running = JoinSet::new();
    loop {
        while let Some(done) = running.try_join_next() {
            log_panic(queue, done);
        }
        let free = slots.saturating_sub(running.len());
        if free > 0 {
            let limit = i64::try_from(free).unwrap_or(1);
            let jobs = match state
                .store
                .claim_jobs(queue, state.clock.now_ms(), lease, limit)
                .await
            {
                Ok(j) => j,
                Err(e) => {
                    tracing::warn!(error = %e, %queue, "claiming jobs failed");
                    Vec::new()
                }
            };
            let claimed = jobs.len();
            for job in jobs {
                running.spawn(run_job(state.clone(), job, timeout));
            }
            if claimed == free {
                // Every slot is busy; more may be due.
                continue;
            }
        }
        tokio::select! {
            Some(done) = running.join_next(), if !running.is_empty() => log_panic(queue, done),
            _ = state.store.wakes().woken(Work::Queue(queue)) => {}
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

fn log_panic(queue: Queue, done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        if e.is_panic() {
            tracing::error!(%queue, "a job panicked; it is retried when its lease runs out");
        }
    }
}

/// Runs one claimed job under the timeout and records the result, if the lease still holds.
async fn run_job(state: AppState, job: Job, timeout: Duration) {
    let result = match tokio::time::timeout(timeout, dispatch(&state, &job)).await {
        Ok(r) => r,
        Err(_) => Err(anyhow!(
            "timed out after {} s (job_timeout_secs)",
            timeout.as_secs()
        )),
    };
    let now = state.clock.now_ms();
    let recorded = match result {
        Ok(None) => state.store.finish_job(&job, now).await,
        Ok(Some(n)) => {
            match state
                .store
                .finish_job_noting(&job, &n.incident_id, n.kind, &n.channel, &n.body, now)
                .await
            {
                Err(StoreError::LeaseLost) => Err(StoreError::LeaseLost),
                Err(e) => {
                    // The work is done (a page out): recorded done without the entry, so no
                    // retry repeats it.
                    tracing::warn!(error = %e, job = job.id, "noting a finished job on the timeline failed");
                    state.store.finish_job(&job, now).await
                }
                Ok(()) => Ok(()),
            }
        }
        Err(e) => {
            let msg = format!("{e:#}");
            let retry = retry_delay_ms(job.attempts).map(|d| now + d);
            if retry.is_none() {
                tracing::error!(job = job.id, kind = %job.kind, error = %msg, "job failed for good");
            } else {
                tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %msg, "job failed; will retry");
            }
            state.store.fail_job(&job, &msg, retry, now).await
        }
    };
    match recorded {
        Ok(()) => {}
        Err(StoreError::LeaseLost) => tracing::warn!(
            job = job.id,
            kind = %job.kind,
            "the job's lease ran out before its result was recorded; the result is dropped"
        ),
        Err(e) => tracing::warn!(error = %e, job = job.id, "recording a job result failed"),
    }
}

/// How the engine performs one kind of job.
#[async_trait]
pub trait Perform: JobSpec + Sized {
    /// Does the work. An error fails this attempt; the job is retried with backoff.
    async fn perform(self, state: &AppState) -> anyhow::Result<()>;

    /// Does the work, and returns a timeline entry to write in the same commit that records
    /// the job done (a page sent), if any. By default [`Perform::perform`], nothing to note.
    async fn perform_noting(self, state: &AppState) -> anyhow::Result<Option<Noted>> {
        self.perform(state).await.map(|()| None)
    }
}

/// A timeline entry for an on-call incident, written with the job's finish.
#[derive(Debug, Clone)]
pub struct Noted {
    /// The on-call incident.
    pub incident_id: String,
    /// The entry's kind (`paged`).
    pub kind: &'static str,
    /// How it went out.
    pub channel: String,
    /// Its details.
    pub body: serde_json::Value,
}

async fn perform<J: Perform>(state: &AppState, job: &Job) -> anyhow::Result<Option<Noted>> {
    job.payload::<J>()?.perform_noting(state).await
}

/// Runs a claimed job by its kind.
async fn dispatch(state: &AppState, job: &Job) -> anyhow::Result<Option<Noted>> {
    match job.kind.as_str() {
        Fanout::KIND => perform::<Fanout>(state, job).await,
        Confirm::KIND => perform::<Confirm>(state, job).await,
        Deliver::KIND => perform::<Deliver>(state, job).await,
        Page::KIND => perform::<Page>(state, job).await,
        Notify::KIND => perform::<Notify>(state, job).await,
        ShiftNotice::KIND => perform::<ShiftNotice>(state, job).await,
        crate::store::TeamChatPost::KIND => perform::<crate::store::TeamChatPost>(state, job).await,
        other => bail!(
            "unknown job kind {other:?} in queue {}: this version has no handler for it",
            job.queue
        ),
    }
}

#[async_trait]
impl Perform for Fanout {
    async fn perform(self, state: &AppState) -> anyhow::Result<()> {
        let inc = match state.store.update_with_incident(&self.update_id).await {
            Ok((inc, _)) => inc,
            // The incident was deleted meanwhile: nobody is to hear of it.
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let affected: Vec<String> = inc.components.iter().map(|(id, _, _)| id.clone()).collect();
        let n = state
            .store
            .fan_out(
                &self.update_id,
                |choice| wants(choice, &affected),
                state.clock.now_ms(),
            )
            .await?;
        tracing::info!(update = %self.update_id, subscribers = n, "update fanned out");
        state.store.wakes().wake(Work::Queue(Deliver::QUEUE));
        Ok(())
    }
}

#[async_trait]
impl Perform for Confirm {
    async fn perform(self, state: &AppState) -> anyhow::Result<()> {
        let sub = match state.store.subscriber(&self.subscriber_id).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let base = &state.config.base_url;
        let text = format!(
            "Someone (hopefully you) asked for status updates of {page} at this address.\n\n\
             Confirm here:\n{base}/subscribe/confirm/{token}\n\n\
             If it wasn't you, ignore this mail; nothing more will be sent.\n",
            page = state.hub.current().brand.name,
            token = sub.token,
        );
        send_mail(
            state,
            &sub.target,
            &format!(
                "Confirm your {} status subscription",
                state.hub.current().brand.name
            ),
            text,
            &sub.token,
        )
        .await
    }
}

#[async_trait]
impl Perform for Deliver {
    async fn perform(self, state: &AppState) -> anyhow::Result<()> {
        let sub = match state.store.subscriber(&self.subscriber_id).await {
            Ok(s) => s,
            // Unsubscribed meanwhile.
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let (inc, upd) = match state.store.update_with_incident(&self.update_id).await {
            Ok(found) => found,
            // The incident was deleted meanwhile.
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let base = &state.config.base_url;
        match sub.kind {
            SubscriberKind::Email => {
                let affected = inc
                    .components
                    .iter()
                    .map(|(_, n, s)| format!("- {n}: {}", s.label()))
                    .collect::<Vec<_>>()
                    .join("\n");
                let text = format!(
                    "{name}\n{status} at {at}\n\n{body}\n\n{affected}\n\nDetails: {base}/incidents/{id}\n\n--\n\
                     You subscribed to {page} status updates. Unsubscribe: {base}/unsubscribe/{token}\n",
                    name = inc.name,
                    status = upd.status.label(),
                    at = crate::format::display_time(upd.created_at, &state.hub.page().time_zone),
                    body = upd.body,
                    id = inc.id,
                    page = state.hub.current().brand.name,
                    token = sub.token,
                );
                let subject = format!(
                    "[{} status] {}: {}",
                    state.hub.current().brand.name,
                    upd.status.label(),
                    inc.name
                );
                send_mail(state, &sub.target, &subject, text, &sub.token).await
            }
            SubscriberKind::Webhook => {
                let components = state.store.list_components().await?;
                let page = state.hub.page();
                let current = state.hub.current();
                let body = serde_json::json!({
                    "meta": {
                        "unsubscribe": format!("{base}/unsubscribe/{}", sub.token),
                        "documentation": format!("{base}/api/v2/summary.json"),
                    },
                    "page": {
                        "id": page.id,
                        "status_indicator": current.snapshot.indicator.as_str(),
                        "status_description": current.snapshot.indicator.description(),
                    },
                    "incident": crate::statuspage::incident_value(&inc, page, &components),
                });
                let code = state
                    .services
                    .webhooks
                    .post_json(&sub.target, serde_json::to_vec(&body)?)
                    .await?;
                if !(200..300).contains(&code) {
                    bail!("webhook answered HTTP {code}");
                }
                Ok(())
            }
        }
    }
}

#[async_trait]
impl Perform for Page {
    /// Turns a page into the person's plan (their rules for its urgency, or the defaults): one
    /// outbox row and [`Notify`] job per method, due when the rule says.
    async fn perform(self, state: &AppState) -> anyhow::Result<()> {
        let inc = match state.store.oncall_incident(&self.incident_id).await {
            Ok(i) => i,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        // Acknowledged or resolved since the step fired, or triggered again since (its run has
        // paged afresh): nobody needs waking by this page.
        if inc.state != app::domain::oncall::State::Triggered
            || self.gen.is_some_and(|g| g != inc.esc_gen)
        {
            return Ok(());
        }
        let user = match state.store.user(&self.user_id).await {
            Ok(u) => u,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let urgency = Urgency::parse(&self.urgency).unwrap_or(Urgency::High);
        let reach = state.store.reach([&user.id]).await?;
        let plan = reach
            .get(&user.id)
            .map(|r| r.planned(urgency))
            .unwrap_or_default();
        let now = state.clock.now_ms();
        state
            .store
            .plan_page(&inc.id, &user.id, &self.key, self.gen, urgency, &plan, now)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Perform for Notify {
    /// Sends what one contact method owes now: one message, or one bundle when several pages
    /// came due together or the method's rate limit held them back.
    async fn perform(self, state: &AppState) -> anyhow::Result<()> {
        let contact = match state.store.contact(&self.contact_id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let Some(to) = contact.contact() else {
            return Ok(());
        };
        let now = state.clock.now_ms();
        let window = i64::try_from(state.config.notify_window.as_millis()).unwrap_or(60_000);
        let token = format!("{}{}", crate::store::new_id(), crate::store::new_id());
        let lease = lease_ms(state.config.job_timeout);
        let rows = match state
            .store
            .claim_outbox(&contact.id, &token, now, lease, window)
            .await?
        {
            Claim::Rows(rows) => rows,
            Claim::Later(at) => {
                state.store.send_later(&contact.id, at).await?;
                return Ok(());
            }
        };
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let user = state.store.user(&first.user_id).await?;
        // Deactivated since the page was planned: nobody is to be woken.
        if !user.is_active() {
            state.store.outbox_drop(&token).await?;
            return Ok(());
        }
        // Switched off since (a push device gone): the person's next method now, not this.
        if let Some(reason) = &contact.disabled_reason {
            let why = format!("this method is switched off: {reason}");
            state
                .store
                .outbox_failed(&token, &to.id, &why, true, state.clock.now_ms())
                .await?;
            return Ok(());
        }
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let inc = match state.store.oncall_incident(&r.incident_id).await {
                Ok(i) => i,
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            let url = format!("{}/oncall/{}", state.config.base_url, inc.id);
            items.push(crate::notify::Item {
                about: About {
                    number: inc.number,
                    title: inc.title.clone(),
                    service: inc.service_name.clone(),
                },
                since_ms: inc.created_at,
                ack_url: crate::notify::links::action_url(
                    state, &inc.id, &user.id, "ack", to.kind, now,
                ),
                resolve_url: crate::notify::links::action_url(
                    state, &inc.id, &user.id, "resolve", to.kind, now,
                ),
                incident_id: inc.id,
                url,
            });
        }
        let urgency = if rows.iter().any(|r| r.urgency == "high") {
            Urgency::High
        } else {
            Urgency::Low
        };
        let open = usize::try_from(state.store.open_paged(&user.id).await?).unwrap_or(0);
        let about: Vec<About> = items.iter().map(|i| i.about.clone()).collect();
        let words = notify::words(&about, open, urgency);
        let (key, url) = match items.as_slice() {
            [one] => (
                format!("{}:{}", first.page_key, to.kind.as_str()),
                one.url.clone(),
            ),
            _ => (
                format!("bundle:{}:{}", to.id, first.id),
                format!("{}/oncall", state.config.base_url),
            ),
        };
        let out = Outgoing {
            key,
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            contact: to.clone(),
            purpose: Purpose::Page,
            urgency,
            subject: words.subject,
            lines: words.lines,
            items,
            open,
            url,
        };
        let kind = to.kind.as_str();
        match state.services.notifier.send(&out).await {
            Ok(sent) => {
                // The message is out: from here nothing may fail the job (its retry would
                // send again).
                let now = state.clock.now_ms();
                if let Err(e) = state
                    .store
                    .outbox_sent(&token, kind, &sent.via, sent.provider_ref.as_deref(), now)
                    .await
                {
                    tracing::error!(error = %e, contact = %to.id, "noting a sent message failed");
                    if let Err(e) = state.store.outbox_mark_sent(&token, now).await {
                        tracing::error!(error = %e, contact = %to.id, "recording a sent message failed");
                    }
                }
                Ok(())
            }
            Err(SendFailure::Gone(why)) => {
                state
                    .store
                    .outbox_failed(&token, &to.id, &why, true, state.clock.now_ms())
                    .await?;
                tracing::warn!(contact = %to.id, error = %why, "a contact method is gone; disabled");
                if contact.disabled_reason.is_none() {
                    crate::notify::push::tell_gone(state, &user.id, &to).await;
                }
                Ok(())
            }
            Err(SendFailure::Retry(why)) => {
                state
                    .store
                    .outbox_failed(&token, &to.id, &why, false, state.clock.now_ms())
                    .await?;
                Err(anyhow!("{kind}: {why}"))
            }
        }
    }
}

/// Builds a subscriber mail (plain text, one-click unsubscribe headers) and sends it.
async fn send_mail(
    state: &AppState,
    to: &str,
    subject: &str,
    text: String,
    token: &str,
) -> anyhow::Result<()> {
    let unsubscribe = format!("{}/unsubscribe/{token}", state.config.base_url);
    let msg = Message::builder()
        .from(state.config.mail_from.parse().context("mail_from")?)
        .to(to.parse().context("recipient address")?)
        .subject(subject)
        .message_id(None)
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{unsubscribe}>"),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_string(),
        ))
        .body(text)
        .context("building the mail")?;
    state.services.mail.send(msg).await
}

//! The background engine: moves maintenance windows along by the clock, runs HTTP probes and
//! watches heartbeats, and works the job queue (subscriber fan-out, confirmation mail, update
//! mail and webhooks) with retries. Work is claimed through the database (leases, and
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL), so several instances share it safely and a restart
//! loses nothing.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use app::domain::monitor::{judge_response, MonitorKind};
use app::domain::subscription::{retry_delay_ms, wants, SubscriberKind};
use app::ssr::store::{Job, Monitor};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::format::now_ms;
use crate::outbound::{Outbound, SendError};
use crate::state::AppState;

/// How often the clock-driven work runs.
const TICK: Duration = Duration::from_secs(1);
/// Jobs claimed at once.
const JOB_BATCH: i64 = 20;
/// A claimed job is retried by someone else after this long.
const JOB_LEASE_MS: i64 = 120_000;
/// Largest probe body read (for the keyword check).
const PROBE_BODY_MAX: usize = 1 << 20;

/// Runs until the task is aborted.
pub async fn run(state: AppState) {
    tokio::join!(tick_loop(state.clone()), job_loop(state));
}

async fn tick_loop(state: AppState) {
    let mut last_prune = Instant::now();
    loop {
        let now = now_ms();
        match state.store.advance_maintenance(now).await {
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "advancing maintenance failed"),
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
                    record(&state, &m, false, None, Some(&msg)).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "claiming heartbeats failed"),
        }
        if last_prune.elapsed() > Duration::from_secs(3600) {
            last_prune = Instant::now();
            prune(&state, now).await;
        }
        tokio::time::sleep(TICK).await;
    }
}

async fn prune(state: &AppState, now: i64) {
    let week = 7 * 86_400_000;
    let r = async {
        state.store.prune_jobs(now - week).await?;
        state.store.prune_rate_limits(now - 86_400_000).await?;
        state.store.prune_monitor_results(now - 2 * week).await?;
        Ok::<(), app::ssr::store::StoreError>(())
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
        .record_check(&m.id, ok, latency, error, now_ms())
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

/// One probe request, judged against the monitor's expectations. The request goes through the
/// outbound policy: a refused address (or redirect) is a failed check.
pub async fn probe(outbound: &Outbound, m: &Monitor) -> (Result<(), String>, i64) {
    let started = Instant::now();
    let url = m.url.clone().unwrap_or_default();
    let timeout = Duration::from_millis(u64::try_from(m.timeout_ms).unwrap_or(10_000));
    let result = async {
        let resp = outbound
            .send(reqwest::Method::GET, &url, None, timeout)
            .await
            .map_err(|e| match e {
                SendError::Timeout => format!("timed out after {} ms", m.timeout_ms),
                e => e.to_string(),
            })?;
        let status = resp.status().as_u16();
        let body = if m.keyword.is_some() {
            let mut body = Vec::new();
            let mut resp = resp;
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| format!("reading body: {e}"))?
            {
                body.extend_from_slice(&chunk);
                if body.len() > PROBE_BODY_MAX {
                    break;
                }
            }
            String::from_utf8_lossy(&body).into_owned()
        } else {
            String::new()
        };
        judge_response(status, &body, m.expect_status, m.keyword.as_deref())
    }
    .await;
    (result, started.elapsed().as_millis() as i64)
}

async fn run_probe(state: AppState, m: Monitor) {
    let (result, latency) = probe(&state.outbound, &m).await;
    match result {
        Ok(()) => record(&state, &m, true, Some(latency), None).await,
        Err(e) => record(&state, &m, false, Some(latency), Some(&e)).await,
    }
}

/// The SMTP transport, built once from `smtp_url`; it keeps a small pool of connections, so a
/// fan-out to many subscribers does not open one connection per mail.
type Mailer = AsyncSmtpTransport<Tokio1Executor>;

fn mailer(state: &AppState) -> Result<Mailer, String> {
    let url = state
        .config
        .smtp_url
        .as_deref()
        .ok_or("no SMTP server configured (smtp_url)")?;
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map(|b| b.timeout(Some(Duration::from_secs(30))).build())
        .map_err(|e| format!("smtp_url: {e}"))
}

async fn job_loop(state: AppState) {
    let mailer = mailer(&state);
    loop {
        let now = now_ms();
        let jobs = match state.store.claim_jobs(now, JOB_LEASE_MS, JOB_BATCH).await {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(error = %e, "claiming jobs failed");
                Vec::new()
            }
        };
        if jobs.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = state.engine_wake.notified() => {}
            }
            continue;
        }
        let results =
            futures::future::join_all(jobs.iter().map(|j| run_job(&state, &mailer, j))).await;
        for (job, result) in jobs.iter().zip(results) {
            let now = now_ms();
            let r = match result {
                Ok(()) => state.store.finish_job(job.id, now).await,
                Err(e) => {
                    let msg = format!("{e:#}");
                    let retry = retry_delay_ms(job.attempts).map(|d| now + d);
                    if retry.is_none() {
                        tracing::error!(job = job.id, kind = %job.kind, error = %msg, "job failed for good");
                    } else {
                        tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %msg, "job failed; will retry");
                    }
                    state.store.fail_job(job.id, &msg, retry, now).await
                }
            };
            if let Err(e) = r {
                tracing::warn!(error = %e, "recording a job result failed");
            }
        }
    }
}

fn arg(payload: &serde_json::Value, key: &str) -> anyhow::Result<String> {
    payload[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("payload has no {key}"))
}

async fn run_job(
    state: &AppState,
    mailer: &Result<Mailer, String>,
    job: &Job,
) -> anyhow::Result<()> {
    let payload: serde_json::Value = serde_json::from_str(&job.payload).context("payload")?;
    match job.kind.as_str() {
        "fanout" => {
            let update_id = arg(&payload, "update_id")?;
            let inc = match state.store.update_with_incident(&update_id).await {
                Ok((inc, _)) => inc,
                // The incident was deleted meanwhile: nobody is to hear of it.
                Err(app::ssr::store::StoreError::NotFound) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let affected: Vec<String> =
                inc.components.iter().map(|(id, _, _)| id.clone()).collect();
            let n = state
                .store
                .fan_out(&update_id, |choice| wants(choice, &affected), now_ms())
                .await?;
            tracing::info!(update = %update_id, subscribers = n, "update fanned out");
            state.engine_wake.notify_one();
            Ok(())
        }
        "confirm" => {
            let sub = match state
                .store
                .subscriber(&arg(&payload, "subscriber_id")?)
                .await
            {
                Ok(s) => s,
                Err(app::ssr::store::StoreError::NotFound) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let base = &state.config.base_url;
            let text = format!(
                "Someone (hopefully you) asked for status updates of {page} at this address.\n\n\
                 Confirm here:\n{base}/subscribe/confirm/{token}\n\n\
                 If it wasn't you, ignore this mail; nothing more will be sent.\n",
                page = state.page_name,
                token = sub.token,
            );
            send_mail(
                state,
                mailer,
                &sub.target,
                &format!("Confirm your {} status subscription", state.page_name),
                text,
                &sub.token,
            )
            .await
        }
        "deliver" => {
            let sub = match state
                .store
                .subscriber(&arg(&payload, "subscriber_id")?)
                .await
            {
                Ok(s) => s,
                // Unsubscribed meanwhile.
                Err(app::ssr::store::StoreError::NotFound) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let (inc, upd) = match state
                .store
                .update_with_incident(&arg(&payload, "update_id")?)
                .await
            {
                Ok(found) => found,
                // The incident was deleted meanwhile.
                Err(app::ssr::store::StoreError::NotFound) => return Ok(()),
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
                        page = state.page_name,
                        token = sub.token,
                    );
                    let subject = format!(
                        "[{} status] {}: {}",
                        state.page_name,
                        upd.status.label(),
                        inc.name
                    );
                    send_mail(state, mailer, &sub.target, &subject, text, &sub.token).await
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
                    let resp = state
                        .outbound
                        .send(
                            reqwest::Method::POST,
                            &sub.target,
                            Some(serde_json::to_vec(&body)?),
                            Duration::from_secs(10),
                        )
                        .await
                        .map_err(|e| anyhow!("webhook {e}"))?;
                    if !resp.status().is_success() {
                        bail!("webhook answered HTTP {}", resp.status().as_u16());
                    }
                    Ok(())
                }
            }
        }
        other => bail!("unknown job kind {other:?}"),
    }
}

async fn send_mail(
    state: &AppState,
    mailer: &Result<Mailer, String>,
    to: &str,
    subject: &str,
    text: String,
    token: &str,
) -> anyhow::Result<()> {
    let transport = mailer.as_ref().map_err(|e| anyhow!("{e}"))?;
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
    transport.send(msg).await.context("sending mail")?;
    Ok(())
}

//! Escalation benchmark against the database at the URL given (empty; migrated here), with an
//! in-process server whose notifier records each page and the wall time it was called.
//!
//! 1. Latency: a policy with one step (one person); `RATE` triggers a second for `SECONDS`,
//!    each to a service of its own (a new incident each), sent at a steady pace over HTTP.
//!    Latency is the notifier call's time minus the time the `202` came back (and minus the
//!    time the request was sent).
//! 2. Throughput: `N` open incidents on `N` services, opened through the store while no
//!    engine runs (all due at once), then a server is started: the time until every step-1
//!    page is queued (the engine's rounds) and until every one reached the notifier.
//!
//! `cargo run --release -p firstline --example bench_escalation -- URL [RATE] [SECONDS] [N]`
//! (scripts/bench-escalation.sh runs it on SQLite and PostgreSQL).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "bench/mod.rs"]
mod bench;
use bench::{config, services, summary, wall_ms};

use app::domain::escalation::{PolicyInput, Step, Target, TargetKind};
use app::domain::ingest::{Action, Severity, Signal};
use firstline::fakes::Fakes;
use firstline::store::{Ingest, Store};

/// A responder and a one-step policy paging them.
async fn one_step_policy(store: &Store, name: &str) -> anyhow::Result<String> {
    let user = app::domain::account::NewUserInput {
        email: format!("{}@example.org", name.to_lowercase()),
        name: name.into(),
        time_zone: "UTC".into(),
        role: "responder".into(),
    }
    .normalize()?;
    let user = store.create_user(&user, "!", 1).await?;
    let policy = PolicyInput {
        name: name.into(),
        description: String::new(),
        repeats: 0,
        steps: vec![Step {
            targets: vec![Target {
                kind: TargetKind::User,
                id: user.id,
            }],
            delay_min: 30,
            round_robin: false,
        }],
    }
    .normalize()?;
    Ok(store.create_policy(&policy, 1).await?.id)
}

async fn latency(url: &str, rate: usize, seconds: usize) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    let policy = one_step_policy(&store, "Latency").await?;
    let n = rate * seconds;
    let t = Instant::now();
    let keys = services(&store, "lat", n, |_| policy.clone()).await?;
    eprintln!("  {n} services in {:.1} s", t.elapsed().as_secs_f64());
    let fakes = Fakes::new();
    let running = firstline::start_with(config(url, &[])?, store, fakes.services()).await?;
    let base = format!("http://{}/v2/enqueue", running.addr);
    let client = reqwest::Client::new();
    // Per service: (request sent, 202 received), wall ms.
    let times: Arc<Mutex<HashMap<String, (f64, f64)>>> = Arc::default();
    let rejected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sends = tokio::task::JoinSet::new();
    let started = Instant::now();
    for (name, _, secret) in keys {
        tick.tick().await;
        let (client, base, times, rejected) = (
            client.clone(),
            base.clone(),
            times.clone(),
            rejected.clone(),
        );
        sends.spawn(async move {
            let body = serde_json::json!({
                "routing_key": secret,
                "event_action": "trigger",
                "dedup_key": name,
                "payload": { "summary": format!("{name} is down"), "source": "bench", "severity": "critical" },
            });
            let sent = wall_ms();
            match client.post(&base).json(&body).send().await {
                Ok(r) if r.status() == 202 => {
                    let got = wall_ms();
                    times.lock().unwrap_or_else(|e| e.into_inner()).insert(name, (sent, got));
                }
                _ => {
                    rejected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
    }
    while sends.join_next().await.is_some() {}
    let sending = started.elapsed().as_secs_f64();
    let accepted = times.lock().unwrap_or_else(|e| e.into_inner()).len();
    let deadline = Instant::now() + Duration::from_secs(60);
    while fakes.pages.who().len() < accepted && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pages = fakes.pages.sent();
    let times = times.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (mut from_202, mut from_sent) = (Vec::new(), Vec::new());
    for p in &pages {
        for item in &p.page.items {
            if let Some((sent, got)) = item.about.service.as_ref().and_then(|s| times.get(s)) {
                from_202.push(p.at_ms - got);
                from_sent.push(p.at_ms - sent);
            }
        }
    }
    println!(
        "  latency: {accepted} triggers accepted of {n} in {sending:.1} s ({:.0}/s, {} not 202), {} pages",
        accepted as f64 / sending,
        rejected.load(std::sync::atomic::Ordering::SeqCst),
        pages.len()
    );
    println!("    202 -> page:     {}", summary(from_202));
    println!("    request -> page: {}", summary(from_sent));
    running.stop().await?;
    Ok(())
}

async fn throughput(url: &str, n: usize) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    let policy = one_step_policy(&store, "Throughput").await?;
    let t = Instant::now();
    let keys = services(&store, "thr", n, |_| policy.clone()).await?;
    // Opened through the store with no engine running: all due at once when it starts.
    let now = jiff::Timestamp::now().as_millisecond();
    for chunk in keys.chunks(500) {
        let batch: Vec<Ingest> = chunk
            .iter()
            .map(|(name, key_id, _)| Ingest::Signal {
                key_id: key_id.clone(),
                signal: Signal {
                    action: Action::Trigger,
                    dedup_key: Some(name.clone()),
                    summary: format!("{name} is down"),
                    source: "bench".into(),
                    severity: Severity::Critical,
                    occurred_at: None,
                    details: serde_json::json!({}),
                    links: Vec::new(),
                    images: Vec::new(),
                },
                truncated: 0,
            })
            .collect();
        store.ingest(&batch, now).await?;
    }
    eprintln!(
        "  {n} services and open incidents in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let watch = Store::connect(url).await?;
    let fakes = Fakes::new();
    let started = Instant::now();
    let running = firstline::start_with(config(url, &[])?, store, fakes.services()).await?;
    let mut queued_at = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if queued_at.is_none()
            && watch
                .next_escalation_due()
                .await?
                .is_none_or(|d| d > now + 1)
        {
            queued_at = Some(started.elapsed());
        }
        if fakes.pages.sent().len() >= n || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent_at = started.elapsed();
    let queued_at = queued_at.unwrap_or(sent_at);
    let pages = fakes.pages.sent().len();
    println!(
        "  throughput: {n} incidents due at once: all step-1 pages queued after {:.2} s ({:.0} steps/s), {pages} sent after {:.2} s ({:.0} pages/s)",
        queued_at.as_secs_f64(),
        n as f64 / queued_at.as_secs_f64(),
        sent_at.as_secs_f64(),
        pages as f64 / sent_at.as_secs_f64()
    );
    running.stop().await?;
    watch.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or_else(|| {
        anyhow::anyhow!("usage: bench_escalation DATABASE_URL [RATE] [SECONDS] [N]")
    })?;
    let rate: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);
    let seconds: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20);
    let n: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    {
        let store = Store::connect(&url).await?;
        store.migrate().await?;
        store.close().await;
    }
    if rate > 0 {
        latency(&url, rate, seconds).await?;
    }
    if n > 0 {
        throughput(&url, n).await?;
    }
    Ok(())
}

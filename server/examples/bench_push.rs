//! Web Push benchmark against the database at the URL given (empty; migrated here): an
//! in-process server with the real push channel (RFC 8291 encryption, VAPID signing, the
//! outbound policy) sending to a local fake push service that records when each request
//! arrives.
//!
//! 1. Latency: `RATE` alerts a second for `SECONDS`, each to a service of its own whose policy
//!    pages a person of their own with one verified push device (one person, one page: the
//!    per-method rate limit would rightly bundle a person's pages). Latency is the push
//!    request's arrival at the fake push service minus the time the alert's `202` came back.
//! 2. Storm: `STORM` alerts at `RATE`/s, each its own incident, all paging one person: how many
//!    push messages reach that person, and how many incidents they name, until every incident
//!    was named (the rate limit sends 3 a window, then bundles).
//!
//! `cargo run --release -p firstline --example bench_push -- URL [RATE] [SECONDS] [STORM]`
//! (scripts/bench-push.sh runs it on SQLite and PostgreSQL). `BENCH_PUSH_NOTIFIER=recording`
//! measures the engine alone: the recording notifier takes the messages instead (latency is
//! then to the notifier call).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "bench/mod.rs"]
mod bench;
use bench::{config, services, summary, wall_ms};

use app::domain::escalation::{PolicyInput, Step, Target, TargetKind};
use app::domain::notify::MethodKind;
use base64::Engine;
use firstline::fakes::Fakes;
use firstline::notify::push::{vapid_subject, PushChannel, Vapid};
use firstline::notify::Channels;
use firstline::store::Store;

/// Push requests that reached the fake push service: (path, arrival wall ms, body bytes).
type Arrivals = Arc<Mutex<Vec<(String, f64, usize)>>>;

/// A push service on 127.0.0.1 that answers 201 and records each request's arrival.
async fn fake_push() -> anyhow::Result<(String, Arrivals)> {
    let got: Arrivals = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: axum::body::Bytes| {
        let g = g.clone();
        async move {
            let at = wall_ms();
            g.lock().unwrap_or_else(|e| e.into_inner()).push((
                uri.path().to_string(),
                at,
                body.len(),
            ));
            axum::http::StatusCode::CREATED
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}"), got))
}

/// A browser subscription's keys (any valid P-256 point and 16-byte secret).
fn keys() -> serde_json::Value {
    let secret = web_push_native::p256::SecretKey::random(
        &mut web_push_native::p256::elliptic_curve::rand_core::OsRng,
    );
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    serde_json::json!({
        "p256dh": b64.encode(secret.public_key().to_sec1_bytes()),
        "auth": b64.encode(rand::random::<[u8; 16]>()),
    })
}

/// Person `i`: a responder with one verified push device at `{push}/d/{i}`, and a one-step
/// policy paging them; returns the policy's id.
async fn person(store: &Store, push: &str, i: usize) -> anyhow::Result<String> {
    let user = app::domain::account::NewUserInput {
        email: format!("p{i}@example.org"),
        name: format!("Person {i}"),
        time_zone: "UTC".into(),
        role: "responder".into(),
    }
    .normalize()?;
    let user = store.create_user(&user, "!", 1).await?;
    let contact = store
        .add_contact(
            &user.id,
            MethodKind::Push,
            &format!("{push}/d/{i}"),
            Some("Bench phone"),
            &keys(),
            1,
        )
        .await?;
    let hash = firstline::notify::verify::code_hash("123456");
    store
        .set_verification(&user.id, &contact, &hash, i64::MAX / 2)
        .await?;
    store.verify_contact(&user.id, &contact, &hash, 2).await?;
    let policy = PolicyInput {
        name: format!("Person {i}"),
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

/// People `from..to`, several at once.
async fn people(store: &Store, push: &str, from: usize, to: usize) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::with_capacity(to - from);
    let mut i = from;
    while i < to {
        let batch: Vec<_> = (i..to.min(i + 16))
            .map(|j| person(store, push, j))
            .collect();
        for r in futures::future::join_all(batch).await {
            out.push(r?);
        }
        i += 16;
    }
    Ok(out)
}

/// The server with the real push channel (and email to a recording mailer).
async fn server(url: &str, store: Store) -> anyhow::Result<(firstline::Running, Fakes)> {
    let config = config(url, &[("FIRSTLINE_OUTBOUND_ALLOW", "127.0.0.1/32")])?;
    let vapid = Vapid::load_or_create(&store).await?;
    let outbound =
        firstline::outbound::Outbound::new(firstline::outbound::Policy::from_config(&config));
    let fakes = Fakes::new();
    let mut services = fakes.services();
    if std::env::var("BENCH_PUSH_NOTIFIER").is_ok_and(|v| v == "recording") {
        // The engine alone: the recording notifier instead of the push channel.
        return Ok((firstline::start_with(config, store, services).await?, fakes));
    }
    services.notifier = Arc::new(Channels {
        push: Some(Arc::new(PushChannel::new(
            vapid,
            vapid_subject(&config.mail_from, &config.base_url),
            outbound,
        ))),
        email: Some(Arc::new(firstline::notify::email::EmailChannel::new(
            fakes.mail.clone(),
            &config.mail_from,
        ))),
        ..Default::default()
    });
    Ok((firstline::start_with(config, store, services).await?, fakes))
}

/// What reached the push service, or with the recording notifier, the notifier: (path,
/// wall ms, body bytes).
fn arrivals(got: &Arrivals, fakes: &Fakes) -> Vec<(String, f64, usize)> {
    if std::env::var("BENCH_PUSH_NOTIFIER").is_ok_and(|v| v == "recording") {
        return fakes
            .pages
            .sent()
            .into_iter()
            .filter_map(|p| {
                let path = url::Url::parse(&p.page.contact.target)
                    .ok()?
                    .path()
                    .to_string();
                Some((path, p.at_ms, 0))
            })
            .collect();
    }
    got.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Sends one trigger per `(name, _, secret)` at `rate`/s; returns when each `202` came back
/// (wall ms) by name, and how many were not accepted.
async fn send_at(
    base: &str,
    keys: Vec<(String, String, String)>,
    rate: usize,
) -> (HashMap<String, f64>, usize) {
    let client = reqwest::Client::new();
    let times: Arc<Mutex<HashMap<String, f64>>> = Arc::default();
    let rejected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sends = tokio::task::JoinSet::new();
    for (name, _, secret) in keys {
        tick.tick().await;
        let (client, url, times, rejected) = (
            client.clone(),
            format!("{base}/v2/enqueue"),
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
            match client.post(&url).json(&body).send().await {
                Ok(r) if r.status() == 202 => {
                    let got = wall_ms();
                    times.lock().unwrap_or_else(|e| e.into_inner()).insert(name, got);
                }
                _ => {
                    rejected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
    }
    while sends.join_next().await.is_some() {}
    let times = times.lock().unwrap_or_else(|e| e.into_inner()).clone();
    (times, rejected.load(std::sync::atomic::Ordering::SeqCst))
}

async fn latency(url: &str, rate: usize, seconds: usize) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    let (push, got) = fake_push().await?;
    let n = rate * seconds;
    let t = Instant::now();
    let policies = people(&store, &push, 0, n).await?;
    let keys = services(&store, "lat", n, |i| policies[i].clone()).await?;
    eprintln!(
        "  {n} people with a push device, policies and services in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let (running, fakes) = server(url, store).await?;
    let started = Instant::now();
    let (times, rejected) = send_at(&format!("http://{}", running.addr), keys, rate).await;
    let sending = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(60);
    while arrivals(&got, &fakes).len() < times.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let arrivals = arrivals(&got, &fakes);
    let mut lat = Vec::new();
    let mut biggest = 0;
    for (path, at, len) in &arrivals {
        biggest = biggest.max(*len);
        let Some(i) = path.strip_prefix("/d/") else {
            continue;
        };
        if let Some(accepted) = times.get(&format!("lat-{i}")) {
            lat.push(at - accepted);
        }
    }
    println!(
        "  latency: {} alerts accepted of {n} in {sending:.1} s ({:.0}/s, {rejected} not 202), {} push requests (largest body {biggest} bytes)",
        times.len(),
        times.len() as f64 / sending,
        arrivals.len()
    );
    println!(
        "    202 -> push request at the push service: {}",
        summary(lat)
    );
    running.stop().await?;
    Ok(())
}

async fn storm(url: &str, rate: usize, n: usize) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    let (push, got) = fake_push().await?;
    let policy = people(&store, &push, 1_000_000, 1_000_001).await?.remove(0);
    let keys = services(&store, "storm", n, |_| policy.clone()).await?;
    let (running, fakes) = server(url, store).await?;
    let started = Instant::now();
    let (times, _) = send_at(&format!("http://{}", running.addr), keys, rate).await;
    let sent = started.elapsed().as_secs_f64();
    // Until every incident was named in a message (or 3 windows passed).
    let watch = Store::connect(url).await?;
    let deadline = Instant::now() + Duration::from_secs(200);
    let covered = loop {
        let named = notified_incidents(&watch).await?;
        if named >= times.len() || Instant::now() > deadline {
            break named;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let arrivals = arrivals(&got, &fakes);
    println!(
        "  storm: {} alerts to one person in {sent:.1} s: {} push messages named all {covered} incidents within {:.0} s",
        times.len(),
        arrivals.len(),
        started.elapsed().as_secs_f64()
    );
    running.stop().await?;
    watch.close().await;
    Ok(())
}

/// Incidents whose timeline says a message went out about them.
async fn notified_incidents(store: &Store) -> anyhow::Result<usize> {
    let incidents = store
        .oncall_incidents(&firstline::store::OncallFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await?;
    let mut n = 0;
    for i in incidents {
        if store
            .timeline(&i.id)
            .await?
            .iter()
            .any(|e| e.kind == "notified")
        {
            n += 1;
        }
    }
    Ok(n)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or_else(|| {
        anyhow::anyhow!("usage: bench_push DATABASE_URL [RATE] [SECONDS] [STORM]")
    })?;
    let rate: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);
    let seconds: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20);
    let storm_n: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(500);
    {
        let store = Store::connect(&url).await?;
        store.migrate().await?;
        store.close().await;
    }
    if rate > 0 && seconds > 0 {
        latency(&url, rate, seconds).await?;
    }
    if storm_n > 0 {
        storm(&url, rate.max(1), storm_n).await?;
    }
    Ok(())
}

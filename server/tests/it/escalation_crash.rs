//! The escalation engine in the real `firstline` binary, killed with SIGKILL: pages go out by
//! email (the production notifier) to a local SMTP sink, counted by Message-ID (derived from the
//! page's key). After a restart a step that came due while the process was down is paged once,
//! a step already paged is not paged again, and a burst of triggers cut off by the kill loses no
//! page.
//!
//! On PostgreSQL the test cluster runs without fsync (the database itself is not killed), so
//! there this checks what the process does around its commits, not the disk.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{eventually, Backend, SmtpSink, TestDb};
use crate::ingest::service_with_key;
use app::domain::escalation::{PolicyInput, ServicePaging, Step, Target, TargetKind};
use app::domain::service::{IntegrationKey, KeyKind};
use firstline::store::Store;
use serde_json::json;

/// Starts `firstline serve` on a free port, mailing through `smtp`; returns it with its base
/// URL once it is ready.
async fn start(db_url: &str, smtp: &SmtpSink) -> (Proc, String) {
    let env = [
        ("FIRSTLINE_SMTP_URL", smtp.url()),
        (
            "FIRSTLINE_MAIL_FROM",
            "Firstline <pager@example.org>".to_string(),
        ),
        // A second's rate limit: a burst to one person still bundles, and the test is quick.
        ("FIRSTLINE_NOTIFY_WINDOW_SECS", "1".to_string()),
    ];
    let (child, base) = crate::crash::start_with_env(db_url, &env).await;
    (Proc(child), base)
}

/// The server process; killed with the test if a check fails first.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kill9(child: &mut Proc) {
    child.0.kill().expect("kill -9");
    child.0.wait().expect("wait");
}

/// A responder (an email login, no contact methods: pages go to the login address); returns
/// the id.
pub async fn responder(store: &Store, email: &str, name: &str) -> String {
    let input = app::domain::account::NewUserInput {
        email: email.into(),
        name: name.into(),
        time_zone: "UTC".into(),
        role: "responder".into(),
    }
    .normalize()
    .expect("valid user");
    // Nobody logs in: any hash will do.
    store
        .create_user(&input, "!", 1)
        .await
        .expect("create user")
        .id
}

/// A policy paging `users[i]` at step `i + 1`, `delay_min` apart, no repeats.
pub async fn policy(store: &Store, name: &str, users: &[&str], delay_min: i64) -> String {
    let input = PolicyInput {
        name: name.into(),
        description: String::new(),
        repeats: 0,
        steps: users
            .iter()
            .map(|u| Step {
                targets: vec![Target {
                    kind: TargetKind::User,
                    id: u.to_string(),
                }],
                delay_min,
                round_robin: false,
            })
            .collect(),
    }
    .normalize()
    .expect("valid policy");
    store.create_policy(&input, 1).await.expect("policy").id
}

/// A service escalating under `policy_id`, with an Events v2 key; returns its id and key.
pub async fn paged_service(store: &Store, name: &str, policy_id: &str) -> (String, IntegrationKey) {
    let (service, key) = service_with_key(store, name, KeyKind::Pagerduty).await;
    let paging = ServicePaging {
        policy_id: Some(policy_id.to_string()),
        ..ServicePaging::default()
    };
    store
        .set_service_paging(&service.id, &paging, 1)
        .await
        .expect("paging");
    (service.id, key)
}

/// An Events v2 trigger (severity `error`: high urgency).
pub fn trigger(routing_key: &str, dedup: &str) -> serde_json::Value {
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": { "summary": format!("Down: {dedup}"), "source": "crash", "severity": "error" },
    })
}

/// A mail's header value (first line only; ours are short).
fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    mail.lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim())
}

/// The sink's mails counted by Message-ID (`<page.INCIDENT.GEN.PASS.STEP.USER@domain>`).
fn by_message_id(sink: &SmtpSink) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for m in sink.mails() {
        let id = header(&m, "Message-ID").expect("every page has a Message-ID");
        *out.entry(id.to_string()).or_insert(0) += 1;
    }
    out
}

/// How many mails name each incident (`X-Firstline-Incidents`: a bundle names several).
fn by_incident(sink: &SmtpSink) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for m in sink.mails() {
        // A long header is folded over several lines, each following one starting with space.
        let mut lines = m.lines().take_while(|l| !l.is_empty());
        let start = lines
            .position(|l| l.to_ascii_lowercase().starts_with("x-firstline-incidents:"))
            .expect("every page names its incidents");
        let all: Vec<&str> = m.lines().take_while(|l| !l.is_empty()).collect();
        let mut ids = all[start]["x-firstline-incidents:".len()..].to_string();
        for l in all[start + 1..]
            .iter()
            .take_while(|l| l.starts_with([' ', '\t']))
        {
            ids.push_str(l);
        }
        for id in ids.split_whitespace() {
            *out.entry(id.to_string()).or_insert(0) += 1;
        }
    }
    out
}

/// Runs one statement on the database directly (the server is down or does not mind).
pub async fn exec(backend: Backend, url: &str, q: &str) -> u64 {
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
            let n = sqlx::query(q)
                .execute(&pool)
                .await
                .expect(q)
                .rows_affected();
            pool.close().await;
            n
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.expect("postgres");
            let n = sqlx::query(q)
                .execute(&pool)
                .await
                .expect(q)
                .rows_affected();
            pool.close().await;
            n
        }
    }
}

/// One text column of every row of `q`.
pub async fn strings(backend: Backend, url: &str, q: &str) -> Vec<String> {
    let rows: Vec<(String,)> = match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
            let r = sqlx::query_as(q).fetch_all(&pool).await.expect(q);
            pool.close().await;
            r
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.expect("postgres");
            let r = sqlx::query_as(q).fetch_all(&pool).await.expect(q);
            pool.close().await;
            r
        }
    };
    rows.into_iter().map(|(s,)| s).collect()
}

/// Step 1 paged, the process killed, step 2 due while it is down: after the restart step 2 is
/// paged exactly once and step 1 not again.
async fn a_step_due_while_down_pages_once_after_restart(backend: Backend) {
    let db = TestDb::new(backend);
    let sink = SmtpSink::start().await;
    let key = {
        let store = db.store().await;
        let jonas = responder(&store, "jonas@example.org", "Jonas").await;
        let maya = responder(&store, "maya@example.org", "Maya").await;
        let pid = policy(&store, "Checkout", &[&jonas, &maya], 1).await;
        let (_, key) = paged_service(&store, "Checkout", &pid).await;
        store.close().await;
        key
    };
    let to = |who: &str| {
        sink.mails()
            .iter()
            .filter(|m| header(m, "To").is_some_and(|t| t.contains(who)))
            .count()
    };
    let (mut child, base) = start(&db.url, &sink).await;
    let r = reqwest::Client::new()
        .post(format!("{base}/v2/enqueue"))
        .json(&trigger(&key.key, "disk-full"))
        .send()
        .await
        .expect("trigger");
    assert_eq!(r.status(), 202);
    eventually(10, "step 1 mails Jonas", || {
        let n = to("jonas@");
        async move { (n == 1).then_some(()) }
    })
    .await;
    // The page job is recorded done before the kill: this test is about the step that comes
    // due while the process is down (a kill between the send and that record would send step
    // 1 again after its lease: at-least-once, which the burst test below covers).
    let url = &db.url;
    eventually(10, "step 1's send job is done", || async move {
        let done = strings(
            backend,
            url,
            "SELECT dedup_key FROM jobs WHERE kind = 'send' AND done_at IS NOT NULL",
        )
        .await;
        (done.len() == 1).then_some(())
    })
    .await;
    // Killed long before step 2 is due (a minute after the trigger).
    kill9(&mut child);
    assert_eq!(to("maya@"), 0, "step 2 was not due yet");
    // The downtime spans step 2's due time: instead of waiting out the minute, the pending step
    // is moved two minutes into the past while nothing runs (the same rows a long outage
    // leaves).
    let moved = exec(
        backend,
        &db.url,
        "UPDATE oncall_incidents SET esc_due_at = esc_due_at - 120000 WHERE esc_due_at IS NOT NULL",
    )
    .await;
    assert_eq!(moved, 1, "step 2 is pending in the database");
    let (mut child, _) = start(&db.url, &sink).await;
    eventually(10, "step 2 mails Maya after the restart", || {
        let n = to("maya@");
        async move { (n >= 1).then_some(()) }
    })
    .await;
    // Long enough for a second round of the engine (one a second) and the page queue to repeat
    // anything they would.
    tokio::time::sleep(Duration::from_secs(3)).await;
    kill9(&mut child);
    assert_eq!(to("maya@"), 1, "step 2 paged exactly once");
    assert_eq!(to("jonas@"), 1, "step 1 not paged again");
    let ids = by_message_id(&sink);
    assert_eq!(ids.len(), 2, "two distinct pages: {ids:?}");
    assert!(ids.values().all(|n| *n == 1), "{ids:?}");
}
on_both_backends!(a_step_due_while_down_pages_once_after_restart);

const BURST: usize = 500;

/// 500 triggers to 500 services (500 new incidents, each paging step 1 to the same person),
/// SIGKILL in the middle of the burst: after a restart every accepted trigger has its incident
/// and every incident reached the person in exactly one mail (one on its own, or in a bundle:
/// the rate limit gathers what comes due together), apart from incidents whose mail was being
/// sent at the kill (its outbox rows claimed and not yet recorded sent): those are sent again
/// after the restart, at-least-once.
async fn b_burst_cut_by_sigkill_loses_no_page(backend: Backend) {
    let db = TestDb::new(backend);
    let sink = SmtpSink::start().await;
    let keys: Vec<(String, String)> = {
        let store = db.store().await;
        let jonas = responder(&store, "jonas@example.org", "Jonas").await;
        let pid = policy(&store, "Burst", &[&jonas], 5).await;
        let mut keys = Vec::new();
        for i in 0..BURST {
            let (sid, key) = paged_service(&store, &format!("Service {i:03}"), &pid).await;
            keys.push((sid, key.key));
        }
        store.close().await;
        keys
    };
    let (mut child, base) = start(&db.url, &sink).await;
    let client = reqwest::Client::new();
    let accepted_n = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    // 16 senders share the burst; each remembers the services it got a 202 for.
    let keys = Arc::new(keys);
    let next = Arc::new(AtomicUsize::new(0));
    for _ in 0..16 {
        let (client, base, keys, next, accepted_n) = (
            client.clone(),
            base.clone(),
            keys.clone(),
            next.clone(),
            accepted_n.clone(),
        );
        tasks.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((sid, key)) = keys.get(i) else { break };
                match client
                    .post(format!("{base}/v2/enqueue"))
                    .json(&trigger(key, &format!("burst-{i}")))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 202 => {
                        mine.push(sid.clone());
                        accepted_n.fetch_add(1, Ordering::SeqCst);
                    }
                    // Timed out under load (a sender retries it): not accepted.
                    Ok(r) if r.status() == 503 => {}
                    Ok(r) => panic!("trigger {i}: HTTP {}", r.status()),
                    // Killed: this and the rest are not accepted.
                    Err(_) => break,
                }
            }
            mine
        });
    }
    eventually(30, "half the burst accepted", || {
        let n = accepted_n.load(Ordering::SeqCst);
        async move { (n >= BURST / 2).then_some(()) }
    })
    .await;
    kill9(&mut child);
    let mut accepted = BTreeSet::new();
    while let Some(mine) = tasks.join_next().await {
        accepted.extend(mine.expect("sender"));
    }
    assert!(
        accepted.len() >= BURST / 2 && accepted.len() < BURST,
        "the kill fell inside the burst: {} accepted",
        accepted.len()
    );
    let mails_at_kill = sink.mails().len();
    // Outbox rows claimed by a send and not recorded sent when the process died: their mail
    // may or may not have gone out, so they are the only ones that may go out twice.
    let in_flight: BTreeSet<String> = strings(
        backend,
        &db.url,
        "SELECT incident_id FROM notify_outbox WHERE claim IS NOT NULL AND state = 'pending'",
    )
    .await
    .into_iter()
    .collect();
    // Their leases (two job timeouts and a minute) ran out during the downtime: instead of
    // waiting them out, the leases are ended while nothing runs (the rows a long outage
    // leaves).
    exec(
        backend,
        &db.url,
        "UPDATE jobs SET lease_until = 1 WHERE done_at IS NULL AND lease_until > 0",
    )
    .await;
    exec(
        backend,
        &db.url,
        "UPDATE notify_outbox SET claimed_until = 1 WHERE claim IS NOT NULL",
    )
    .await;
    let (mut child, _) = start(&db.url, &sink).await;
    let incidents: BTreeMap<String, String> = {
        let pairs = strings(
            backend,
            &db.url,
            "SELECT service_id || ' ' || id FROM oncall_incidents",
        )
        .await;
        pairs
            .iter()
            .map(|p| {
                let (s, i) = p.split_once(' ').expect("pair");
                (s.to_string(), i.to_string())
            })
            .collect()
    };
    for sid in &accepted {
        assert!(
            incidents.contains_key(sid),
            "an accepted trigger has its incident ({sid})"
        );
    }
    let want = incidents.len();
    eventually(60, "every incident's page sent", || {
        let n = by_incident(&sink).len();
        async move { (n >= want).then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    kill9(&mut child);
    let got = by_incident(&sink);
    // Every incident reached Jonas (its step 1), none lost, none extra.
    let all: BTreeSet<&String> = incidents.values().collect();
    assert_eq!(got.keys().collect::<BTreeSet<_>>(), all, "{got:?}");
    let twice: Vec<&String> = got
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    assert!(got.values().all(|n| *n <= 2), "{got:?}");
    for id in &twice {
        assert!(
            in_flight.contains(*id),
            "{id} was mailed twice but was not being sent at the kill"
        );
    }
    let mails = sink.mails().len();
    assert!(
        mails < want,
        "the burst was bundled: {mails} mails for {want} incidents"
    );
    eprintln!(
        "{backend:?}: {} accepted of {BURST}, {want} incidents in {mails} mails, \
         {mails_at_kill} mails before the kill, {} incidents being sent at the kill, \
         {} mailed again after the restart",
        accepted.len(),
        in_flight.len(),
        twice.len()
    );
}
on_both_backends!(b_burst_cut_by_sigkill_loses_no_page);

//! Two Firstline instances on one PostgreSQL database, sharing one fake clock and one recording
//! notifier: 200 incidents escalate through three steps and every (incident, step) is paged
//! exactly once, whichever instance claims the round or the job. With one instance stopped
//! halfway, nothing is lost: the jobs it had claimed are taken up by the other after their
//! lease.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::common::{config_with, eventually, Backend, TestDb};
use crate::escalation_crash::{paged_service, policy, responder, strings, trigger};
use firstline::fakes::Fakes;
use firstline::store::Store;

const INCIDENTS: usize = 200;
const DELAY_MIN: i64 = 10;

/// Waits (at most 10 s) until `state`'s engine has done its clock-driven round at `at_ms`.
async fn ticked(state: &firstline::state::AppState, at_ms: i64) {
    tokio::time::timeout(
        Duration::from_secs(10),
        firstline::engine::ticked(state, at_ms),
    )
    .await
    .expect("the engine ticks at the fake clock's time");
}

/// Pages recorded so far, counted per `(incident, user)` (each user is one step).
fn counts(fakes: &Fakes) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for (user, incident) in fakes.pages.who() {
        *out.entry((incident, user)).or_insert(0) += 1;
    }
    out
}

/// Waits until `n` distinct pages are recorded and every page and send job is recorded done:
/// the fake clock must not jump past the lease of a job still finishing (another instance
/// would take it up again, as it should for a job whose worker died). The rate limit holds a
/// person's later messages for a second of the fake clock (`notify_window_secs` 1) and then
/// bundles them: while pages are missing, the clock moves on a second at a time (at most 30,
/// far below the lease and the steps' delay).
async fn wait_for_pages(s: &Setup, alive: &[&firstline::Running], n: usize, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut moved = 0;
    while counts(&s.fakes).len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: {} of {n}",
            counts(&s.fakes).len()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        if counts(&s.fakes).len() < n && moved < 30 {
            moved += 1;
            s.clock.advance(Duration::from_secs(1));
            for r in alive {
                ticked(&r.state, s.clock.now_ms()).await;
            }
        }
    }
    // Due ones, that is: a send the rate limit put off to a later second waits for the clock.
    let due = format!(
        "SELECT CAST(id AS TEXT) FROM jobs WHERE kind IN ('page', 'send') AND done_at IS NULL \
         AND run_at <= {}",
        s.clock.now_ms()
    );
    let (url, due) = (&s.db.url, &due);
    eventually(30, "the page and send jobs recorded done", || async move {
        let open = strings(Backend::Postgres, url, due).await;
        open.is_empty().then_some(())
    })
    .await;
}

struct Setup {
    db: TestDb,
    fakes: Fakes,
    clock: std::sync::Arc<firstline::clock::FakeClock>,
    users: Vec<String>,
    keys: Vec<String>,
}

async fn setup() -> Setup {
    let db = TestDb::new(Backend::Postgres);
    let start = jiff::Timestamp::now().as_millisecond();
    let (fakes, clock) = Fakes::at(start);
    let store = db.store().await;
    let mut users = Vec::new();
    for name in ["Jonas", "Maya", "Ines"] {
        let email = format!("{}@example.org", name.to_lowercase());
        users.push(responder(&store, &email, name).await);
    }
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    let pid = policy(&store, "Three steps", &refs, DELAY_MIN).await;
    let mut keys = Vec::new();
    for i in 0..INCIDENTS {
        let (_, key) = paged_service(&store, &format!("Service {i:03}"), &pid).await;
        keys.push(key.key);
    }
    store.close().await;
    Setup {
        db,
        fakes,
        clock,
        users,
        keys,
    }
}

async fn instance(s: &Setup) -> firstline::Running {
    let store = Store::connect(&s.db.url).await.expect("connect");
    let config = config_with(&s.db.url, &[("FIRSTLINE_NOTIFY_WINDOW_SECS", "1")]);
    firstline::start_with(config, store, s.fakes.services())
        .await
        .expect("start")
}

/// One trigger per service, sent to the instances in turn.
async fn trigger_all(s: &Setup, instances: &[&firstline::Running]) {
    let client = reqwest::Client::new();
    for (i, key) in s.keys.iter().enumerate() {
        let base = instances[i % instances.len()].addr;
        let r = client
            .post(format!("http://{base}/v2/enqueue"))
            .json(&trigger(key, &format!("multi-{i}")))
            .send()
            .await
            .expect("trigger");
        assert_eq!(r.status(), 202, "trigger {i}");
    }
}

/// Every (incident, step) paged exactly once: three steps of each of the 200 incidents, to
/// the step's person.
fn assert_exactly_once(s: &Setup, allowed_twice: &BTreeSet<(String, String)>) {
    let c = counts(&s.fakes);
    let incidents: BTreeSet<&String> = c.keys().map(|(i, _)| i).collect();
    assert_eq!(incidents.len(), INCIDENTS, "every incident paged");
    for inc in &incidents {
        for user in &s.users {
            let n = c.get(&((*inc).clone(), user.clone())).copied().unwrap_or(0);
            let key = ((*inc).clone(), user.clone());
            if allowed_twice.contains(&key) {
                assert!((1..=2).contains(&n), "{inc} paged {user} {n} times");
            } else {
                let keys: Vec<String> = s
                    .fakes
                    .pages
                    .sent()
                    .into_iter()
                    .filter(|p| {
                        &p.page.user_id == user
                            && p.page.items.iter().any(|i| &i.incident_id == *inc)
                    })
                    .map(|p| p.page.key)
                    .collect();
                assert_eq!(n, 1, "{inc} paged {user} {n} times: {keys:?}");
            }
        }
    }
    assert_eq!(c.len(), 3 * INCIDENTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_page_each_step_exactly_once() {
    let s = setup().await;
    let a = instance(&s).await;
    let b = instance(&s).await;
    trigger_all(&s, &[&a, &b]).await;
    wait_for_pages(&s, &[&a, &b], INCIDENTS, "step 1 of every incident").await;
    for step in 2..=3 {
        s.clock.advance(Duration::from_secs(DELAY_MIN as u64 * 60));
        let now = s.clock.now_ms();
        ticked(&a.state, now).await;
        ticked(&b.state, now).await;
        wait_for_pages(&s, &[&a, &b], step * INCIDENTS, &format!("step {step}")).await;
    }
    // A few more rounds of both engines and queues: nothing is paged again.
    for _ in 0..3 {
        s.clock.advance(Duration::from_secs(1));
        let now = s.clock.now_ms();
        ticked(&a.state, now).await;
        ticked(&b.state, now).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_exactly_once(&s, &BTreeSet::new());
    assert_eq!(s.fakes.pages.who().len(), 3 * INCIDENTS, "no page twice");
    a.stop().await.expect("stop a");
    b.stop().await.expect("stop b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_instance_stopped_halfway_loses_no_page() {
    let s = setup().await;
    let a = instance(&s).await;
    let b = instance(&s).await;
    let job_timeout = a.state.config.job_timeout;
    trigger_all(&s, &[&a, &b]).await;
    wait_for_pages(&s, &[&a, &b], INCIDENTS, "step 1 of every incident").await;
    // Step 2 comes due; B is stopped once some of its pages are out, with jobs in its hands.
    s.clock.advance(Duration::from_secs(DELAY_MIN as u64 * 60));
    let now = s.clock.now_ms();
    ticked(&a.state, now).await;
    ticked(&b.state, now).await;
    eventually(30, "some of step 2", || {
        let got = counts(&s.fakes).len();
        async move { (got >= INCIDENTS + 20).then_some(()) }
    })
    .await;
    b.stop().await.expect("stop b");
    // Claimed and not recorded done when B stopped: the only pages that may go out twice (the
    // notifier was called, the record was cut off). Page jobs B held, and outbox rows claimed
    // by sends in flight.
    let held_pages: Vec<firstline::store::Page> = strings(
        Backend::Postgres,
        &s.db.url,
        "SELECT payload FROM jobs WHERE kind = 'page' AND done_at IS NULL AND lease_until > 0",
    )
    .await
    .iter()
    .map(|p| serde_json::from_str(p).expect("page payload"))
    .collect();
    let mut in_flight: BTreeSet<(String, String)> = held_pages
        .iter()
        .map(|p| (p.incident_id.clone(), p.user_id.clone()))
        .collect();
    for row in strings(
        Backend::Postgres,
        &s.db.url,
        "SELECT incident_id || ' ' || user_id FROM notify_outbox WHERE claim IS NOT NULL",
    )
    .await
    {
        let (i, u) = row.split_once(' ').expect("pair");
        in_flight.insert((i.to_string(), u.to_string()));
    }
    let held: BTreeSet<String> = strings(
        Backend::Postgres,
        &s.db.url,
        "SELECT dedup_key FROM jobs WHERE kind IN ('page', 'send') AND done_at IS NULL AND lease_until > 0",
    )
    .await
    .into_iter()
    .collect();
    // A works off the rest of step 2 first: the clock must not jump past the lease of a job A
    // is still finishing. Left over then: jobs B held (A's own in flight at the stop finish in
    // milliseconds), unchanged for half a second.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut before = None;
    let due = format!(
        "SELECT dedup_key FROM jobs WHERE kind IN ('page', 'send') AND done_at IS NULL \
         AND run_at <= {}",
        s.clock.now_ms()
    );
    loop {
        let open: BTreeSet<String> = strings(Backend::Postgres, &s.db.url, &due)
            .await
            .into_iter()
            .collect();
        if open.is_subset(&held) && before.as_ref() == Some(&open) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "A did not work off step 2: {open:?}"
        );
        before = Some(open);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Past the lease of B's jobs (two job timeouts and a minute), before step 3 is due.
    let lease = job_timeout * 2 + Duration::from_secs(61);
    assert!(lease < Duration::from_secs(DELAY_MIN as u64 * 60));
    s.clock.advance(lease);
    ticked(&a.state, s.clock.now_ms()).await;
    wait_for_pages(&s, &[&a], 2 * INCIDENTS, "all of step 2 on A alone").await;
    s.clock
        .set(now + Duration::from_secs(DELAY_MIN as u64 * 60).as_millis() as i64);
    ticked(&a.state, s.clock.now_ms()).await;
    wait_for_pages(&s, &[&a], 3 * INCIDENTS, "step 3 on A alone").await;
    for _ in 0..3 {
        s.clock.advance(Duration::from_secs(1));
        ticked(&a.state, s.clock.now_ms()).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_exactly_once(&s, &in_flight);
    let extra = s.fakes.pages.who().len() - 3 * INCIDENTS;
    eprintln!(
        "{} page jobs in flight when B stopped; {extra} of them paged again after the lease",
        in_flight.len()
    );
    a.stop().await.expect("stop a");
}

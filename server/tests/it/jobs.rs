//! The job queues: typed jobs that keep the payloads older versions stored, a page queue that
//! no subscriber backlog delays, leases checked when a result is recorded, and sends that run
//! independently under a timeout (with the recording fakes standing in for SMTP).

use crate::common;

use app::domain::incident::{IncidentKind, IncidentStatus};
use app::domain::status::{ComponentStatus, Impact};
use app::domain::subscription::SubscribeInput;
use common::{eventually, Backend, TestApp, TestDb};
use firstline::store::{
    Confirm, Deliver, Fanout, JobSpec, NewIncident, Queue, Store, StoreError, Subscriber,
};
use serde::{Deserialize, Serialize};

/// A page-queue job defined only here: the engine has no handler for it, which is how these
/// tests see that it was claimed (its attempt fails, saying the kind is unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TestPage {
    to: String,
}

impl JobSpec for TestPage {
    const KIND: &'static str = "test_page";
    const QUEUE: Queue = Queue::Pages;
}

fn deliveries(n: usize) -> Vec<Deliver> {
    (0..n)
        .map(|i| Deliver {
            subscriber_id: format!("sub{i}"),
            update_id: "upd".into(),
        })
        .collect()
}

/// A page queued after 10,000 deliveries is the first job its queue's worker claims; within
/// the subscriber queue, a confirmation mail someone waits for goes before the deliveries.
/// (With one FIFO queue, the first claim got the oldest delivery.)
async fn a_page_is_claimed_first_behind_ten_thousand_deliveries(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.store().await;
    assert_eq!(
        store
            .enqueue_many(&deliveries(10_000), 1_000)
            .await
            .unwrap(),
        10_000
    );
    let page = store
        .enqueue(&TestPage { to: "ops".into() }, 2_000)
        .await
        .unwrap()
        .expect("queued");
    let confirm = store
        .enqueue(
            &Confirm {
                subscriber_id: "late".into(),
            },
            2_000,
        )
        .await
        .unwrap()
        .expect("queued");
    let pages = store
        .claim_jobs(Queue::Pages, 3_000, 60_000, 10)
        .await
        .unwrap();
    assert_eq!(pages.len(), 1, "only the page is in the page queue");
    assert_eq!(pages[0].id, page);
    assert_eq!(
        pages[0].payload::<TestPage>().unwrap(),
        TestPage { to: "ops".into() }
    );
    let subs = store
        .claim_jobs(Queue::Subscribers, 3_000, 60_000, 3)
        .await
        .unwrap();
    assert_eq!(subs[0].id, confirm, "priority first");
    assert!(subs[1..].iter().all(|j| j.is::<Deliver>()));
    assert_eq!(
        subs[1].payload::<Deliver>().unwrap().subscriber_id,
        "sub0",
        "then the oldest delivery"
    );
    // A typed payload of the wrong kind is an error, not a guess.
    assert!(matches!(
        subs[1].payload::<Fanout>(),
        Err(StoreError::Corrupt(_))
    ));
}
on_both_backends!(a_page_is_claimed_first_behind_ten_thousand_deliveries);

/// A worker whose lease ran out cannot record a result: another worker claimed the job meanwhile
/// (with a new lease token), and only that one finishes it, once.
async fn an_expired_lease_cannot_finish_the_job(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.store().await;
    let job = Deliver {
        subscriber_id: "s".into(),
        update_id: "u".into(),
    };
    let id = store.enqueue(&job, 0).await.unwrap().expect("queued");
    // Queueing the same delivery again is a no-op.
    assert_eq!(store.enqueue(&job, 0).await.unwrap(), None);
    let first = store
        .claim_jobs(Queue::Subscribers, 10, 1_000, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((first.id, first.lease_until), (id, 1_010));
    assert!(
        store
            .claim_jobs(Queue::Subscribers, 500, 60_000, 1)
            .await
            .unwrap()
            .is_empty(),
        "nobody else gets it while the lease holds"
    );
    // The lease runs out; a second worker claims the job.
    let second = store
        .claim_jobs(Queue::Subscribers, 2_000, 60_000, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(second.id, id);
    assert_eq!(second.attempts, 2);
    assert_ne!(second.lease_token, first.lease_token);
    // The first worker comes back late: neither its success nor its failure counts.
    assert!(matches!(
        store.finish_job(&first, 2_001).await,
        Err(StoreError::LeaseLost)
    ));
    assert!(matches!(
        store.fail_job(&first, "late", Some(99_999), 2_001).await,
        Err(StoreError::LeaseLost)
    ));
    let row = store.job(id).await.unwrap();
    assert_eq!(row.done_at, None);
    assert_eq!(row.last_error, None);
    assert_eq!(row.run_at, 0);
    // The second worker finishes it, once.
    store.finish_job(&second, 2_002).await.unwrap();
    assert_eq!(store.job(id).await.unwrap().done_at, Some(2_002));
    assert!(matches!(
        store.finish_job(&second, 2_003).await,
        Err(StoreError::LeaseLost)
    ));
    assert!(matches!(
        store.finish_job(&first, 2_003).await,
        Err(StoreError::LeaseLost)
    ));
    assert_eq!(store.job(id).await.unwrap().done_at, Some(2_002));
    assert_eq!(store.job_backlog().await.unwrap().0, 0);

    // A lease that ran out without anyone claiming the job is lost too: a result recorded that
    // late could race a claim at the same moment.
    let other = store
        .enqueue(
            &Confirm {
                subscriber_id: "x".into(),
            },
            0,
        )
        .await
        .unwrap()
        .expect("queued");
    let late = store
        .claim_jobs(Queue::Subscribers, 5_000, 1_000, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(late.id, other);
    assert!(matches!(
        store.finish_job(&late, 6_000).await,
        Err(StoreError::LeaseLost)
    ));
    // Within its lease, a failure is recorded and the retry scheduled.
    let again = store
        .claim_jobs(Queue::Subscribers, 6_000, 1_000, 1)
        .await
        .unwrap()
        .remove(0);
    store
        .fail_job(&again, "smtp down", Some(20_000), 6_500)
        .await
        .unwrap();
    let row = store.job(other).await.unwrap();
    assert_eq!(
        (row.run_at, row.last_error.as_deref(), row.done_at),
        (20_000, Some("smtp down"), None)
    );
}
on_both_backends!(an_expired_lease_cannot_finish_the_job);

/// Rows queued by the previous version (kind and payload by hand, before the queue columns
/// existed) survive the upgrade: claimed from the subscriber queue with the priorities the code
/// gives their kinds, and read as the typed jobs.
async fn jobs_queued_by_older_versions_still_run(backend: Backend) {
    let db = TestDb::new(backend);
    let old_rows = [
        ("deliver", r#"{"subscriber_id":"s2","update_id":"u1"}"#),
        ("fanout", r#"{"update_id":"u1"}"#),
        ("confirm", r#"{"subscriber_id":"s1"}"#),
    ];
    queue_as_the_previous_version(&db.url, backend, &old_rows).await;
    // Opening the store applies the new migration to those rows.
    let store = db.store().await;
    let jobs = store
        .claim_jobs(Queue::Subscribers, 10, 60_000, 10)
        .await
        .unwrap();
    let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    assert_eq!(kinds, ["confirm", "fanout", "deliver"], "by priority");
    assert_eq!(
        jobs[0].payload::<Confirm>().unwrap(),
        Confirm {
            subscriber_id: "s1".into()
        }
    );
    assert_eq!(
        jobs[1].payload::<Fanout>().unwrap(),
        Fanout {
            update_id: "u1".into()
        }
    );
    assert_eq!(
        jobs[2].payload::<Deliver>().unwrap(),
        Deliver {
            subscriber_id: "s2".into(),
            update_id: "u1".into()
        }
    );
    // What the typed jobs store is what the old code stored.
    let id = store
        .enqueue(
            &Deliver {
                subscriber_id: "s3".into(),
                update_id: "u9".into(),
            },
            0,
        )
        .await
        .unwrap()
        .expect("queued");
    let v: serde_json::Value = serde_json::from_str(&store.job(id).await.unwrap().payload).unwrap();
    assert_eq!(
        v,
        serde_json::json!({ "subscriber_id": "s3", "update_id": "u9" })
    );
}
on_both_backends!(jobs_queued_by_older_versions_still_run);

/// Migrates a fresh database up to the previous version's schema (migrations 1 to 5) and queues
/// `rows` the way that version did.
async fn queue_as_the_previous_version(url: &str, backend: Backend, rows: &[(&str, &str)]) {
    let inserts: Vec<String> = rows
        .iter()
        .map(|(kind, payload)| {
            format!("INSERT INTO jobs (kind, payload, run_at, created_at) VALUES ('{kind}', '{payload}', 0, 0)")
        })
        .collect();
    common::as_version(url, backend, 5, &inserts).await;
}

async fn email_subscriber(store: &Store, address: &str, now: i64) -> Subscriber {
    let d = SubscribeInput {
        kind: "email".into(),
        target: address.into(),
        components: vec![],
    }
    .normalize()
    .unwrap();
    let (sub, _) = store.subscribe(&d, "test", now).await.unwrap();
    store.confirm_subscriber(&sub.token, now).await.unwrap()
}

async fn incident(store: &Store, component: &str, notify: bool) -> (String, String) {
    let id = store
        .create_incident(
            &NewIncident {
                kind: IncidentKind::Incident,
                name: "Index slow".into(),
                impact: Impact::Minor,
                status: IncidentStatus::Investigating,
                body: "Looking".into(),
                components: vec![(component.into(), ComponentStatus::DegradedPerformance)],
                window: None,
                notify,
            },
            None,
            1_700_000_000_000,
        )
        .await
        .unwrap();
    let update = store.incident(&id).await.unwrap().updates[0].id.clone();
    (id, update)
}

/// While every subscriber worker is stuck on a hanging SMTP server and 10,000 deliveries wait,
/// a page-queue job is still claimed at once. (With one FIFO loop, the batch of stuck sends
/// held everything behind it.)
#[tokio::test]
async fn a_page_is_claimed_while_subscriber_sends_hang() {
    let fakes = firstline::fakes::Fakes::new();
    fakes.mail.hang_all(true);
    let app = TestApp::start_with_services(Backend::Sqlite, &[], fakes.services()).await;
    let ids = app.seed_components(&[("Index", "")]).await;
    let store = &app.state().store;
    let mut readers = Vec::new();
    for i in 0..20 {
        let sub = email_subscriber(store, &format!("reader{i}@example.org"), 1).await;
        readers.push(sub.id);
    }
    let (_, update) = incident(store, &ids[0], false).await;
    // 20 real deliveries (they hang in the mailer) first, then 9,980 more.
    let mut queued: Vec<Deliver> = readers
        .into_iter()
        .map(|subscriber_id| Deliver {
            subscriber_id,
            update_id: update.clone(),
        })
        .collect();
    queued.extend(deliveries(9_980));
    store.enqueue_many(&queued, 1).await.unwrap();
    eventually(
        10,
        "every subscriber slot (16) is stuck in a send",
        || async { (fakes.mail.started() >= 16).then_some(()) },
    )
    .await;
    let page = store
        .enqueue(
            &TestPage {
                to: "on-call".into(),
            },
            app.state().clock.now_ms(),
        )
        .await
        .unwrap()
        .expect("queued");
    app.state()
        .store
        .wakes()
        .wake(firstline::store::Work::Queue(Queue::Pages));
    let row = eventually(5, "the page job is claimed", || async {
        let row = store.job(page).await.unwrap();
        (row.attempts >= 1 && row.last_error.is_some()).then_some(row)
    })
    .await;
    let error = row.last_error.unwrap_or_default();
    assert!(
        error.contains("unknown job kind \"test_page\""),
        "an unknown kind fails clearly: {error}"
    );
    let (pending, _) = store.job_backlog().await.unwrap();
    assert!(
        pending > 9_900,
        "the deliveries are still waiting: {pending}"
    );
    app.stop().await;
}

/// One send that hangs holds one slot: the other deliveries go out and finish meanwhile.
/// (With a claimed batch joined as a whole, the batch waited for its slowest send.)
#[tokio::test]
async fn one_hanging_send_delays_no_other_delivery() {
    let fakes = firstline::fakes::Fakes::new();
    fakes.mail.hang_for("slow@example.org");
    let app = TestApp::start_with_services(Backend::Sqlite, &[], fakes.services()).await;
    let ids = app.seed_components(&[("Index", "")]).await;
    let store = &app.state().store;
    // The slow subscriber is the oldest, so its delivery is claimed in the first batch.
    email_subscriber(store, "slow@example.org", 1).await;
    for i in 0..30 {
        email_subscriber(store, &format!("reader{i}@example.org"), 2).await;
    }
    incident(store, &ids[0], true).await;
    app.state()
        .store
        .wakes()
        .wake(firstline::store::Work::Queue(Queue::Subscribers));
    eventually(10, "every other delivery is sent and finished", || async {
        let (pending, _) = store.job_backlog().await.unwrap();
        (fakes.mail.sent().len() == 30 && pending == 1).then_some(())
    })
    .await;
    assert!(fakes
        .mail
        .sent()
        .iter()
        .all(|m| m.to != ["slow@example.org"]));
    app.stop().await;
}

/// A send that outlasts `job_timeout_secs` fails ("timed out") and waits for its retry, like any
/// other failure; the rest of the queue carries on.
#[tokio::test]
async fn a_send_that_times_out_is_retried() {
    let fakes = firstline::fakes::Fakes::new();
    fakes.mail.hang_for("slow@example.org");
    let app = TestApp::start_with_services(
        Backend::Sqlite,
        &[("FIRSTLINE_JOB_TIMEOUT_SECS", "1")],
        fakes.services(),
    )
    .await;
    let ids = app.seed_components(&[("Index", "")]).await;
    let store = &app.state().store;
    let slow = email_subscriber(store, "slow@example.org", 1).await;
    let fast = email_subscriber(store, "fast@example.org", 2).await;
    let (_, update) = incident(store, &ids[0], false).await;
    let started = app.state().clock.now_ms();
    let id = store
        .enqueue(
            &Deliver {
                subscriber_id: slow.id.clone(),
                update_id: update.clone(),
            },
            started,
        )
        .await
        .unwrap()
        .expect("queued");
    store
        .enqueue(
            &Deliver {
                subscriber_id: fast.id.clone(),
                update_id: update.clone(),
            },
            started,
        )
        .await
        .unwrap()
        .expect("queued");
    app.state()
        .store
        .wakes()
        .wake(firstline::store::Work::Queue(Queue::Subscribers));
    let row = eventually(10, "the hanging send times out", || async {
        let row = store.job(id).await.unwrap();
        row.last_error.is_some().then_some(row)
    })
    .await;
    let error = row.last_error.clone().unwrap_or_default();
    assert!(error.contains("timed out after 1 s"), "{error}");
    assert_eq!(row.done_at, None, "it will be retried");
    assert_eq!(row.attempts, 1);
    assert!(
        row.run_at >= started + 10_000,
        "the first retry waits 10 s: {} vs {started}",
        row.run_at
    );
    let sent = fakes.mail.sent();
    assert_eq!(sent.len(), 1, "only the other delivery went out");
    assert_eq!(sent[0].to, ["fast@example.org"]);
    assert_eq!(store.job_backlog().await.unwrap(), (1, 1));
    app.stop().await;
}

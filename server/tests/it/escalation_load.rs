//! The escalation round under concurrent writes: on SQLite a round holds the one write lock,
//! so it must not wait for another pool connection meanwhile (those may all be waiting for
//! that lock: nothing moves until the busy timeout, 10 s, fails them with "database is
//! locked").

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{Backend, TestDb};
use crate::escalation_crash::{paged_service, policy, responder};
use app::domain::ingest::{Action, Severity, Signal};
use firstline::store::{Ingest, Store};
use serde_json::json;

/// Opens one incident on the service of `key_id` through the store (as an accepted trigger).
pub async fn open_incident(store: &Store, key_id: &str, dedup: &str, now: i64) {
    let signal = Signal {
        action: Action::Trigger,
        dedup_key: Some(dedup.to_string()),
        summary: format!("Down: {dedup}"),
        source: "load".into(),
        severity: Severity::Error,
        occurred_at: None,
        details: json!({}),
        links: Vec::new(),
        images: Vec::new(),
    };
    store
        .ingest(
            &[Ingest::Signal {
                key_id: key_id.to_string(),
                signal,
                truncated: 0,
            }],
            now,
        )
        .await
        .expect("ingest");
}

async fn round_beside_busy_writers_does_not_stall(backend: Backend) {
    let db = TestDb::new(backend);
    let store = db.store().await;
    let jonas = responder(&store, "jonas@example.org", "Jonas").await;
    let pid = policy(&store, "Load", &[&jonas], 5).await;
    let now = 1_700_000_000_000;
    let mut incidents = Vec::new();
    for i in 0..20 {
        let (sid, key) = paged_service(&store, &format!("Service {i}"), &pid).await;
        open_incident(&store, &key.id, &format!("load-{i}"), now).await;
        incidents.push(sid);
    }
    let store = Arc::new(store);
    let ids: Vec<String> = store
        .oncall_incidents(&firstline::store::OncallFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("incidents")
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids.len(), 20);
    // Writers that keep every pool connection busy waiting for the write lock.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..24 {
        let (store, stop, id) = (store.clone(), stop.clone(), ids[w % ids.len()].clone());
        writers.spawn(async move {
            let mut slowest = Duration::ZERO;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let t = Instant::now();
                store
                    .note_oncall(&id, "load", "", &json!({}), now)
                    .await
                    .expect("a write beside the round");
                slowest = slowest.max(t.elapsed());
            }
            slowest
        });
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let mut decided = 0;
    let mut rounds = 0;
    while decided < ids.len() {
        rounds += 1;
        assert!(
            rounds <= 10 * ids.len(),
            "rounds stopped deciding incidents"
        );
        let round = store
            .escalate_due(now + 1, 4)
            .await
            .expect("escalation round");
        decided += round.incidents;
    }
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut slowest = Duration::ZERO;
    while let Some(w) = writers.join_next().await {
        slowest = slowest.max(w.expect("writer"));
    }
    assert!(
        took < Duration::from_secs(3),
        "the rounds took {took:?} beside the writers"
    );
    assert!(
        slowest < Duration::from_secs(3),
        "a write waited {slowest:?} beside the rounds"
    );
}
on_both_backends!(round_beside_busy_writers_does_not_stall);

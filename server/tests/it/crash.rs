//! The real `firstline` binary killed with SIGKILL right after each `202`: every event it
//! answered `202` for is in the database after a restart (the answer waits for the commit).
//!
//! On PostgreSQL the test cluster runs without fsync (the database itself is not killed), so
//! there this checks the order of commit and answer, not the disk.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Backend, TestDb};
use crate::ingest::{rows, service_with_key};
use app::domain::service::KeyKind;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_firstline");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Starts `firstline serve` on a free port; returns it with its base URL once it is ready.
async fn start(db_url: &str) -> (Child, String) {
    start_with_env(db_url, &[]).await
}

/// Starts `firstline serve` on a free port with `env` set besides; returns it with its base URL
/// once it is ready.
pub(crate) async fn start_with_env(db_url: &str, env: &[(&str, String)]) -> (Child, String) {
    let port = free_port();
    let child = Command::new(BIN)
        .arg("serve")
        .env("FIRSTLINE_DATABASE_URL", db_url)
        .env("FIRSTLINE_LISTEN", format!("127.0.0.1:{port}"))
        .env("FIRSTLINE_INGEST_RATE_PER_MIN", "100000")
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn firstline");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "firstline did not become ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (child, base)
}

async fn sigkill_after_each_202_loses_nothing(backend: Backend) {
    let db = TestDb::new(backend);
    let key = {
        let store = db.store().await;
        let (_, key) = service_with_key(&store, "Checkout", KeyKind::Pagerduty).await;
        store.close().await;
        key
    };
    let client = reqwest::Client::new();
    let mut accepted = Vec::new();
    let mut changes = 0;
    for round in 0..12 {
        let (mut child, base) = start(&db.url).await;
        let dedup = format!("crash-{round}");
        let r = client
            .post(format!("{base}/v2/enqueue"))
            .json(&json!({
                "routing_key": key.key,
                "event_action": "trigger",
                "dedup_key": dedup,
                "payload": { "summary": format!("Round {round}"), "source": "crash", "severity": "error" },
            }))
            .send()
            .await
            .expect("send");
        let status = r.status();
        if round % 4 == 3 {
            // A change event too, the next thing before the kill.
            let r = client
                .post(format!("{base}/v2/change/enqueue"))
                .json(&json!({ "routing_key": key.key, "payload": { "summary": format!("Deploy {round}") } }))
                .send()
                .await
                .expect("send change");
            if r.status() == 202 {
                changes += 1;
            }
        }
        // SIGKILL the moment the answer is in.
        child.kill().expect("kill -9");
        child.wait().expect("wait");
        assert_eq!(status, 202, "round {round}");
        accepted.push(dedup);
    }
    let r = rows(backend, &db.url).await;
    assert_eq!(
        r.alerts,
        accepted.len() as i64,
        "every 202'd alert survived: {r:?}"
    );
    assert_eq!(r.changes, changes, "every 202'd change event survived");
    assert_eq!(r.incidents, 1, "the alerts joined one incident");
    // By key, after one more restart (it starts on what the kills left).
    let (mut child, _) = start(&db.url).await;
    child.kill().expect("kill");
    child.wait().expect("wait");
    let store = db.store().await;
    let incidents = store
        .oncall_incidents(&firstline::store::OncallFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut keys: Vec<String> = store
        .incident_alerts(&incidents[0].id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.dedup_key)
        .collect();
    keys.sort();
    accepted.sort();
    assert_eq!(keys, accepted);
    store.close().await;
}
on_both_backends!(sigkill_after_each_202_loses_nothing);

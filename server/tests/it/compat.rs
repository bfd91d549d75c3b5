//! Real senders against a running Firstline: the PagerDuty client libraries from PyPI
//! (`pdpyras` and `pagerduty`, driven by `server/tests/compat/pd_client.py`) and Debian's
//! Prometheus Alertmanager with a webhook receiver. `scripts/tools.sh` installs them; a test
//! whose tool is missing fails, saying how to install it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{eventually, Backend, TestApp};
use crate::ingest::service_with_key;
use app::domain::oncall::State;
use app::domain::service::KeyKind;
use firstline::store::OncallFilter;
use serde_json::{json, Value};

/// The Python that has the PagerDuty client libraries (`FIRSTLINE_COMPAT_PYTHON`, else the
/// virtual environment `scripts/tools.sh` makes).
fn compat_python() -> PathBuf {
    let p = std::env::var_os("FIRSTLINE_COMPAT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").expect("HOME"))
                .join(".cache/firstline/compat-venv/bin/python")
        });
    assert!(
        p.exists(),
        "{} is missing: run scripts/tools.sh, which installs pdpyras and pagerduty into it \
         (or set FIRSTLINE_COMPAT_PYTHON to a Python that has them)",
        p.display()
    );
    p
}

/// Runs `pd_client.py` with `client`; returns the result of each step by name.
async fn run_pd_client(client: &str, base: &str, key: &str, dedup: &str) -> Vec<(String, Value)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat/pd_client.py");
    let python = compat_python();
    let args = [client, base, key, dedup].map(str::to_string);
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .args(&args)
            .output()
            .expect("run python")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pd_client.py {client} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON line");
            (
                v["step"].as_str().expect("step").to_string(),
                v["result"].clone(),
            )
        })
        .collect()
}

async fn pagerduty_clients_from_pypi(backend: Backend) {
    let app = TestApp::start(backend).await;
    let store = &app.state().store;
    for client in ["pdpyras", "pagerduty"] {
        let (service, key) =
            service_with_key(store, &format!("Checkout {client}"), KeyKind::Pagerduty).await;
        let dedup = format!("disk-db1-{client}");
        let steps = run_pd_client(client, &app.base, &key.key, &dedup).await;
        let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "trigger",
                "repeat",
                "trigger_without_key",
                "acknowledge",
                "resolve",
                "change"
            ],
            "{client}"
        );
        // The libraries return the dedup key the server answered.
        for (name, result) in &steps[..5] {
            let got = result.as_str().unwrap_or_default();
            if name == "trigger_without_key" {
                assert!(
                    got.len() == 32 && got.chars().all(|c| c.is_ascii_hexdigit()),
                    "{client}: {got}"
                );
            } else {
                assert_eq!(got, dedup, "{client} {name}");
            }
        }
        let incidents = store
            .oncall_incidents(&OncallFilter {
                service_id: Some(service.id.clone()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(incidents.len(), 1, "{client}: one incident");
        let inc = &incidents[0];
        // The keyless alert is still open, so the incident is acknowledged, not resolved.
        assert_eq!(inc.state, State::Acknowledged, "{client}");
        let alerts = store.incident_alerts(&inc.id).await.unwrap();
        assert_eq!(alerts.len(), 2, "{client}: {alerts:?}");
        let disk = alerts.iter().find(|a| a.dedup_key == dedup).expect("alert");
        assert_eq!(disk.state, State::Resolved, "{client}");
        assert_eq!(disk.event_count, 2, "{client}");
        assert_eq!(disk.origin, "db1.example.org");
        assert_eq!(disk.severity, app::domain::ingest::Severity::Warning);
        assert_eq!(
            disk.details["custom_details"],
            json!({ "free disk": "3%", "nested": { "list": [1, 2.5, null, "x"], "ok": false } }),
            "{client}"
        );
        assert_eq!(
            serde_json::to_value(&disk.links).unwrap(),
            json!([{ "href": "https://runbooks.example.org/disk", "text": "Runbook" }])
        );
        assert_eq!(
            serde_json::to_value(&disk.images).unwrap(),
            json!([{ "src": "https://grafana.example.org/disk.png", "href": "https://grafana.example.org/d/1", "alt": "Disk graph" }])
        );
        let kinds: Vec<(String, String)> = store
            .timeline(&inc.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.channel))
            .collect();
        for k in [
            "opened",
            "alert_triggered",
            "alert_repeated",
            "acknowledged",
            "alert_resolved",
        ] {
            assert!(
                kinds.contains(&(k.to_string(), "PagerDuty event".to_string())),
                "{client}: {k} in {kinds:?}"
            );
        }
        let changes = store.changes(&service.id, 0, i64::MAX).await.unwrap();
        assert_eq!(changes.len(), 1, "{client}");
        assert_eq!(changes[0].summary, "Deployed checkout v42");
        assert_eq!(changes[0].source, "ci.example.org");
        assert_eq!(
            changes[0].details,
            json!({ "build": 1234, "commit": "abc123" })
        );
        assert_eq!(
            changes[0].links[0].href,
            "https://ci.example.org/builds/1234"
        );
        let age = app.state().clock.now_ms() - changes[0].occurred_at;
        assert!(
            (0..600_000).contains(&age),
            "{client}: the client's timestamp is read ({age} ms ago)"
        );
    }
    app.stop().await;
}
on_both_backends!(pagerduty_clients_from_pypi);

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn alertmanager_bin() -> PathBuf {
    let p = std::env::var_os("FIRSTLINE_ALERTMANAGER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/prometheus-alertmanager"));
    assert!(
        p.exists(),
        "{} is missing: run scripts/tools.sh (installs Debian's prometheus-alertmanager), or \
         set FIRSTLINE_ALERTMANAGER to an alertmanager binary",
        p.display()
    );
    p
}

/// Alertmanager notifies Firstline through a webhook receiver: an alert posted to its API
/// fires, and fires resolved when it is posted again with an end in the past.
#[tokio::test]
async fn prometheus_alertmanager_webhook_fires_and_resolves() {
    let bin = alertmanager_bin();
    let app = TestApp::start(Backend::Sqlite).await;
    let store = &app.state().store;
    let (service, key) = service_with_key(store, "Web", KeyKind::Alertmanager).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: firstline\n  group_by: ['alertname']\n  group_wait: 0s\n  \
             group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: firstline\n    webhook_configs:\n      - url: {}/hooks/alertmanager/{}\n        \
             send_resolved: true\n",
            app.base, key.key
        ),
    )
    .expect("write config");
    let port = free_port();
    let am = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("log")).expect("log");
    let _am = Killed(
        Command::new(&bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start alertmanager"),
    );
    let http = reqwest::Client::new();
    let ready = |http: reqwest::Client, am: String| async move {
        let r = http.get(format!("{am}/-/ready")).send().await.ok()?;
        r.status().is_success().then_some(())
    };
    let logs = || std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
    for _ in 0..300 {
        if ready(http.clone(), am.clone()).await.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ready(http.clone(), am.clone()).await.is_some(),
        "alertmanager did not become ready:\n{}",
        logs()
    );
    // Started a minute ago, so an end a second ago is after the start.
    let now = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(1);
    let alert = |ends: jiff::Timestamp| {
        json!([{
            "labels": { "alertname": "CompatHighLoad", "instance": "web1:9100", "severity": "critical" },
            "annotations": { "summary": "Load above 20 on web1" },
            "startsAt": now.to_string(),
            "endsAt": ends.to_string(),
            "generatorURL": "http://prometheus.example.org/graph?g0.expr=load1",
        }])
    };
    let r = http
        .post(format!("{am}/api/v2/alerts"))
        .json(&alert(now + jiff::SignedDuration::from_hours(2)))
        .send()
        .await
        .expect("post alert");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    let filter = OncallFilter {
        service_id: Some(service.id.clone()),
        limit: 10,
        ..Default::default()
    };
    let inc = eventually(
        60,
        "Alertmanager's notification opens an incident",
        || async {
            store
                .oncall_incidents(&filter)
                .await
                .unwrap()
                .into_iter()
                .next()
        },
    )
    .await;
    assert_eq!(inc.state, State::Triggered, "{}", logs());
    assert_eq!(inc.title, "Load above 20 on web1");
    let alerts = store.incident_alerts(&inc.id).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].origin, "web1:9100");
    assert_eq!(alerts[0].severity, app::domain::ingest::Severity::Critical);
    assert_eq!(alerts[0].details["labels"]["alertname"], "CompatHighLoad");

    // Posted again, ending a second ago: Alertmanager sends it resolved.
    let r = http
        .post(format!("{am}/api/v2/alerts"))
        .json(&alert(
            jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1),
        ))
        .send()
        .await
        .expect("post resolved");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    eventually(
        60,
        "Alertmanager's resolved notification resolves it",
        || async {
            let i = store.oncall_incident(&inc.id).await.unwrap();
            (i.state == State::Resolved).then_some(())
        },
    )
    .await;
    let alerts = store.incident_alerts(&inc.id).await.unwrap();
    assert_eq!(alerts.len(), 1, "the same alert, by fingerprint");
    assert_eq!(alerts[0].state, State::Resolved);
    let tl: Vec<String> = store
        .timeline(&inc.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.channel == "Alertmanager")
        .map(|e| e.kind)
        .collect();
    assert!(tl.contains(&"resolved".to_string()), "{tl:?}");
    app.stop().await;
}

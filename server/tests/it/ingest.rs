//! Alerts in through HTTP, on both backends, with hand-built bodies: PagerDuty Events v2 and
//! change events, Alertmanager and Grafana webhooks, the generic webhook and heartbeats; what
//! each stores, that bad input of every kind is refused naming the field and stores nothing,
//! the per-key rate limit, and many senders at once (the group commit).

use crate::common;

use app::domain::monitor::{MonitorDraft, MonitorKind};
use app::domain::oncall::{OncallIncident, State};
use app::domain::service::{IntegrationKey, KeyKind, Service, ServiceInput};
use common::{Backend, TestApp};
use firstline::store::OncallFilter;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A running app with one service and a key of each kind on it.
pub struct Fx {
    pub app: TestApp,
    pub backend: Backend,
    pub service: Service,
    pub pd: IntegrationKey,
    pub am: IntegrationKey,
    pub grafana: IntegrationKey,
    pub generic: IntegrationKey,
}

/// Creates a service named `name` and a key of `kind` on it, directly in the store.
pub async fn service_with_key(
    store: &firstline::store::Store,
    name: &str,
    kind: KeyKind,
) -> (Service, IntegrationKey) {
    let input = ServiceInput {
        name: name.into(),
        description: String::new(),
        team_id: String::new(),
    }
    .normalize()
    .expect("valid service");
    let service = store.create_service(&input, 1).await.expect("service");
    let key = store
        .create_key(&service.id, kind, kind.label(), 1)
        .await
        .expect("key");
    (service, key)
}

pub async fn fixture(backend: Backend, extra: &[(&str, &str)]) -> Fx {
    let app = TestApp::start_with(backend, extra).await;
    fixture_on(app, backend).await
}

async fn fixture_on(app: TestApp, backend: Backend) -> Fx {
    let store = &app.state().store;
    let (service, pd) = service_with_key(store, "Checkout", KeyKind::Pagerduty).await;
    let mut keys = Vec::new();
    for kind in [KeyKind::Alertmanager, KeyKind::Grafana, KeyKind::Generic] {
        let k = store
            .create_key(&service.id, kind, kind.label(), 1)
            .await
            .expect("key");
        keys.push(k);
    }
    let generic = keys.pop().expect("generic");
    let grafana = keys.pop().expect("grafana");
    let am = keys.pop().expect("alertmanager");
    Fx {
        app,
        backend,
        service,
        pd,
        am,
        grafana,
        generic,
    }
}

/// Rows in the tables ingestion writes: alerts, on-call incidents, their events, change events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rows {
    pub alerts: i64,
    pub incidents: i64,
    pub events: i64,
    pub changes: i64,
}

/// Counts the rows ingestion writes, with a direct query on the test database.
pub async fn rows(backend: Backend, url: &str) -> Rows {
    const SQL: &str =
        "SELECT (SELECT COUNT(*) FROM alerts), (SELECT COUNT(*) FROM oncall_incidents), \
                       (SELECT COUNT(*) FROM oncall_events), (SELECT COUNT(*) FROM change_events)";
    let (alerts, incidents, events, changes): (i64, i64, i64, i64) = match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.expect("sqlite");
            let r = sqlx::query_as(SQL).fetch_one(&pool).await.expect("count");
            pool.close().await;
            r
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.expect("postgres");
            let r = sqlx::query_as(SQL).fetch_one(&pool).await.expect("count");
            pool.close().await;
            r
        }
    };
    Rows {
        alerts,
        incidents,
        events,
        changes,
    }
}

impl Fx {
    fn store(&self) -> &firstline::store::Store {
        &self.app.state().store
    }

    async fn rows(&self) -> Rows {
        rows(self.backend, &self.app.db.url).await
    }

    /// Posts `body` (bytes as given) to `path` with a content type; returns status, headers
    /// and the body (JSON, or the text as a JSON string).
    async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let r = self
            .app
            .client
            .post(self.app.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("post");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, v)
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let (s, _, v) = self
            .post_raw(path, "application/json", body.to_string())
            .await;
        (s, v)
    }

    /// A PagerDuty event with this fixture's routing key.
    async fn pd(&self, mut body: Value) -> (StatusCode, Value) {
        if body.get("routing_key").is_none() {
            body["routing_key"] = json!(self.pd.key);
        }
        self.post("/v2/enqueue", &body).await
    }

    async fn incidents(&self) -> Vec<OncallIncident> {
        self.store()
            .oncall_incidents(&OncallFilter {
                service_id: Some(self.service.id.clone()),
                limit: 100,
                ..Default::default()
            })
            .await
            .expect("incidents")
    }

    async fn open_incident(&self) -> OncallIncident {
        let open: Vec<_> = self
            .incidents()
            .await
            .into_iter()
            .filter(|i| i.state.is_open())
            .collect();
        assert_eq!(open.len(), 1, "exactly one open incident: {open:?}");
        open.into_iter().next().expect("one")
    }

    /// The timeline's (kind, channel) pairs.
    async fn timeline(&self, incident: &str) -> Vec<(String, String)> {
        self.store()
            .timeline(incident)
            .await
            .expect("timeline")
            .into_iter()
            .map(|e| (e.kind, e.channel))
            .collect()
    }
}

fn trigger(summary: &str, dedup: Option<&str>) -> Value {
    let mut v = json!({
        "event_action": "trigger",
        "payload": { "summary": summary, "source": "db1.example.org", "severity": "critical" },
    });
    if let Some(d) = dedup {
        v["dedup_key"] = json!(d);
    }
    v
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

async fn pagerduty_trigger_repeat_acknowledge_resolve(backend: Backend) {
    let f = fixture(backend, &[]).await;
    let before = f.rows().await;
    assert_eq!(before.alerts + before.incidents + before.events, 0);

    // A trigger without a dedup key gets one made for it; attachments are kept verbatim.
    let custom =
        json!({ "free disk": "3%", "nested": { "list": [1, 2.5, null, "x"], "ok": false } });
    let mut first = trigger("Disk almost full on db1", None);
    first["payload"]["custom_details"] = custom.clone();
    first["payload"]["component"] = json!("postgres");
    first["links"] = json!([{ "href": "https://runbooks.example.org/disk", "text": "Runbook" }]);
    first["images"] = json!([{ "src": "https://grafana.example.org/disk.png", "href": "https://grafana.example.org/d/1", "alt": "Disk graph" }]);
    let (s, body) = f.pd(first).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["message"], "Event processed");
    let dedup = body["dedup_key"].as_str().expect("dedup_key").to_string();
    assert!(is_hex32(&dedup), "a generated 32-hex key: {dedup}");

    let inc = f.open_incident().await;
    assert_eq!(inc.state, State::Triggered);
    assert_eq!(inc.service_id.as_deref(), Some(f.service.id.as_str()));
    assert_eq!(inc.title, "Disk almost full on db1");
    let alerts = f.store().incident_alerts(&inc.id).await.unwrap();
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    assert_eq!(alert.dedup_key, dedup);
    assert_eq!(alert.event_count, 1);
    assert_eq!(alert.origin, "db1.example.org");
    assert_eq!(
        alert.details["custom_details"], custom,
        "custom_details verbatim"
    );
    assert_eq!(alert.details["component"], "postgres");
    assert_eq!(
        serde_json::to_value(&alert.links).unwrap(),
        json!([{ "href": "https://runbooks.example.org/disk", "text": "Runbook" }])
    );
    assert_eq!(
        serde_json::to_value(&alert.images).unwrap(),
        json!([{ "src": "https://grafana.example.org/disk.png", "href": "https://grafana.example.org/d/1", "alt": "Disk graph" }])
    );

    // The same dedup key again: the same alert, counted, on the same incident.
    let (s, body) = f.pd(trigger("Disk almost full on db1", Some(&dedup))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["dedup_key"], dedup.as_str());
    assert_eq!(f.incidents().await.len(), 1, "no second incident");
    let alerts = f.store().incident_alerts(&inc.id).await.unwrap();
    assert_eq!(alerts.len(), 1, "no second alert");
    assert_eq!(alerts[0].event_count, 2);
    let tl = f.timeline(&inc.id).await;
    assert!(
        tl.iter()
            .any(|(k, c)| k == "alert_repeated" && c == "PagerDuty event"),
        "{tl:?}"
    );

    // Acknowledge and resolve for a key nobody opened: accepted, nothing stored.
    let quiet = f.rows().await;
    for action in ["acknowledge", "resolve"] {
        let (s, body) = f
            .pd(json!({ "event_action": action, "dedup_key": "never-opened" }))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{action}: {body}");
        assert_eq!(body["dedup_key"], "never-opened");
    }
    assert_eq!(f.rows().await, quiet, "ignored events store nothing");

    // Acknowledge, then resolve: the incident follows, through "PagerDuty event".
    let (s, body) = f
        .pd(json!({ "event_action": "acknowledge", "dedup_key": dedup }))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let inc1 = f.store().oncall_incident(&inc.id).await.unwrap();
    assert_eq!(inc1.state, State::Acknowledged);
    let tl = f.timeline(&inc.id).await;
    assert!(
        tl.contains(&("acknowledged".into(), "PagerDuty event".into())),
        "{tl:?}"
    );
    let (s, body) = f
        .pd(json!({ "event_action": "resolve", "dedup_key": dedup }))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let inc1 = f.store().oncall_incident(&inc.id).await.unwrap();
    assert_eq!(inc1.state, State::Resolved);
    assert!(inc1.resolved_at.is_some());
    let tl = f.timeline(&inc.id).await;
    assert!(
        tl.contains(&("resolved".into(), "PagerDuty event".into())),
        "{tl:?}"
    );
    let alerts = f.store().incident_alerts(&inc.id).await.unwrap();
    assert_eq!(alerts[0].state, State::Resolved);

    // A trigger after the resolve opens a new alert (and, nothing being open, a new incident).
    let (s, body) = f.pd(trigger("Disk full again", Some(&dedup))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let again = f.open_incident().await;
    assert_ne!(again.id, inc.id);
    let alerts = f.store().incident_alerts(&again.id).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_ne!(alerts[0].id, alert.id, "a new alert");
    assert_eq!(alerts[0].dedup_key, dedup);
    assert_eq!(alerts[0].event_count, 1);
    assert_eq!(f.incidents().await.len(), 2);

    // A second alert of the service joins its open incident.
    let (s, _) = f.pd(trigger("Replication lag", Some("lag-db1"))).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(f.incidents().await.len(), 2, "joins, does not open");
    assert_eq!(f.store().incident_alerts(&again.id).await.unwrap().len(), 2);
    f.app.stop().await;
}
on_both_backends!(pagerduty_trigger_repeat_acknowledge_resolve);

async fn change_events_are_stored_and_listed(backend: Backend) {
    let f = fixture(backend, &[]).await;
    let details = json!({ "build": 1234, "commit": "abc123", "tags": ["prod", "eu"] });
    let (s, body) = f
        .post(
            "/v2/change/enqueue",
            &json!({
                "routing_key": f.pd.key,
                "payload": {
                    "summary": "Deployed checkout v42",
                    "source": "ci.example.org",
                    "timestamp": "2026-11-28T09:00:00Z",
                    "custom_details": details,
                },
                "links": [{ "href": "https://ci.example.org/builds/1234", "text": "Build" }],
            }),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "success");
    let at = jiff::Timestamp::from_second(1_795_856_400).unwrap();
    assert_eq!(at.to_string(), "2026-11-28T09:00:00Z");
    let list = f
        .store()
        .changes(&f.service.id, 0, i64::MAX)
        .await
        .expect("changes");
    assert_eq!(list.len(), 1);
    let c = &list[0];
    assert_eq!(c.summary, "Deployed checkout v42");
    assert_eq!(c.source, "ci.example.org");
    assert_eq!(c.occurred_at, at.as_millisecond());
    assert_eq!(c.details, details);
    assert_eq!(c.links[0].href, "https://ci.example.org/builds/1234");
    let r = f.rows().await;
    assert_eq!((r.alerts, r.incidents, r.changes), (0, 0, 1));
    f.app.stop().await;
}
on_both_backends!(change_events_are_stored_and_listed);

fn am_alert(status: &str, fingerprint: &str, name: &str) -> Value {
    json!({
        "status": status,
        "labels": { "alertname": name, "instance": "web1:9100", "severity": "warning" },
        "annotations": { "summary": format!("{name} on web1") },
        "startsAt": "2026-11-28T09:00:00Z",
        "endsAt": if status == "resolved" { "2026-11-28T09:05:00Z" } else { "0001-01-01T00:00:00Z" },
        "generatorURL": "http://prometheus.example.org/graph?g0.expr=up",
        "fingerprint": fingerprint,
    })
}

async fn alertmanager_group_opens_the_firing_alert(backend: Backend) {
    let f = fixture(backend, &[]).await;
    let body = json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"HighLoad\"}",
        "truncatedAlerts": 3,
        "status": "firing",
        "receiver": "firstline",
        "groupLabels": { "alertname": "HighLoad" },
        "commonLabels": { "job": "node" },
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.org",
        "alerts": [am_alert("firing", "fp-firing-1", "HighLoad"), am_alert("resolved", "fp-resolved-1", "DiskSlow")],
    });
    let (s, v) = f
        .post(&format!("/hooks/alertmanager/{}", f.am.key), &body)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["status"], "accepted");
    let inc = f.open_incident().await;
    assert_eq!(inc.title, "HighLoad on web1");
    let alerts = f.store().incident_alerts(&inc.id).await.unwrap();
    assert_eq!(alerts.len(), 1, "only the firing one opens: {alerts:?}");
    assert_eq!(alerts[0].dedup_key, "fp-firing-1");
    assert_eq!(alerts[0].origin, "web1:9100");
    assert_eq!(alerts[0].details["labels"]["alertname"], "HighLoad");
    let tl = f.timeline(&inc.id).await;
    assert!(
        tl.iter().any(|(k, _)| k == "alerts_truncated"),
        "truncatedAlerts noted: {tl:?}"
    );
    // What the source did is recorded through it; the engine's own entries name no channel.
    assert!(
        tl.iter().all(|(_, c)| c == "Alertmanager" || c.is_empty()),
        "{tl:?}"
    );
    assert!(
        tl.iter().filter(|(_, c)| c == "Alertmanager").count() >= 2,
        "{tl:?}"
    );
    let r = f.rows().await;
    assert_eq!(
        (r.alerts, r.incidents),
        (1, 1),
        "the resolved one stored nothing"
    );

    // The group resolves.
    let mut resolved = body.clone();
    resolved["status"] = json!("resolved");
    resolved["truncatedAlerts"] = json!(0);
    resolved["alerts"] = json!([am_alert("resolved", "fp-firing-1", "HighLoad")]);
    let (s, v) = f
        .post(&format!("/hooks/alertmanager/{}", f.am.key), &resolved)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let inc = f.store().oncall_incident(&inc.id).await.unwrap();
    assert_eq!(inc.state, State::Resolved);
    f.app.stop().await;
}
on_both_backends!(alertmanager_group_opens_the_firing_alert);

async fn grafana_webhooks_are_accepted(backend: Backend) {
    let f = fixture(backend, &[]).await;
    // Grafana's unified alerting webhook: Alertmanager's shape plus its own fields.
    let body = json!({
        "receiver": "firstline",
        "status": "firing",
        "orgId": 1,
        "alerts": [{
            "status": "firing",
            "labels": { "alertname": "API latency", "grafana_folder": "Checkout", "severity": "critical" },
            "annotations": { "summary": "p99 latency above 2 s" },
            "startsAt": "2026-11-28T09:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example.org/alerting/grafana/abc/view",
            "fingerprint": "a1b2c3d4e5f6",
            "silenceURL": "https://grafana.example.org/alerting/silence/new",
            "dashboardURL": "https://grafana.example.org/d/xyz",
            "panelURL": "https://grafana.example.org/d/xyz?viewPanel=2",
            "values": { "B": 2.4, "C": 1 },
            "valueString": "[ var='B' labels={} value=2.4 ]",
        }],
        "groupLabels": { "alertname": "API latency" },
        "commonLabels": { "alertname": "API latency" },
        "commonAnnotations": {},
        "externalURL": "https://grafana.example.org/",
        "version": "1",
        "groupKey": "{}:{alertname=\"API latency\"}",
        "truncatedAlerts": 0,
        "title": "[FIRING:1] API latency",
        "state": "alerting",
        "message": "**Firing**",
    });
    let (s, v) = f
        .post(&format!("/hooks/grafana/{}", f.grafana.key), &body)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["dedup_keys"], json!(["a1b2c3d4e5f6"]));
    let inc = f.open_incident().await;
    let alerts = f.store().incident_alerts(&inc.id).await.unwrap();
    assert_eq!(alerts[0].summary, "p99 latency above 2 s");
    assert_eq!(alerts[0].details["values"]["B"], 2.4);
    let hrefs: Vec<&str> = alerts[0].links.iter().map(|l| l.href.as_str()).collect();
    assert!(
        hrefs.contains(&"https://grafana.example.org/d/xyz"),
        "{hrefs:?}"
    );
    let tl = f.timeline(&inc.id).await;
    // What the source did is recorded through it; the engine's own entries name no channel.
    assert!(
        tl.iter().all(|(_, c)| c == "Grafana" || c.is_empty()),
        "{tl:?}"
    );
    assert!(
        tl.iter().filter(|(_, c)| c == "Grafana").count() >= 2,
        "{tl:?}"
    );
    f.app.stop().await;
}
on_both_backends!(grafana_webhooks_are_accepted);

async fn generic_webhook_takes_json_and_forms(backend: Backend) {
    let f = fixture(backend, &[]).await;
    let path = format!("/hooks/generic/{}", f.generic.key);
    let (s, v) = f
        .post(
            &path,
            &json!({ "summary": "Backup failed on db1", "dedup": "backup-db1", "severity": "warning",
                     "details": { "exit": 2, "log": "disk full" } }),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["dedup_keys"], json!(["backup-db1"]));
    let inc = f.open_incident().await;
    let alerts = f.store().incident_alerts(&inc.id).await.unwrap();
    assert_eq!(alerts[0].details, json!({ "exit": 2, "log": "disk full" }));
    assert_eq!(alerts[0].severity, app::domain::ingest::Severity::Warning);

    // A form (curl -d), without a dedup key: one is made.
    let (s, _, v) = f
        .post_raw(
            &path,
            "application/x-www-form-urlencoded",
            "summary=Cron+job+late&source=cron1",
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let made = v["dedup_keys"][0]
        .as_str()
        .expect("a dedup key")
        .to_string();
    assert!(is_hex32(&made), "{made}");
    let alerts = f.store().incident_alerts(&inc.id).await.unwrap();
    assert_eq!(alerts.len(), 2, "joined the open incident");
    assert!(alerts
        .iter()
        .any(|a| a.summary == "Cron job late" && a.origin == "cron1"));

    // Resolve both through forms.
    for d in ["backup-db1", made.as_str()] {
        let (s, _, v) = f
            .post_raw(
                &path,
                "application/x-www-form-urlencoded",
                format!("dedup={d}&action=resolve"),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    }
    let inc = f.store().oncall_incident(&inc.id).await.unwrap();
    assert_eq!(inc.state, State::Resolved);
    let tl = f.timeline(&inc.id).await;
    assert!(
        tl.contains(&("resolved".into(), "webhook".into())),
        "{tl:?}"
    );
    f.app.stop().await;
}
on_both_backends!(generic_webhook_takes_json_and_forms);

async fn heartbeats_on_both_paths(backend: Backend) {
    let f = fixture(backend, &[]).await;
    let mut tokens = Vec::new();
    for name in ["Nightly backup", "Hourly export"] {
        let m = f
            .store()
            .create_monitor(
                &MonitorDraft {
                    kind: MonitorKind::Heartbeat,
                    name: name.into(),
                    component_id: None,
                    service_id: None,
                    url: None,
                    interval_s: 3600,
                    timeout_ms: 10_000,
                    expect_status: None,
                    keyword: None,
                    failure_threshold: 1,
                },
                f.app.state().clock.now_ms(),
            )
            .await
            .expect("monitor");
        tokens.push((name, m.token.expect("token")));
    }
    for ((name, token), (path, method)) in tokens
        .iter()
        .zip([("/hooks/heartbeat", "POST"), ("/heartbeat", "GET")])
    {
        let url = f.app.url(&format!("{path}/{token}"));
        let r = match method {
            "POST" => f.app.client.post(url).send().await,
            _ => f.app.client.get(url).send().await,
        }
        .expect("ping");
        assert_eq!(r.status(), 200, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["monitor"], *name, "{path}");
        assert_eq!(v["recorded"], true, "{path}");
    }
    let stored = f
        .store()
        .prune_monitor_results(i64::MAX)
        .await
        .expect("results");
    assert_eq!(stored, 2, "one result per path");
    for path in ["/hooks/heartbeat", "/heartbeat"] {
        let r = f
            .app
            .client
            .post(f.app.url(&format!("{path}/no-such-token")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert!(r.text().await.unwrap().contains("token"), "{path}");
    }
    f.app.stop().await;
}
on_both_backends!(heartbeats_on_both_paths);

/// One bad request: where, what, and what the answer must say.
struct Bad {
    what: &'static str,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    /// Text the answer must contain (the field it names).
    names: &'static str,
}

async fn bad_input_is_refused_naming_the_field_and_stores_nothing(backend: Backend) {
    let f = fixture(backend, &[]).await;
    // Something stored already, so "nothing more" is not "nothing at all".
    let (s, _) = f.pd(trigger("Already open", Some("open-1"))).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let revoked = f
        .store()
        .create_key(&f.service.id, KeyKind::Pagerduty, "old", 1)
        .await
        .unwrap();
    f.store()
        .revoke_key(&f.service.id, &revoked.id, 2)
        .await
        .unwrap();
    let revoked_am = f
        .store()
        .create_key(&f.service.id, KeyKind::Alertmanager, "old am", 1)
        .await
        .unwrap();
    f.store()
        .revoke_key(&f.service.id, &revoked_am.id, 2)
        .await
        .unwrap();

    let pd = f.pd.key.clone();
    let j = |v: Value| v.to_string().into_bytes();
    let huge = "x".repeat(600 * 1024);
    let pd_event = |extra: Value| {
        let mut v = trigger("Bad", Some("bad-1"));
        v["routing_key"] = json!(pd);
        if let Value::Object(m) = extra {
            for (k, val) in m {
                if val.is_null() {
                    v.as_object_mut().unwrap().remove(&k);
                } else {
                    v[k] = val;
                }
            }
        }
        v
    };
    let am_path = format!("/hooks/alertmanager/{}", f.am.key);
    let gr_path = format!("/hooks/grafana/{}", f.grafana.key);
    let gen_path = format!("/hooks/generic/{}", f.generic.key);
    let json_ct = "application/json";
    let form_ct = "application/x-www-form-urlencoded";
    let mut cases = vec![
        // PagerDuty events.
        Bad {
            what: "pd malformed JSON",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: b"{\"routing_key\": ".to_vec(),
            status: 400,
            names: "body",
        },
        Bad {
            what: "pd not an object",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: b"[1,2]".to_vec(),
            status: 400,
            names: "body",
        },
        Bad {
            what: "pd unknown event_action",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(json!({ "event_action": "explode" }))),
            status: 400,
            names: "event_action",
        },
        Bad {
            what: "pd event_action not a string",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(json!({ "event_action": 1 }))),
            status: 400,
            names: "event_action",
        },
        Bad {
            what: "pd missing event_action",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(json!({ "event_action": null }))),
            status: 400,
            names: "event_action",
        },
        Bad {
            what: "pd missing routing_key",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(json!({ "routing_key": null }))),
            status: 400,
            names: "routing_key",
        },
        Bad {
            what: "pd routing_key wrong type",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(json!({ "routing_key": 42 }))),
            status: 400,
            names: "routing_key",
        },
        Bad {
            what: "pd missing payload",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(json!({ "payload": null }))),
            status: 400,
            names: "payload",
        },
        Bad {
            what: "pd payload wrong type",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(json!({ "payload": "down" }))),
            status: 400,
            names: "payload",
        },
        Bad {
            what: "pd missing summary",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(
                json!({ "payload": { "source": "a", "severity": "info" } }),
            )),
            status: 400,
            names: "payload.summary",
        },
        Bad {
            what: "pd summary wrong type",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(
                json!({ "payload": { "summary": ["a"], "source": "a", "severity": "info" } }),
            )),
            status: 400,
            names: "payload.summary",
        },
        Bad {
            what: "pd missing source",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(
                json!({ "payload": { "summary": "a", "severity": "info" } }),
            )),
            status: 400,
            names: "payload.source",
        },
        Bad {
            what: "pd bad severity",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(
                json!({ "payload": { "summary": "a", "source": "a", "severity": "meh" } }),
            )),
            status: 400,
            names: "payload.severity",
        },
        Bad {
            what: "pd bad timestamp",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(
                json!({ "payload": { "summary": "a", "source": "a", "severity": "info", "timestamp": "yesterday" } }),
            )),
            status: 400,
            names: "payload.timestamp",
        },
        Bad {
            what: "pd dedup_key wrong type",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(json!({ "dedup_key": 7 }))),
            status: 400,
            names: "dedup_key",
        },
        Bad {
            what: "pd resolve without dedup_key",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(json!({ "routing_key": pd, "event_action": "resolve" })),
            status: 400,
            names: "dedup_key",
        },
        Bad {
            what: "pd image over http",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(
                json!({ "images": [{ "src": "http://example.org/a.png" }] }),
            )),
            status: 400,
            names: "images[0].src",
        },
        Bad {
            what: "pd image javascript",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(
                json!({ "images": [{ "src": "javascript:alert(1)" }] }),
            )),
            status: 400,
            names: "images[0].src",
        },
        Bad {
            what: "pd link not a URL",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(json!({ "links": [{ "href": "ftp://x" }] }))),
            status: 400,
            names: "links[0].href",
        },
        Bad {
            what: "pd links not a list",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(json!({ "links": "https://x" }))),
            status: 400,
            names: "links",
        },
        Bad {
            what: "pd unknown key",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(
                json!({ "routing_key": "0123456789abcdef0123456789abcdef" }),
            )),
            status: 400,
            names: "routing_key",
        },
        Bad {
            what: "pd revoked key",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(json!({ "routing_key": revoked.key }))),
            status: 400,
            names: "revoked",
        },
        Bad {
            what: "pd key of another kind",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(json!({ "routing_key": f.am.key }))),
            status: 400,
            names: "routing_key",
        },
        Bad {
            what: "pd oversized",
            path: "/v2/enqueue".into(),
            content_type: json_ct,
            body: j(pd_event(
                json!({ "payload": { "summary": "a", "source": "a", "severity": "info", "custom_details": { "blob": huge } } }),
            )),
            status: 413,
            names: "",
        },
        // Change events.
        Bad {
            what: "change malformed",
            path: "/v2/change/enqueue".into(),
            content_type: json_ct,
            body: b"{".to_vec(),
            status: 400,
            names: "body",
        },
        Bad {
            what: "change missing payload",
            path: "/v2/change/enqueue".into(),
            content_type: json_ct,
            body: j(json!({ "routing_key": pd })),
            status: 400,
            names: "payload",
        },
        Bad {
            what: "change missing summary",
            path: "/v2/change/enqueue".into(),
            content_type: json_ct,
            body: j(json!({ "routing_key": pd, "payload": { "source": "ci" } })),
            status: 400,
            names: "payload.summary",
        },
        Bad {
            what: "change summary wrong type",
            path: "/v2/change/enqueue".into(),
            content_type: json_ct,
            body: j(json!({ "routing_key": pd, "payload": { "summary": 5 } })),
            status: 400,
            names: "payload.summary",
        },
        Bad {
            what: "change bad timestamp",
            path: "/v2/change/enqueue".into(),
            content_type: json_ct,
            body: j(
                json!({ "routing_key": pd, "payload": { "summary": "x", "timestamp": "soon" } }),
            ),
            status: 400,
            names: "payload.timestamp",
        },
        Bad {
            what: "change missing routing_key",
            path: "/v2/change/enqueue".into(),
            content_type: json_ct,
            body: j(json!({ "payload": { "summary": "x" } })),
            status: 400,
            names: "routing_key",
        },
        Bad {
            what: "change unknown key",
            path: "/v2/change/enqueue".into(),
            content_type: json_ct,
            body: j(json!({ "routing_key": "nope", "payload": { "summary": "x" } })),
            status: 400,
            names: "routing_key",
        },
        Bad {
            what: "change revoked key",
            path: "/v2/change/enqueue".into(),
            content_type: json_ct,
            body: j(json!({ "routing_key": revoked.key, "payload": { "summary": "x" } })),
            status: 400,
            names: "revoked",
        },
        Bad {
            what: "change key of another kind",
            path: "/v2/change/enqueue".into(),
            content_type: json_ct,
            body: j(json!({ "routing_key": f.generic.key, "payload": { "summary": "x" } })),
            status: 400,
            names: "routing_key",
        },
        Bad {
            what: "change oversized",
            path: "/v2/change/enqueue".into(),
            content_type: json_ct,
            body: j(
                json!({ "routing_key": pd, "payload": { "summary": "x", "custom_details": huge } }),
            ),
            status: 413,
            names: "",
        },
    ];
    for (label, path) in [
        ("alertmanager", am_path.clone()),
        ("grafana", gr_path.clone()),
    ] {
        let _ = label;
        cases.extend([
            Bad { what: "hook malformed", path: path.clone(), content_type: json_ct, body: b"{\"alerts\": [".to_vec(), status: 400, names: "body" },
            Bad { what: "hook no alerts", path: path.clone(), content_type: json_ct, body: j(json!({ "version": "4" })), status: 400, names: "alerts" },
            Bad { what: "hook alerts wrong type", path: path.clone(), content_type: json_ct, body: j(json!({ "alerts": { "a": 1 } })), status: 400, names: "alerts" },
            Bad { what: "hook alert not an object", path: path.clone(), content_type: json_ct, body: j(json!({ "alerts": [am_alert("firing", "ok-1", "A"), 3] })), status: 400, names: "alerts[1]" },
            Bad { what: "hook bad status", path: path.clone(), content_type: json_ct, body: j(json!({ "alerts": [am_alert("firing", "ok-1", "A"), am_alert("pending", "fp2", "B")] })), status: 400, names: "alerts[1].status" },
            Bad { what: "hook missing fingerprint", path: path.clone(), content_type: json_ct, body: j(json!({ "alerts": [{ "status": "firing", "labels": { "alertname": "X" } }] })), status: 400, names: "alerts[0].fingerprint" },
            Bad { what: "hook oversized", path: path.clone(), content_type: json_ct, body: j(json!({ "alerts": [am_alert("firing", "ok-1", &huge)] })), status: 413, names: "" },
        ]);
    }
    let valid_am = j(json!({ "alerts": [am_alert("firing", "ok-1", "A")] }));
    cases.extend([
        Bad {
            what: "alertmanager unknown key",
            path: "/hooks/alertmanager/nope".into(),
            content_type: json_ct,
            body: valid_am.clone(),
            status: 404,
            names: "key",
        },
        Bad {
            what: "alertmanager revoked key",
            path: format!("/hooks/alertmanager/{}", revoked_am.key),
            content_type: json_ct,
            body: valid_am.clone(),
            status: 404,
            names: "revoked",
        },
        Bad {
            what: "alertmanager with a PagerDuty key",
            path: format!("/hooks/alertmanager/{}", f.pd.key),
            content_type: json_ct,
            body: valid_am.clone(),
            status: 404,
            names: "key",
        },
        Bad {
            what: "grafana with a generic key",
            path: format!("/hooks/grafana/{}", f.generic.key),
            content_type: json_ct,
            body: valid_am.clone(),
            status: 404,
            names: "key",
        },
        // Generic webhook.
        Bad {
            what: "generic malformed JSON",
            path: gen_path.clone(),
            content_type: json_ct,
            body: b"{\"summary\"".to_vec(),
            status: 400,
            names: "body",
        },
        Bad {
            what: "generic JSON not an object",
            path: gen_path.clone(),
            content_type: json_ct,
            body: b"\"hi\"".to_vec(),
            status: 400,
            names: "body",
        },
        Bad {
            what: "generic missing summary",
            path: gen_path.clone(),
            content_type: json_ct,
            body: j(json!({ "dedup": "x" })),
            status: 400,
            names: "summary",
        },
        Bad {
            what: "generic summary wrong type",
            path: gen_path.clone(),
            content_type: json_ct,
            body: j(json!({ "summary": 12 })),
            status: 400,
            names: "summary",
        },
        Bad {
            what: "generic unknown action",
            path: gen_path.clone(),
            content_type: json_ct,
            body: j(json!({ "summary": "x", "action": "explode" })),
            status: 400,
            names: "action",
        },
        Bad {
            what: "generic resolve without dedup",
            path: gen_path.clone(),
            content_type: form_ct,
            body: b"action=resolve".to_vec(),
            status: 400,
            names: "dedup",
        },
        Bad {
            what: "generic bad severity",
            path: gen_path.clone(),
            content_type: form_ct,
            body: b"summary=x&severity=meh".to_vec(),
            status: 400,
            names: "severity",
        },
        Bad {
            what: "generic form missing summary",
            path: gen_path.clone(),
            content_type: form_ct,
            body: b"dedup=x".to_vec(),
            status: 400,
            names: "summary",
        },
        Bad {
            what: "generic unknown key",
            path: "/hooks/generic/nope".into(),
            content_type: form_ct,
            body: b"summary=x".to_vec(),
            status: 404,
            names: "key",
        },
        Bad {
            what: "generic with an Alertmanager key",
            path: format!("/hooks/generic/{}", f.am.key),
            content_type: form_ct,
            body: b"summary=x".to_vec(),
            status: 404,
            names: "key",
        },
        Bad {
            what: "generic oversized",
            path: gen_path.clone(),
            content_type: form_ct,
            body: format!("summary=x&details={huge}").into_bytes(),
            status: 413,
            names: "",
        },
    ]);
    let before = f.rows().await;
    let mut failures = Vec::new();
    for c in &cases {
        let (s, _, v) = f.post_raw(&c.path, c.content_type, c.body.clone()).await;
        let text = v.to_string();
        if s.as_u16() != c.status {
            failures.push(format!(
                "{}: status {} (wanted {}): {text}",
                c.what, s, c.status
            ));
        } else if !text.contains(c.names) {
            failures.push(format!(
                "{}: answer does not name {:?}: {text}",
                c.what, c.names
            ));
        }
        let now = f.rows().await;
        if now != before {
            failures.push(format!(
                "{}: stored something: {before:?} -> {now:?}",
                c.what
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} bad answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
    f.app.stop().await;
}
on_both_backends!(bad_input_is_refused_naming_the_field_and_stores_nothing);

async fn over_the_rate_gets_429_and_stores_nothing(backend: Backend) {
    // A fake clock, so the minute cannot turn between the events.
    let (app, clock) =
        TestApp::start_with_clock(backend, &[("FIRSTLINE_INGEST_RATE_PER_MIN", "3")]).await;
    let f = fixture_on(app, backend).await;
    for i in 0..3 {
        let (s, v) = f.pd(trigger("Flapping", Some(&format!("rate-{i}")))).await;
        assert_eq!(s, StatusCode::ACCEPTED, "event {i}: {v}");
    }
    let before = f.rows().await;
    let (s, headers, v) = f
        .post_raw("/v2/enqueue", "application/json", {
            let mut b = trigger("Flapping", Some("rate-3"));
            b["routing_key"] = json!(f.pd.key);
            b.to_string()
        })
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    let after: i64 = headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&after), "{after}");
    assert_eq!(f.rows().await, before, "a throttled event stores nothing");
    // Other keys have their own budget; webhooks are throttled alike.
    let path = format!("/hooks/generic/{}", f.generic.key);
    for i in 0..3 {
        let (s, v) = f
            .post(&path, &json!({ "summary": "x", "dedup": format!("g{i}") }))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    }
    let before = f.rows().await;
    let (s, headers, v) = f
        .post_raw(
            &path,
            "application/json",
            json!({ "summary": "x" }).to_string(),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(headers.get("retry-after").is_some());
    assert_eq!(f.rows().await, before);
    // The next minute is a new budget.
    clock.advance(std::time::Duration::from_secs(61));
    let (s, v) = f.pd(trigger("Flapping", Some("rate-4"))).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    f.app.stop().await;
}
on_both_backends!(over_the_rate_gets_429_and_stores_nothing);

async fn concurrent_events_are_all_stored(backend: Backend) {
    let f = fixture(backend, &[("FIRSTLINE_INGEST_RATE_PER_MIN", "100000")]).await;
    let url = f.app.url("/v2/enqueue");
    let sends = (0..200).map(|i| {
        let (client, url) = (f.app.client.clone(), url.clone());
        let mut body = trigger(&format!("Event {i}"), Some(&format!("many-{i}")));
        body["routing_key"] = json!(f.pd.key);
        tokio::spawn(async move { client.post(url).json(&body).send().await })
    });
    let mut accepted = 0;
    for r in futures::future::join_all(sends).await {
        let r = r.expect("task").expect("send");
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap_or_default());
        accepted += 1;
    }
    assert_eq!(accepted, 200);
    let r = f.rows().await;
    assert_eq!(r.alerts, 200, "every accepted event is stored");
    assert_eq!(r.incidents, 1, "they all joined one incident");
    let inc = f.open_incident().await;
    let alerts = f.store().incident_alerts(&inc.id).await.unwrap();
    let mut keys: Vec<String> = alerts.into_iter().map(|a| a.dedup_key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 200);

    // 50 triggers for one key at once: one open alert, counted 50 times.
    let sends = (0..50).map(|_| {
        let (client, url) = (f.app.client.clone(), url.clone());
        let mut body = trigger("Same thing", Some("the-same"));
        body["routing_key"] = json!(f.pd.key);
        tokio::spawn(async move { client.post(url).json(&body).send().await })
    });
    for r in futures::future::join_all(sends).await {
        let r = r.expect("task").expect("send");
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap_or_default());
    }
    let alerts = f.store().incident_alerts(&inc.id).await.unwrap();
    let same: Vec<_> = alerts
        .iter()
        .filter(|a| a.dedup_key == "the-same")
        .collect();
    assert_eq!(same.len(), 1, "one alert for one dedup key");
    assert_eq!(same[0].event_count, 50);
    assert!(same[0].state.is_open());
    f.app.stop().await;
}
on_both_backends!(concurrent_events_are_all_stored);

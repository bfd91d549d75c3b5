//! The Statuspage v2 compatible JSON, badges and the cached public page, through HTTP.

use crate::common;

use app::domain::status::ComponentStatus;
use common::{Backend, TestApp};
use serde_json::Value;

const COMPONENT_STATUSES: [&str; 5] = [
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];
const INDICATORS: [&str; 5] = ["none", "minor", "major", "critical", "maintenance"];

async fn seed(app: &TestApp) -> Vec<String> {
    app.seed_components(&[
        ("Sparse index", "Index"),
        ("Git index", "Index"),
        ("Web UI", ""),
    ])
    .await
}

fn is_iso_millis(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && s.parse::<jiff::Timestamp>().is_ok()
}

fn check_page(page: &Value) {
    for key in ["id", "name", "url", "time_zone"] {
        assert!(page[key].is_string(), "page.{key}");
    }
    assert!(
        is_iso_millis(&page["updated_at"]),
        "page.updated_at {}",
        page["updated_at"]
    );
}

fn check_component(c: &Value) {
    assert!(c["id"]
        .as_str()
        .unwrap()
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit()));
    assert!(c["name"].is_string());
    assert!(
        COMPONENT_STATUSES.contains(&c["status"].as_str().unwrap()),
        "{}",
        c["status"]
    );
    assert!(is_iso_millis(&c["created_at"]) && is_iso_millis(&c["updated_at"]));
    assert!(c["position"].is_i64());
    assert!(c["description"].is_string() || c["description"].is_null());
    for key in ["showcase", "group", "only_show_if_degraded"] {
        assert!(c[key].is_boolean(), "{key}");
    }
    assert!(c["start_date"].is_null() || c["start_date"].is_string());
    assert!(c["group_id"].is_null() || c["group_id"].is_string());
    assert!(c["page_id"].is_string());
    if c["group"] == true {
        assert!(c["components"].is_array());
    }
}

#[tokio::test]
async fn statuspage_v2_shapes_enums_and_derived_indicator() {
    let app = TestApp::start(Backend::Sqlite).await;
    let ids = seed(&app).await;
    let get = |path: &'static str| {
        let url = app.url(path);
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap() }
    };
    let r = get("/api/v2/summary.json").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=10"));
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let summary: Value = r.json().await.unwrap();
    check_page(&summary["page"]);
    assert_eq!(summary["status"]["indicator"], "none");
    assert_eq!(summary["status"]["description"], "All Systems Operational");
    assert!(summary["incidents"].as_array().unwrap().is_empty());
    assert!(summary["scheduled_maintenances"]
        .as_array()
        .unwrap()
        .is_empty());
    let comps = summary["components"].as_array().unwrap();
    assert_eq!(comps.len(), 4, "one group and three components, flat");
    comps.iter().for_each(check_component);
    let group = comps.iter().find(|c| c["group"] == true).unwrap();
    assert_eq!(group["name"], "Index");
    let children: Vec<&str> = group["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(children.len(), 2);
    for child in comps.iter().filter(|c| c["group_id"] == group["id"]) {
        assert!(children.contains(&child["id"].as_str().unwrap()));
    }

    // 304 for the same ETag.
    let r = app
        .client
        .get(app.url("/api/v2/summary.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    // Each status maps to the indicator of the spec; the next request after the change shows it.
    let cases = [
        (ComponentStatus::DegradedPerformance, "minor"),
        (ComponentStatus::PartialOutage, "major"),
        (ComponentStatus::MajorOutage, "critical"),
        (ComponentStatus::UnderMaintenance, "maintenance"),
        (ComponentStatus::Operational, "none"),
    ];
    for (status, indicator) in cases {
        app.state()
            .store
            .set_component_status(&ids[0], status, None, 1_800_000_000_000)
            .await
            .unwrap();
        app.state().hub.refresh(&app.state().store).await.unwrap();
        let r = app
            .client
            .get(app.url("/api/v2/status.json"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "changed document is not 304");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["status"]["indicator"], indicator, "{status:?}");
        assert!(INDICATORS.contains(&indicator));
        check_page(&body["page"]);
        let comps: Value = get("/api/v2/components.json").await.json().await.unwrap();
        let c = comps["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == ids[0].as_str())
            .unwrap()
            .clone();
        assert_eq!(c["status"], status.as_str());
    }
    // Groups show the worst status of their members.
    app.state()
        .store
        .set_component_status(
            &ids[1],
            ComponentStatus::MajorOutage,
            None,
            1_800_000_000_001,
        )
        .await
        .unwrap();
    app.state().hub.refresh(&app.state().store).await.unwrap();
    let comps: Value = get("/api/v2/components.json").await.json().await.unwrap();
    let group = comps["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["group"] == true)
        .unwrap()
        .clone();
    assert_eq!(group["status"], "major_outage");

    let r = get("/api/v2/incidents/unknown.json").await;
    assert_eq!(r.status(), 404);
    let r = get("/api/v2/nope.json").await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("summary.json"));
    app.stop().await;
}

#[tokio::test]
async fn anonymous_status_page_is_cached_per_change_with_etag() {
    let app = TestApp::start(Backend::Sqlite).await;
    let ids = seed(&app).await;
    let r = app
        .client
        .get(app.url("/status"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "br");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = app
        .client
        .get(app.url("/status"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    app.state()
        .store
        .set_component_status(
            &ids[2],
            ComponentStatus::PartialOutage,
            None,
            1_800_000_000_000,
        )
        .await
        .unwrap();
    app.state().hub.refresh(&app.state().store).await.unwrap();
    let r = app
        .client
        .get(app.url("/status"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "no stale page after a change");
    assert!(r.text().await.unwrap().contains("Partial System Outage"));
    app.stop().await;
}

#[tokio::test]
async fn badges_for_page_and_component() {
    let app = TestApp::start(Backend::Sqlite).await;
    let ids = seed(&app).await;
    let r = app.client.get(app.url("/badge.svg")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("image/svg+xml"));
    assert!(r.text().await.unwrap().contains("All Systems Operational"));
    app.state()
        .store
        .set_component_status(
            &ids[0],
            ComponentStatus::MajorOutage,
            None,
            1_800_000_000_000,
        )
        .await
        .unwrap();
    app.state().hub.refresh(&app.state().store).await.unwrap();
    let body = app
        .client
        .get(app.url(&format!("/badge/{}.svg", ids[0])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("Sparse index: Major outage"), "{body}");
    let r = app
        .client
        .get(app.url("/badge/nope.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

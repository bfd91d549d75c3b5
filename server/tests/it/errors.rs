//! The one error policy through HTTP: a page error is an HTML page, and every error on an API
//! path (`/api/...`, `/heartbeat/...`) is the same JSON shape,
//! `{"status": <code>, "error": "<sentence>", "field": <name or null>}`, whoever wrote it (a
//! handler, an extractor, the router's fallback or the same-origin layer).

use crate::common;

use common::{Backend, TestApp};
use serde_json::Value;

/// Checks status, content type and the one JSON shape; returns the body.
async fn json_error(r: reqwest::Response, code: u16, field: Option<&str>) -> Value {
    let what = format!("{} {}", r.url().path(), r.url().query().unwrap_or_default());
    assert_eq!(r.status().as_u16(), code, "{what}");
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "{what}: {ct}");
    let body: Value = r.json().await.unwrap();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["error", "field", "status"], "{what}: {body}");
    assert_eq!(body["status"], code, "{what}: {body}");
    assert_eq!(body["field"].as_str(), field, "{what}: {body}");
    assert!(
        !body["error"].as_str().unwrap().trim().is_empty(),
        "{what}: {body}"
    );
    body
}

async fn html_error(r: reqwest::Response, code: u16) -> String {
    let what = r.url().path().to_string();
    assert_eq!(r.status().as_u16(), code, "{what}");
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/html"), "{what}: {ct}");
    let html = r.text().await.unwrap();
    assert!(html.contains("<html"), "{what}: {html}");
    html
}

async fn pages_and_api_answer_errors_in_their_own_form(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.login_admin().await;
    let anon = common::client();
    let get = |c: &reqwest::Client, path: &str| c.get(app.url(path)).send();

    // Pages: HTML for people, with the status.
    let html = html_error(get(&app.client, "/schedules/nope").await.unwrap(), 404).await;
    assert!(html.contains("Page not found"), "{html}");
    html_error(get(&app.client, "/no/such/page").await.unwrap(), 404).await;
    let html = html_error(get(&anon, "/dashboard").await.unwrap(), 401).await;
    assert!(html.contains("log in"), "{html}");
    let r = anon
        .post(app.url("/logout"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    html_error(r, 403).await;

    // 400 with the field at fault.
    for (q, field) in [
        ("from=yesterday&to=2026-04-01T00:00:00Z", "from"),
        ("from=2026-04-01T00:00:00Z", "to"),
        ("from=2026-05-01T00:00:00Z&to=2026-04-01T00:00:00Z", "from"),
    ] {
        let r = get(&app.client, &format!("/api/v1/schedules/nope/shifts?{q}"))
            .await
            .unwrap();
        json_error(r, 400, Some(field)).await;
    }
    // 404: an unknown schedule, an unknown API path, an unknown public document (with CORS
    // kept and the documents that exist named), an unknown heartbeat token.
    let shifts = "/api/v1/schedules/nope/shifts?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z";
    json_error(get(&app.client, shifts).await.unwrap(), 404, None).await;
    // Compressed or not, the client gets plain JSON.
    let r = app
        .client
        .get(app.url(shifts))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    json_error(r, 404, None).await;
    json_error(
        get(&app.client, "/api/v1/nothing").await.unwrap(),
        404,
        None,
    )
    .await;
    let r = get(&anon, "/api/v2/nope.json").await.unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let body = json_error(r, 404, Some("file")).await;
    assert!(body["error"].as_str().unwrap().contains("summary.json"));
    json_error(
        get(&anon, "/heartbeat/nope").await.unwrap(),
        404,
        Some("token"),
    )
    .await;

    // 401 and 403.
    let body = json_error(get(&anon, "/api/v1/oncall").await.unwrap(), 401, None).await;
    assert!(body["error"].as_str().unwrap().contains("log in"));
    let r = app
        .client
        .post(app.url("/api/v1/oncall"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    json_error(r, 403, None).await;
    // 405 from the router, same shape.
    let r = app
        .client
        .post(app.url("/api/v1/oncall"))
        .send()
        .await
        .unwrap();
    json_error(r, 405, None).await;
    app.stop().await;
}
on_both_backends!(pages_and_api_answer_errors_in_their_own_form);

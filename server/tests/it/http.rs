//! Integration tests through HTTP against a real server on a real database.

use crate::common;

use std::time::Duration;

use app::domain::status::ComponentStatus;
use common::{Backend, TestApp};

async fn seed_component(app: &TestApp, name: &str, group: &str) -> String {
    let draft = app::domain::status::ComponentInput {
        name: name.into(),
        description: format!("{name} description"),
        group: group.into(),
        position: "1".into(),
        status: "operational".into(),
    }
    .normalize()
    .unwrap();
    let c = app
        .state()
        .store
        .create_component(&draft, None, 1_000)
        .await
        .unwrap();
    app.state().hub.refresh(&app.state().store).await.unwrap();
    c.id
}

async fn status_of(app: &TestApp, id: &str) -> ComponentStatus {
    app.state().store.component(id).await.unwrap().status
}

/// Reads SSE `data:` payloads from a streaming response.
struct SseReader {
    resp: reqwest::Response,
    buf: String,
}

impl SseReader {
    async fn next_data(&mut self, within: Duration) -> String {
        self.try_next_data(within).await.expect("an event in time")
    }

    /// The next event's data, or `None` if none comes `within`.
    async fn try_next_data(&mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let event: String = self.buf.drain(..end + 2).collect();
                    if event.lines().any(|l| l.starts_with("data:")) {
                        // Named `version` (pages with an older module listen to `message`
                        // only) and without `id` (a reconnect goes by the URL's `?v=`).
                        assert!(event.lines().any(|l| l == "event: version"), "{event}");
                        assert!(!event.lines().any(|l| l.starts_with("id:")), "{event}");
                    }
                    let data: Vec<&str> = event
                        .lines()
                        .filter_map(|l| l.strip_prefix("data:"))
                        .map(|d| d.trim_start())
                        .collect();
                    if !data.is_empty() {
                        return data.join("\n");
                    }
                    continue;
                }
                let chunk = self
                    .resp
                    .chunk()
                    .await
                    .expect("chunk")
                    .expect("stream open");
                self.buf.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .ok()
    }

    async fn open(app: &TestApp, path: &str, last_event_id: Option<&str>) -> SseReader {
        let mut req = common::client().get(app.url(path));
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        SseReader {
            resp,
            buf: String::new(),
        }
    }
}

#[tokio::test]
async fn public_status_page_renders_without_javascript() {
    let app = TestApp::start(Backend::Sqlite).await;
    seed_component(&app, "Sparse index", "Index").await;
    seed_component(&app, "Web UI", "Website").await;
    let r = app.client.get(app.url("/status")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for needle in [
        "Sparse index",
        "Web UI",
        "Index",
        "Website",
        "All Systems Operational",
        "Operational",
    ] {
        assert!(html.contains(needle), "missing {needle:?}");
    }
    // Anonymous visitors get the status page at / too.
    let home = app.get_text("/").await;
    assert!(home.contains("Sparse index"));
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::start(Backend::Sqlite).await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    app.state().store.close().await;
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503, "closed pool is not ready");
}

#[tokio::test]
async fn admin_routes_need_a_session() {
    let app = TestApp::start(Backend::Sqlite).await;
    let id = seed_component(&app, "API", "").await;
    let r = app
        .client
        .get(app.url("/admin/components"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap();
    assert!(body.contains("log in"), "{body}");
    assert!(body.contains("/login?next=/admin/components"));
    let r = app
        .post_form(
            &format!("/admin/components/{id}/status"),
            &[("status", "major_outage"), ("csrf", "x")],
        )
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(status_of(&app, &id).await, ComponentStatus::Operational);
    let r = app.client.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn login_errors_do_not_reveal_which_emails_exist() {
    let app = TestApp::start(Backend::Sqlite).await;
    app.create_user("jonas@example.org", "a long enough password", "responder")
        .await;
    let wrong_pw = app
        .post_form(
            "/login",
            &[
                ("email", "jonas@example.org"),
                ("password", "nope nope nope"),
            ],
        )
        .await;
    assert_eq!(wrong_pw.status(), 401);
    let a = wrong_pw.text().await.unwrap();
    let unknown = app
        .post_form(
            "/login",
            &[
                ("email", "nobody@example.org"),
                ("password", "nope nope nope"),
            ],
        )
        .await;
    assert_eq!(unknown.status(), 401);
    let b = unknown.text().await.unwrap();
    assert!(a.contains("Email or password is incorrect."));
    assert!(b.contains("Email or password is incorrect."));
    assert_eq!(
        a.replace("jonas@example.org", "X"),
        b.replace("nobody@example.org", "X")
    );

    let ok = app
        .post_form(
            "/login",
            &[
                ("email", "Jonas@Example.org "),
                ("password", "a long enough password"),
                ("next", "//evil.example"),
            ],
        )
        .await;
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/dashboard", "no open redirect");
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("firstline_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "plain http base URL");
    app.stop().await;
}

#[tokio::test]
async fn responders_cannot_use_admin_routes() {
    let app = TestApp::start(Backend::Sqlite).await;
    let id = seed_component(&app, "API", "").await;
    app.create_user("r@example.org", "responder password", "responder")
        .await;
    let csrf = app.login("r@example.org", "responder password").await;
    let r = app
        .client
        .get(app.url("/admin/components"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .post_form(
            &format!("/admin/components/{id}/status"),
            &[("status", "major_outage"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(status_of(&app, &id).await, ComponentStatus::Operational);
    app.stop().await;
}

async fn admin_changes_status_and_live_page_follows(backend: Backend) {
    let app = TestApp::start(backend).await;
    let id = seed_component(&app, "Sparse index", "Index").await;
    seed_component(&app, "Git index", "Index").await;
    let csrf = app.login_admin().await;

    // The page carries the version of its live body.
    let page = app.get_text("/status").await;
    let at = page.find("data-version=\"").expect("data-version") + 14;
    let shown = page[at..at + page[at..].find('"').unwrap()].to_string();
    assert_eq!(shown.len(), 20, "{shown}");

    // A page that shows the current version (?v=) hears nothing until something changes.
    let mut sse = SseReader::open(&app, &format!("/events/status?v={shown}"), None).await;
    // A page with an old version (or none) hears the current one at once; Last-Event-ID is not
    // believed (it is the last version announced, not the one the page shows).
    let mut reconnected = SseReader::open(&app, "/events/status", Some(&shown)).await;
    let mut stale = SseReader::open(&app, "/events/status?v=0123456789abcdef0123", None).await;
    assert_eq!(stale.next_data(Duration::from_secs(5)).await, shown);
    assert_eq!(reconnected.next_data(Duration::from_secs(5)).await, shown);
    assert_eq!(sse.try_next_data(Duration::from_millis(300)).await, None);

    let r = app
        .post_form(
            &format!("/admin/components/{id}/status"),
            &[("status", "partial_outage"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let started = std::time::Instant::now();
    let version = sse.next_data(Duration::from_secs(1)).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_ne!(version, shown);
    assert_eq!(reconnected.next_data(Duration::from_secs(1)).await, version);
    assert_eq!(stale.next_data(Duration::from_secs(1)).await, version);

    // The announced version's body: compressed, from memory, with the version as its ETag.
    let etag = format!("\"{version}\"");
    let r = common::client()
        .get(app.url("/status/live"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], etag.as_str());
    assert_eq!(r.headers()["x-status-version"], version.as_str());
    assert_eq!(r.headers()["content-encoding"], "br");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let r = common::client()
        .get(app.url("/status/live"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let next = app.get_text("/status/live").await;
    assert!(next.contains("Partial System Outage"), "{next}");
    let row = &next[next
        .find(&format!("data-component=\"{id}\""))
        .expect("component row")..];
    let row = &row[..row.find("</li>").unwrap()];
    assert!(row.contains("data-status=\"partial_outage\""), "{row}");
    assert!(!next.contains("<html"), "a fragment, not a page");

    // The very next page request shows it.
    let html = app.get_text("/status").await;
    assert!(html.contains("Partial System Outage"));
    assert!(html.contains("Partial outage"));
    let list = app
        .get_text(&format!("/admin/components?done=status&c={id}"))
        .await;
    assert!(list.contains("Sparse index is now: Partial outage."));
    assert_eq!(status_of(&app, &id).await, ComponentStatus::PartialOutage);
    app.stop().await;
}

on_both_backends!(admin_changes_status_and_live_page_follows);

#[tokio::test]
async fn admin_creates_edits_and_deletes_components() {
    let app = TestApp::start(Backend::Sqlite).await;
    let csrf = app.login_admin().await;
    let r = app
        .post_form(
            "/admin/components",
            &[
                ("csrf", &csrf),
                ("name", "Publishing"),
                ("description", "cargo publish"),
                ("group", "Crates"),
                ("position", "3"),
                ("status", "degraded_performance"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let list = app.state().store.list_components().await.unwrap();
    assert_eq!(list.len(), 1);
    let c = &list[0];
    assert_eq!(
        (c.name.as_str(), c.group_name.as_deref(), c.position),
        ("Publishing", Some("Crates"), 3)
    );
    assert!(app
        .get_text("/status")
        .await
        .contains("Degraded performance"));

    let edit = app.get_text(&format!("/admin/components/{}", c.id)).await;
    assert!(edit.contains("value=\"Publishing\""));
    let r = app
        .post_form(
            &format!("/admin/components/{}", c.id),
            &[
                ("csrf", &csrf),
                ("name", "Publishing API"),
                ("description", ""),
                ("group", ""),
                ("position", "0"),
                ("status", "operational"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let c2 = app.state().store.component(&c.id).await.unwrap();
    assert_eq!(
        (
            c2.name.as_str(),
            c2.group_name.as_deref(),
            c2.description.as_deref()
        ),
        ("Publishing API", None, None)
    );

    let r = app
        .post_form(
            &format!("/admin/components/{}/delete", c.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(app
        .state()
        .store
        .list_components()
        .await
        .unwrap()
        .is_empty());
    assert!(!app.get_text("/status").await.contains("Publishing API"));
    let r = app
        .post_form(
            &format!("/admin/components/{}/delete", c.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_clear_errors_and_stores_nothing() {
    let app = TestApp::start(Backend::Sqlite).await;
    let id = seed_component(&app, "API", "").await;
    let csrf = app.login_admin().await;
    let long = "x".repeat(101);
    let long_desc = "x".repeat(501);

    // Unknown status value.
    let r = app
        .post_form(
            &format!("/admin/components/{id}/status"),
            &[("status", "on_fire"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("status: unknown status"), "{body}");
    assert_eq!(status_of(&app, &id).await, ComponentStatus::Operational);

    // Field errors on create: each names its field, keeps the form, stores nothing.
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("name", "")], "must not be empty"),
        (vec![("name", "   ")], "must not be empty"),
        (vec![("name", &long)], "at most 100 characters"),
        (
            vec![("name", "Ok"), ("description", &long_desc)],
            "at most 500 characters",
        ),
        (
            vec![("name", "Ok"), ("group", &long)],
            "at most 100 characters",
        ),
        (vec![("name", "Ok"), ("position", "-4")], "whole number"),
        (vec![("name", "Ok"), ("position", "abc")], "whole number"),
        (
            vec![("name", "Ok"), ("status", "sideways")],
            "Unknown status",
        ),
    ];
    for (fields, message) in cases {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields.iter().copied());
        let r = app.post_form("/admin/components", &form).await;
        assert_eq!(r.status(), 400, "{fields:?}");
        let body = r.text().await.unwrap();
        assert!(body.contains(message), "{fields:?}: {message}");
        assert!(
            body.contains("aria-invalid=\"true\"") || message == "Unknown status",
            "{fields:?}"
        );
    }
    // Duplicate name: 409.
    let r = app
        .post_form("/admin/components", &[("csrf", &csrf), ("name", "API")])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Another component already has this name"));

    // Malformed posts.
    let r = app
        .client
        .post(app.url("/admin/components"))
        .header("content-type", "application/json")
        .body("{\"name\":\"X\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Expected a form post"));
    let r = app
        .client
        .post(app.url("/admin/components"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=%ZZ&csrf=1&csrf=2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = app
        .client
        .post(app.url("/admin/components"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 200 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413, "oversized body");

    // Missing or wrong CSRF token.
    let r = app
        .post_form("/admin/components", &[("name", "NoCsrf")])
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .post_form(
            "/admin/components",
            &[("name", "BadCsrf"), ("csrf", "forged")],
        )
        .await;
    assert_eq!(r.status(), 403);
    // Cross-site post, even with the right token.
    let r = app
        .client
        .post(app.url("/admin/components"))
        .header("origin", "https://evil.example")
        .form(&[("name", "CrossSite"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Unknown component.
    let r = app
        .post_form(
            "/admin/components/nope/status",
            &[("status", "major_outage"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 404);

    let all = app.state().store.list_components().await.unwrap();
    assert_eq!(all.len(), 1, "nothing was stored: {all:?}");
    assert_eq!(all[0].status, ComponentStatus::Operational);
    app.stop().await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::start(Backend::Sqlite).await;
    let csrf = app.login_admin().await;
    assert_eq!(
        app.client
            .get(app.url("/admin/components"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = app.post_form("/logout", &[("csrf", "wrong")]).await;
    assert_eq!(r.status(), 403);
    let r = app.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 303);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        app.client
            .get(app.url("/admin/components"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn https_base_url_sets_secure_host_cookie() {
    let db = common::TestDb::new(Backend::Sqlite);
    let store = db.store().await;
    let mut cfg = common::config(&db.url);
    cfg.base_url = "https://status.example.org".into();
    let running = firstline::start(cfg, store).await.unwrap();
    let user = app::domain::account::NewUserInput {
        email: "a@example.org".into(),
        name: "A".into(),
        ..Default::default()
    }
    .normalize()
    .unwrap();
    let hash = app::ssr::auth::hash_password("a long password!").unwrap();
    running
        .state
        .store
        .create_user(&user, &hash, 1)
        .await
        .unwrap();
    let r = common::client()
        .post(format!("http://{}/login", running.addr))
        .header("origin", "https://status.example.org")
        .form(&[("email", "a@example.org"), ("password", "a long password!")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-firstline_session="), "{cookie}");
    assert!(cookie.contains("; Secure"));
    running.stop().await.unwrap();
}

#[tokio::test]
async fn pages_are_compressed_and_security_headers_set() {
    let app = TestApp::start(Backend::Sqlite).await;
    seed_component(&app, "API", "").await;
    let r = app
        .client
        .get(app.url("/status"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let r = app
        .client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Page not found"));
    app.stop().await;
}

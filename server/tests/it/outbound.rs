//! The outbound policy against a real server: probe and webhook URLs that reach Firstline itself,
//! metadata services or (unless `outbound_allow` lists them) loopback and private addresses are
//! refused when saved, when connecting (by resolved address) and on every redirect hop.

use crate::common;

use app::domain::monitor::{MonitorDraft, MonitorKind};
use common::{eventually, Backend, HttpSink, TestApp};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Answers every request with a redirect to its `to` query parameter (status `code`, default
/// 302), counting requests.
struct Redirector {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Redirector {
    async fn start() -> Redirector {
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new().fallback(
            move |axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>| {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let code = q
                        .get("code")
                        .and_then(|c| c.parse().ok())
                        .and_then(|c| axum::http::StatusCode::from_u16(c).ok())
                        .unwrap_or(axum::http::StatusCode::FOUND);
                    let to = q.get("to").cloned().unwrap_or_default();
                    (code, [(axum::http::header::LOCATION, to)])
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Redirector { addr, hits }
    }

    /// A URL on this server that redirects to `to` with `code`.
    fn to(&self, to: &str, code: u16) -> String {
        reqwest::Url::parse_with_params(
            &format!("http://{}/go", self.addr),
            &[("to", to), ("code", &code.to_string())],
        )
        .expect("url")
        .to_string()
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A server on `[::1]` that counts requests (the redirect target that must never be reached).
async fn v6_sink() -> (u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            "reached"
        }
    });
    let listener = tokio::net::TcpListener::bind("[::1]:0")
        .await
        .expect("bind [::1] (IPv6 loopback)");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, hits)
}

async fn add_probe(app: &TestApp, csrf: &str, url: &str) -> reqwest::Response {
    app.post_form(
        "/admin/monitors",
        &[
            ("csrf", csrf),
            ("kind", "http"),
            ("name", &format!("probe {}", firstline::store::new_id())),
            ("url", url),
            ("interval", "5"),
            ("timeout", "2000"),
            ("failures", "1"),
        ],
    )
    .await
}

async fn add_webhook(app: &TestApp, csrf: &str, url: &str) -> reqwest::Response {
    app.post_form("/admin/subscribers", &[("csrf", csrf), ("url", url)])
        .await
}

/// Asserts a 400 whose message names the `url` field and says why.
async fn assert_refused(r: reqwest::Response, url: &str, why: &str) {
    assert_eq!(r.status(), 400, "{url} was accepted");
    let body = r.text().await.unwrap();
    assert!(body.contains("data-field=\"url\""), "{url}: no url error");
    assert!(body.contains("The URL "), "{url}: not a sentence");
    assert!(body.contains(why), "{url}: message lacks {why:?}");
}

/// The last error of the monitor with this URL once it has been checked.
async fn probe_error(app: &TestApp, url: &str) -> Option<String> {
    let m = app
        .state()
        .store
        .monitors()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.url.as_deref() == Some(url))?;
    m.last_checked_at?;
    Some(m.last_error.unwrap_or_default())
}

#[tokio::test]
async fn risky_urls_are_refused_when_saved() {
    // Nothing allowed: every spelling of loopback, and the never-reached classes.
    let app = TestApp::start_with(Backend::Sqlite, &[("FIRSTLINE_OUTBOUND_ALLOW", "")]).await;
    let csrf = app.login_admin().await;
    for (url, why) in [
        ("http://127.1:8080/", "loopback"),
        ("http://0.0.0.0:8080/", "unspecified"),
        ("http://[::ffff:127.0.0.1]:8080/", "loopback"),
        ("http://2130706433:8080/", "loopback"),
        ("http://0x7f000001:8080/", "loopback"),
        ("http://localhost:8080/", "loopback"),
        ("http://localhost.:8080/", "loopback"),
        ("http://[::1]:8080/", "loopback"),
        ("http://10.1.2.3/", "outbound_allow"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
        ("http://100.100.100.200/latest/meta-data/", "metadata"),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "metadata",
        ),
    ] {
        assert_refused(add_probe(&app, &csrf, url).await, url, why).await;
        assert_refused(add_webhook(&app, &csrf, url).await, url, why).await;
    }
    assert!(app.state().store.monitors().await.unwrap().is_empty());
    assert!(app
        .state()
        .store
        .subscribers(false)
        .await
        .unwrap()
        .is_empty());
    // Public addresses are fine.
    assert_eq!(
        add_probe(&app, &csrf, "https://crates.io/").await.status(),
        303
    );
    assert_eq!(
        add_webhook(&app, &csrf, "https://chat.example/hook")
            .await
            .status(),
        303
    );
    app.stop().await;

    // Everything allowed: Firstline itself and metadata addresses are still refused.
    let app = TestApp::start_with(
        Backend::Sqlite,
        &[("FIRSTLINE_OUTBOUND_ALLOW", "private,0.0.0.0/0,::/0")],
    )
    .await;
    let csrf = app.login_admin().await;
    let port = app.running.as_ref().unwrap().addr.port();
    for (url, why) in [
        (format!("http://127.1:{port}/admin"), "Firstline"),
        (format!("http://2130706433:{port}/"), "Firstline"),
        (format!("http://0x7f000001:{port}/"), "Firstline"),
        (format!("http://[::ffff:127.0.0.1]:{port}/"), "Firstline"),
        (format!("http://localhost:{port}/"), "Firstline"),
        (format!("http://localhost.:{port}/"), "Firstline"),
        (format!("http://0.0.0.0:{port}/"), "unspecified"),
        ("http://169.254.169.254/".into(), "metadata"),
        ("http://[fd00:ec2::254]/".into(), "metadata"),
        ("http://100.100.100.200/".into(), "metadata"),
        ("http://metadata.google.internal/".into(), "metadata"),
    ] {
        assert_refused(add_probe(&app, &csrf, &url).await, &url, why).await;
        assert_refused(add_webhook(&app, &csrf, &url).await, &url, why).await;
    }
    // ...while private services are reachable now.
    assert_eq!(
        add_probe(&app, &csrf, "http://10.1.2.3/").await.status(),
        303
    );
    app.stop().await;
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_at_connect_time_unless_allowed() {
    let sink = HttpSink::start().await;
    let url = format!("http://localhost:{}/health", sink.addr.port());

    // Saved before the check existed (or its DNS changed since): the probe itself refuses.
    let app = TestApp::start_with(Backend::Sqlite, &[("FIRSTLINE_OUTBOUND_ALLOW", "")]).await;
    app.state()
        .store
        .create_monitor(
            &MonitorDraft {
                kind: MonitorKind::Http,
                name: "Loopback by name".into(),
                component_id: None,
                service_id: None,
                url: Some(url.clone()),
                interval_s: 5,
                timeout_ms: 2000,
                expect_status: None,
                keyword: None,
                failure_threshold: 1,
            },
            app.state().clock.now_ms(),
        )
        .await
        .unwrap();
    let error = eventually(15, "the probe runs", || probe_error(&app, &url)).await;
    assert!(
        error.contains("refused") && error.contains("outbound_allow"),
        "{error}"
    );
    assert!(sink.bodies().is_empty(), "no request reached the service");
    app.stop().await;

    // Listed: the same probe reaches the service.
    let app = TestApp::start_with(
        Backend::Sqlite,
        &[("FIRSTLINE_OUTBOUND_ALLOW", "127.0.0.1")],
    )
    .await;
    let csrf = app.login_admin().await;
    assert_eq!(add_probe(&app, &csrf, &url).await.status(), 303);
    let error = eventually(15, "the probe runs", || probe_error(&app, &url)).await;
    assert_eq!(error, "", "the probe succeeds");
    assert!(!sink.bodies().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn probe_redirects_to_firstline_or_ipv6_loopback_are_refused() {
    // The harness allows 127.0.0.0/8: the redirector may be probed, [::1] is not listed.
    let app = TestApp::start(Backend::Sqlite).await;
    let csrf = app.login_admin().await;
    let redirector = Redirector::start().await;
    let (v6_port, v6_hits) = v6_sink().await;

    // A heartbeat shows whether a request reached Firstline: a GET on its URL is a ping.
    app.state()
        .store
        .create_monitor(
            &MonitorDraft {
                kind: MonitorKind::Heartbeat,
                name: "Witness".into(),
                component_id: None,
                service_id: None,
                url: None,
                interval_s: 3600,
                timeout_ms: 0,
                expect_status: None,
                keyword: None,
                failure_threshold: 1,
            },
            app.state().clock.now_ms(),
        )
        .await
        .unwrap();
    let witness = || async {
        app.state()
            .store
            .monitors()
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.name == "Witness")
            .unwrap()
    };
    let token = witness().await.token.unwrap();

    let to_self = redirector.to(&app.url(&format!("/heartbeat/{token}")), 302);
    let to_v6 = redirector.to(&format!("http://[::1]:{v6_port}/"), 307);
    // Through a second hop and an alternative spelling of Firstline's address.
    let port = app.running.as_ref().unwrap().addr.port();
    let to_self_twice = redirector.to(
        &redirector.to(&format!("http://2130706433:{port}/heartbeat/{token}"), 301),
        308,
    );
    for url in [&to_self, &to_v6, &to_self_twice] {
        assert_eq!(add_probe(&app, &csrf, url).await.status(), 303, "{url}");
    }
    for (url, why) in [
        (&to_self, "Firstline"),
        (&to_v6, "loopback"),
        (&to_self_twice, "Firstline"),
    ] {
        let error = eventually(15, "the probe runs", || probe_error(&app, url)).await;
        assert!(
            error.starts_with("refused") && error.contains(why),
            "{url}: {error}"
        );
    }
    assert!(redirector.hits() >= 4, "the redirects were followed");
    assert_eq!(v6_hits.load(Ordering::SeqCst), 0, "[::1] was not reached");
    assert_eq!(
        witness().await.last_checked_at,
        None,
        "Firstline was not reached"
    );
    app.stop().await;
}

#[tokio::test]
async fn webhook_redirect_to_ipv6_loopback_is_refused() {
    let app = TestApp::start(Backend::Sqlite).await;
    let ids = app.seed_components(&[("API", "")]).await;
    let csrf = app.login_admin().await;
    let redirector = Redirector::start().await;
    let (v6_port, v6_hits) = v6_sink().await;
    let hook = redirector.to(&format!("http://[::1]:{v6_port}/hook"), 307);
    assert_eq!(add_webhook(&app, &csrf, &hook).await.status(), 303);
    let form = [
        ("csrf".to_string(), csrf.clone()),
        ("name".into(), "Redirected".into()),
        ("impact".into(), "minor".into()),
        ("status".into(), "investigating".into()),
        ("body".into(), "x".into()),
        ("notify".into(), "true".into()),
        (
            format!("component.{}", ids[0]),
            "degraded_performance".into(),
        ),
    ];
    let r = app
        .client
        .post(app.url("/admin/incidents"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    eventually(15, "the delivery fails", || async {
        let (_, failed) = app.state().store.job_backlog().await.unwrap();
        (failed >= 1 && redirector.hits() >= 1).then_some(())
    })
    .await;
    assert_eq!(v6_hits.load(Ordering::SeqCst), 0, "[::1] was not reached");
    app.stop().await;
}

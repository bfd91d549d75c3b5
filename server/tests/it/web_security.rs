//! Browser-facing security: user text in raw-text contexts (textareas) is escaped on every page
//! that shows it, including forms re-shown after a refusal; every response carries the
//! Content-Security-Policy; pages for signed-in people are `private, no-store`.

use crate::common;

use common::{csrf_of, Backend, TestApp};

/// Ends a textarea and runs a script if written raw.
const PAYLOAD: &str = "</textarea><script>alert(document.cookie)</script><b>bold</b>";
const ESCAPED: &str = "&lt;/textarea&gt;&lt;script&gt;alert(document.cookie)&lt;/script&gt;";

fn assert_escaped(html: &str, what: &str) {
    assert!(
        !html.contains("<script>alert"),
        "{what}: the payload is written raw:\n{html}"
    );
    assert!(
        html.contains(ESCAPED),
        "{what}: the text should be shown, escaped:\n{html}"
    );
}

async fn responder(app: &TestApp) -> String {
    app.create_user("rhea@example.org", "responder password 1", "responder")
        .await;
    app.login("rhea@example.org", "responder password 1").await
}

/// A responder stores an update whose text ends the correction textarea; the admin page that
/// shows it (and every form re-shown after a 400) escapes it.
async fn textareas_escape_stored_and_retyped_text(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = app.seed_components(&[("API", "")]).await;
    let csrf = responder(&app).await;
    let r = app
        .post_form(
            "/admin/incidents",
            &[
                ("csrf", &csrf),
                ("name", "Slow API"),
                ("impact", "minor"),
                ("status", "investigating"),
                ("body", PAYLOAD),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let id = loc
        .trim_end_matches("?done=published")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();

    // The stored text in the correction form.
    let page = app.get_text(&loc).await;
    assert_escaped(&page, "correction textarea");

    // Re-shown after a 400: the new-incident form (no title).
    let r = app
        .post_form(
            "/admin/incidents",
            &[
                ("csrf", &csrf),
                ("name", ""),
                ("impact", "minor"),
                ("status", "investigating"),
                ("body", PAYLOAD),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_escaped(&r.text().await.unwrap(), "incident form re-shown");

    // The maintenance form (end before start).
    let r = app
        .post_form(
            "/admin/maintenance",
            &[
                ("csrf", &csrf),
                ("name", "DB upgrade"),
                ("starts", "2030-01-02T10:00"),
                ("ends", "2030-01-01T10:00"),
                ("time_zone", "UTC"),
                ("body", PAYLOAD),
                (&format!("component.{}", ids[0]), "under_maintenance"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_escaped(&r.text().await.unwrap(), "maintenance form re-shown");

    // The update form (a postmortem before resolving is refused).
    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/updates"),
            &[("csrf", &csrf), ("status", "postmortem"), ("body", PAYLOAD)],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_escaped(&r.text().await.unwrap(), "update form re-shown");

    // A refused correction (empty) comes back with the stored text of the others; one with
    // the payload and over the length limit comes back as typed.
    let page = app.get_text(&loc).await;
    let update = page
        .split(&format!("/admin/incidents/{id}/updates/"))
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("a correction form")
        .to_string();
    let long = format!("{PAYLOAD}{}", "x".repeat(20_000));
    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/updates/{update}/correct"),
            &[("csrf", &csrf), ("body", &long)],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_escaped(&r.text().await.unwrap(), "correction re-shown as typed");

    // The title is an attribute value: escaped there too.
    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/title"),
            &[("csrf", &csrf), ("name", "\"><script>alert(1)</script>")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = app.get_text(&loc).await;
    assert!(!page.contains("<script>alert(1)"), "{page}");
    app.stop().await;
}
on_both_backends!(textareas_escape_stored_and_retyped_text);

/// Every kind of response carries the policy; it allows no inline script but Firstline's own.
#[tokio::test]
async fn every_response_carries_the_csp() {
    let app = TestApp::start(Backend::Sqlite).await;
    for path in [
        "/status",
        "/login",
        "/no/such/page",
        "/api/v2/summary.json",
        "/history",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        let csp = r
            .headers()
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap()
            .to_string();
        for directive in [
            "script-src 'self' 'wasm-unsafe-eval' 'sha256-",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} in {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        // Each inline script on the page is allowed by its hash, and nothing else inline.
        let body = r.text().await.unwrap();
        for script in app::ssr::csp::inline_scripts(&body) {
            assert!(
                csp.contains(&app::ssr::csp::script_hash(&script)),
                "{path}: inline script not in the policy: {script}"
            );
        }
    }
    app.login_admin().await;
    let r = app.client.get(app.url("/dashboard")).send().await.unwrap();
    assert!(r.headers().contains_key("content-security-policy"));
    let body = r.text().await.unwrap();
    let scripts = app::ssr::csp::inline_scripts(&body);
    let csp_value = app::ssr::csp::content_security_policy(&app.state().leptos);
    for script in scripts {
        assert!(csp_value.contains(&app::ssr::csp::script_hash(&script)));
    }
    app.stop().await;
}

/// Signed-in pages hold the CSRF token: never stored by any cache. The public status page
/// keeps its revalidated caching for anonymous visitors.
#[tokio::test]
async fn signed_in_pages_are_private_no_store() {
    let app = TestApp::start(Backend::Sqlite).await;
    let anon = app.client.get(app.url("/status")).send().await.unwrap();
    assert_eq!(anon.headers()["cache-control"], "no-cache");
    let csrf = app.login_admin().await;
    assert!(!csrf.is_empty());
    for path in [
        "/status",
        "/dashboard",
        "/admin/incidents",
        "/admin/components",
        "/schedules",
        "/profile",
        "/history",
        "/no/such/page",
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            r.headers()["cache-control"],
            "private, no-store",
            "{path} for a signed-in person"
        );
        let body = r.text().await.unwrap();
        if path == "/dashboard" {
            assert_eq!(csrf_of(&body), csrf);
        }
    }
    app.stop().await;
}

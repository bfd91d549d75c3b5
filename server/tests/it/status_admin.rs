//! The status page's admin side through HTTP: monitors edited, paused and resumed (a paused
//! monitor is not checked, ignores pings and holds nothing); confirmations after publishing;
//! refused forms that keep what was typed and say what is wrong in a sentence; the page's
//! branding (name, links, logo) with its checks, caching and who may change it.

use crate::common;

use common::{Backend, TestApp};
use std::time::Duration;

fn monitor_form<'a>(csrf: &'a str, name: &'a str, component: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("kind", "heartbeat"),
        ("name", name),
        ("interval", "5"),
        ("failures", "1"),
        ("component", component),
    ]
}

/// On a fake clock: a paused heartbeat opens no alert when silent, ignores pings, releases its
/// component; resumed, it is watched again. Editing keeps the kind and starts it afresh.
async fn paused_monitor_is_not_checked_and_holds_nothing(backend: Backend) {
    let (app, clock) = TestApp::start_with_clock(backend, &[]).await;
    let ids = app.seed_components(&[("Index sync", "")]).await;
    let csrf = app.login_admin().await;
    let r = app
        .post_form("/admin/monitors", &monitor_form(&csrf, "Sync job", &ids[0]))
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin/monitors?done=added");
    let m = app.state().store.monitors().await.unwrap().remove(0);
    let token = m.token.clone().unwrap();
    let page = app.get_text("/admin/monitors").await;
    assert!(page.contains("down after 1 failure in a row"), "singular");
    assert!(!page.contains("1 failures"));

    // Silent past its interval: down, alert open, component held.
    clock.advance(Duration::from_secs(6));
    common::ticked(&app, clock.now_ms()).await;
    assert_eq!(
        app.state().store.alerts(5).await.unwrap()[0].status,
        "triggered"
    );
    let status = |app: &TestApp| {
        let (store, id) = (app.state().store.clone(), ids[0].clone());
        async move {
            store
                .component(&id)
                .await
                .unwrap()
                .status
                .as_str()
                .to_string()
        }
    };
    assert_eq!(status(&app).await, "major_outage");

    // Pause: the alert is resolved, the component released, the row says so.
    // An admin's monitor action ("pause", "resume") with the given CSRF token.
    let act = |action: &'static str, token: &str| {
        let (url, token) = (
            format!("/admin/monitors/{}/{action}", m.id),
            token.to_string(),
        );
        let app = &app;
        async move { app.post_form(&url, &[("csrf", &token)]).await }
    };
    let r = act("pause", &csrf).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.state().store.alerts(5).await.unwrap()[0].status,
        "resolved"
    );
    assert_eq!(status(&app).await, "operational");
    let page = app.get_text("/admin/monitors?done=paused").await;
    assert!(page.contains("Monitor paused."));
    assert!(
        page.contains(">Paused<") && page.contains(">Resume<"),
        "{page}"
    );

    // Paused: long silence opens nothing, and a ping is accepted but not recorded.
    let m = app.state().store.monitor(&m.id).await.unwrap();
    clock.advance(Duration::from_secs(60));
    common::ticked(&app, clock.now_ms()).await;
    assert_eq!(app.state().store.alerts(5).await.unwrap().len(), 1);
    assert_eq!(status(&app).await, "operational");
    let r = app
        .client
        .post(app.url(&format!("/heartbeat/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["recorded"], false);
    assert_eq!(body["paused"], true);
    let m2 = app.state().store.monitor(&m.id).await.unwrap();
    assert!(m2.paused_at.is_some() && m2.last_checked_at == m.last_checked_at);

    // Resumed: watched again from one interval on.
    let r = act("resume", &csrf).await;
    assert_eq!(r.status(), 303);
    clock.advance(Duration::from_secs(6));
    common::ticked(&app, clock.now_ms()).await;
    let alerts = app.state().store.alerts(5).await.unwrap();
    assert_eq!(alerts[0].status, "triggered", "{alerts:?}");

    // Resuming a running monitor (a stale tab, a second click) changes nothing: it stays down
    // with its alert open, so its recovery still resolves the alert.
    let before = app.state().store.monitor(&m.id).await.unwrap();
    let r = act("resume", &csrf).await;
    assert_eq!(r.status(), 303);
    let after = app.state().store.monitor(&m.id).await.unwrap();
    assert_eq!(
        (after.state, after.consecutive_fails, after.paused_at),
        (before.state, before.consecutive_fails, None)
    );
    assert_eq!(
        app.state().store.alerts(5).await.unwrap()[0].status,
        "triggered"
    );

    // Edit: the form shows the stored values; a change is saved; the kind cannot change.
    let page = app.get_text(&format!("/admin/monitors/{}", m.id)).await;
    assert!(page.contains("value=\"Sync job\""), "{page}");
    let mut form = monitor_form(&csrf, "Nightly sync", &ids[0]);
    form.retain(|(k, _)| *k != "failures");
    form.push(("failures", "2"));
    let r = app
        .post_form(&format!("/admin/monitors/{}", m.id), &form)
        .await;
    assert_eq!(r.status(), 303);
    let m3 = app.state().store.monitor(&m.id).await.unwrap();
    assert_eq!(
        (m3.name.as_str(), m3.failure_threshold),
        ("Nightly sync", 2)
    );
    assert_eq!(m3.token, m.token, "the ping URL stays");
    assert_eq!(
        app.state().store.alerts(5).await.unwrap()[0].status,
        "resolved"
    );
    let mut form = monitor_form(&csrf, "Nightly sync", &ids[0]);
    form[1] = ("kind", "http");
    form.push(("url", "https://example.org/"));
    form.push(("timeout", "2000"));
    let r = app
        .post_form(&format!("/admin/monitors/{}", m.id), &form)
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("The kind cannot change"), "{page}");
    assert!(
        page.contains("name=\"kind\" value=\"heartbeat\""),
        "the stored kind is kept"
    );

    // A refused edit keeps what was typed and says what is wrong in a sentence by the field.
    let mut form = monitor_form(&csrf, "Typed name", &ids[0]);
    form.push(("interval", "1"));
    form.remove(3);
    let r = app
        .post_form(&format!("/admin/monitors/{}", m.id), &form)
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("value=\"Typed name\""));
    assert!(
        page.contains("The interval must be a whole number from 5 to 86400."),
        "{page}"
    );
    assert!(!page.contains("interval: "));

    // Responders may not pause or edit monitors.
    app.create_user("r@example.org", "responder password 1", "responder")
        .await;
    let (c, rcsrf) = app
        .login_client("r@example.org", "responder password 1")
        .await;
    for path in [
        format!("/admin/monitors/{}/pause", m.id),
        format!("/admin/monitors/{}/resume", m.id),
        format!("/admin/monitors/{}", m.id),
    ] {
        let r = c
            .post(app.url(&path))
            .form(&[("csrf", rcsrf.as_str()), ("name", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    // A missing CSRF token is refused.
    let r = act("pause", "nope").await;
    assert_eq!(r.status(), 403);
    app.stop().await;
}
on_both_backends!(paused_monitor_is_not_checked_and_holds_nothing);

/// Publishing confirms with a link to the public page; a refused maintenance keeps its ticked
/// components and names the problem in a sentence; the maintenance update form does not talk
/// about postmortems; counts read as English; the subscribers page says why email is off.
async fn publishing_confirms_and_refused_forms_keep_what_was_typed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = app.seed_components(&[("API", ""), ("Web UI", "")]).await;
    let csrf = app.login_admin().await;
    let comp = format!("component.{}", ids[1]);
    let r = app
        .post_form(
            "/admin/incidents",
            &[
                ("csrf", &csrf),
                ("name", "Slow API"),
                ("impact", "major"),
                ("status", "investigating"),
                ("body", "Looking."),
                (&comp, "partial_outage"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("?done=published"), "{to}");
    let page = app.get_text(&to).await;
    let id = to
        .trim_start_matches("/admin/incidents/")
        .trim_end_matches("?done=published");
    assert!(page.contains("Published. The incident is on the public status page now."));
    assert!(page.contains(&format!("href=\"/incidents/{id}\"")));
    assert!(
        page.contains(">Major — "),
        "impact reads as a word with its explanation"
    );

    // Maintenance refused (ends before it starts): ticked components and text stay.
    let r = app
        .post_form(
            "/admin/maintenance",
            &[
                ("csrf", &csrf),
                ("name", "DB upgrade"),
                ("starts", "2030-01-02T10:00"),
                ("ends", "2030-01-02T09:00"),
                ("time_zone", "UTC"),
                ("body", "Upgrading."),
                (&comp, "under_maintenance"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("The end must be after the start."), "{page}");
    assert!(!page.contains("<strong>ends: </strong>"));
    let ticked = format!("name=\"{comp}\" value=\"under_maintenance\" checked");
    assert!(page.contains(&ticked), "ticked component kept");
    assert!(page.contains("value=\"DB upgrade\"") && page.contains("Upgrading."));

    let r = app
        .post_form(
            "/admin/maintenance",
            &[
                ("csrf", &csrf),
                ("name", "DB upgrade"),
                ("starts", "2030-01-02T10:00"),
                ("ends", "2030-01-02T11:00"),
                ("time_zone", "UTC"),
                ("body", "Upgrading."),
                (&comp, "under_maintenance"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("?done=scheduled"));
    let page = app.get_text(&to).await;
    assert!(page.contains("Scheduled. The maintenance is listed on the public status page now."));
    assert!(
        !page.contains("Postmortem"),
        "the maintenance form talks of no postmortem"
    );

    // Subscribers: singular counts, and why the email form is hidden (no SMTP here).
    let page = app.get_text("/admin/subscribers").await;
    assert!(
        page.contains("0 subscribers · 0 deliveries queued"),
        "{page}"
    );
    assert!(page.contains("Email is not set up on this server"));
    let public = app.get_text("/status").await;
    assert!(!public.contains("name=\"email\""));
    // The admin navigation reaches the subscribers page.
    assert!(app
        .get_text("/admin/incidents")
        .await
        .contains("href=\"/admin/subscribers\""));
    app.stop().await;
}
on_both_backends!(publishing_confirms_and_refused_forms_keep_what_was_typed);

/// A 1x1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    csrf: &str,
    name: &str,
    bytes: Vec<u8>,
    mime: &str,
) -> reqwest::Response {
    // The body a browser sends for the form (built here: the test client has no multipart).
    let boundary = "----firstline-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"{name}\"\r\n\
         Content-Type: {mime}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    client
        .post(app.url("/admin/branding/logo"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Admins set the page's name, site link, footer links and logo; the public page, its API and
/// feeds follow at once; links are http(s) only, text is escaped, the logo is a small PNG,
/// JPEG or WebP served from memory with a long cache life and its checked type.
async fn branding_shows_on_the_public_page_and_is_checked(backend: Backend) {
    let app = TestApp::start(backend).await;
    app.seed_components(&[("API", "")]).await;
    let csrf = app.login_admin().await;
    let before = common::client()
        .get(app.url("/status"))
        .send()
        .await
        .unwrap();
    let etag = before.headers()["etag"].to_str().unwrap().to_string();

    // A javascript: link is refused in a sentence, and everything typed stays.
    let r = app
        .post_form(
            "/admin/branding",
            &[
                ("csrf", &csrf),
                ("page_name", "Acme <b>Cloud</b>"),
                ("site_url", "javascript:alert(1)"),
                (
                    "footer_links",
                    "Privacy https://acme.example/privacy\n</textarea><script>alert(1)</script>",
                ),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        !page.contains("<script>alert(1)"),
        "retyped text stays text"
    );
    assert!(
        page.contains("The website link must start with http:// or https://."),
        "{page}"
    );
    assert!(page.contains("value=\"javascript:alert(1)\""));
    assert!(page.contains("Privacy https://acme.example/privacy"));
    let r = app
        .post_form(
            "/admin/branding",
            &[
                ("csrf", &csrf),
                ("page_name", "Acme"),
                ("site_url", ""),
                ("footer_links", "Evil data:text/html,hi"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = app
        .post_form(
            "/admin/branding",
            &[("csrf", &csrf), ("page_name", &"x".repeat(61))],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("The page name "));

    let r = app
        .post_form(
            "/admin/branding",
            &[
                ("csrf", &csrf),
                ("page_name", "Acme <b>Cloud</b>"),
                ("site_url", "https://acme.example/"),
                (
                    "footer_links",
                    "Privacy https://acme.example/privacy\nTerms \"x\" https://acme.example/terms",
                ),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    // The cached anonymous page was built again.
    let anon = common::client();
    let r = anon.get(app.url("/status")).send().await.unwrap();
    assert_ne!(r.headers()["etag"].to_str().unwrap(), etag);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Acme &lt;b&gt;Cloud&lt;/b&gt; status"),
        "escaped"
    );
    assert!(!page.contains("<b>Cloud</b>"));
    assert!(page.contains("href=\"https://acme.example/\""));
    assert!(page.contains("href=\"https://acme.example/privacy\"") && page.contains(">Privacy<"));
    assert!(page.contains("Terms &quot;x&quot;") || page.contains("Terms \"x\""));
    assert!(page.contains("Powered by Firstline"));
    let summary: serde_json::Value = anon
        .get(app.url("/api/v2/summary.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["page"]["name"], "Acme <b>Cloud</b>");
    assert!(summary["page"]["url"]
        .as_str()
        .unwrap()
        .ends_with("/status"));
    let rss = app.get_text("/history.rss").await;
    assert!(
        rss.contains("Acme &lt;b&gt;Cloud&lt;/b&gt; status history"),
        "{rss}"
    );

    // Logos: SVG, GIF, empty and oversize files are refused by their bytes, in a sentence.
    for (name, bytes, mime) in [
        (
            "logo.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
            "image/svg+xml",
        ),
        (
            "logo.png",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
            "image/png",
        ),
        ("logo.gif", b"GIF89a....".to_vec(), "image/gif"),
        (
            "big.png",
            [PNG, &vec![0u8; 50 * 1024]].concat(),
            "image/png",
        ),
    ] {
        let r = upload(&app, &app.client, &csrf, name, bytes, mime).await;
        assert_eq!(r.status(), 400, "{name}");
        let page = r.text().await.unwrap();
        assert!(page.contains("The logo "), "{name}: {page}");
    }
    // One over the request limit is refused by its stated length, unread, with the same
    // sentence on the page (413); a stranger gets no page.
    let huge = [PNG, &vec![0u8; 70 * 1024]].concat();
    let r = upload(
        &app,
        &app.client,
        &csrf,
        "huge.png",
        huge.clone(),
        "image/png",
    )
    .await;
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    let page = r.text().await.unwrap();
    assert!(page.contains("The logo is too large"), "{page}");
    assert!(page.contains("Status page settings"), "{page}");
    let r = upload(&app, &anon, "x", "huge.png", huge, "image/png").await;
    assert!(r.status() == 401 || r.status() == 303, "{}", r.status());
    assert!(!r.text().await.unwrap().contains("Status page settings"));
    assert!(app.get_text("/status").await.find("/status/logo").is_none());
    // A responder may not upload; a wrong CSRF token is refused.
    app.create_user("r@example.org", "responder password 1", "responder")
        .await;
    let (c, rcsrf) = app
        .login_client("r@example.org", "responder password 1")
        .await;
    let r = upload(&app, &c, &rcsrf, "logo.png", PNG.to_vec(), "image/png").await;
    assert_eq!(r.status(), 403);
    let r = c
        .post(app.url("/admin/branding"))
        .form(&[("csrf", rcsrf.as_str()), ("page_name", "Pwned")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = upload(
        &app,
        &app.client,
        "wrong",
        "logo.png",
        PNG.to_vec(),
        "image/png",
    )
    .await;
    assert_eq!(r.status(), 403);

    // A PNG is taken, whatever its stated type, and served from this server.
    let r = upload(
        &app,
        &app.client,
        &csrf,
        "logo.txt",
        PNG.to_vec(),
        "text/html",
    )
    .await;
    assert_eq!(r.status(), 303);
    let page = anon
        .get(app.url("/status"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page
        .find("src=\"/status/logo?v=")
        .expect("logo on the page");
    let src = &page[at + 5..at + 5 + page[at + 5..].find('"').unwrap()];
    let r = anon.get(app.url(src)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=31536000"));
    let tag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(&r.bytes().await.unwrap()[..], PNG);
    let r = anon
        .get(app.url(src))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    // Removed: gone from the page and the route.
    let r = app
        .post_form("/admin/branding/logo/delete", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 303);
    assert!(!anon
        .get(app.url("/status"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("/status/logo"));
    assert_eq!(
        anon.get(app.url("/status/logo"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.stop().await;
}
on_both_backends!(branding_shows_on_the_public_page_and_is_checked);

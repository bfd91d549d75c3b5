//! The audit log through HTTP: changes are recorded with actor, kind, action, target and the
//! client's address; refused and failed requests are not recorded as changes; only admins read
//! the log; filters and pages work; the table refuses UPDATE and DELETE on both backends.

use crate::common;

use common::{Backend, TestApp, ADMIN_EMAIL};
use firstline::store::{AuditEntry, AuditFilter, AuditRecord};

/// The address the tests claim through the (trusted) local proxy.
const IP: &str = "198.51.100.7";
const PASSWORD: &str = "responder password";

async fn start(backend: Backend) -> TestApp {
    TestApp::start_with(backend, &[("FIRSTLINE_TRUSTED_PROXIES", "127.0.0.1")]).await
}

async fn user_id(app: &TestApp, email: &str) -> String {
    app.state()
        .store
        .user_by_email(email)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Posts a form from [`IP`] (forwarded by the trusted proxy at 127.0.0.1).
async fn post(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url(path))
        .header("x-forwarded-for", IP)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// A fresh client logged in as `email`, and its CSRF token.
async fn login(app: &TestApp, email: &str) -> (reqwest::Client, String) {
    app.login_client(email, PASSWORD).await
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

async fn rows(app: &TestApp) -> Vec<AuditRecord> {
    let mut rows = app
        .state()
        .store
        .audit_entries(&AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    rows.reverse();
    rows
}

/// `(kind, action, outcome, actor email)` of each row, oldest first.
fn summary(rows: &[AuditRecord]) -> Vec<(String, String, String, String)> {
    rows.iter()
        .map(|r| {
            (
                r.entry.kind.clone(),
                r.entry.action.clone(),
                r.entry.outcome.clone(),
                r.entry.actor_email.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn row<'a>(rows: &'a [AuditRecord], kind: &str, action: &str) -> &'a AuditEntry {
    &rows
        .iter()
        .find(|r| r.entry.kind == kind && r.entry.action == action)
        .unwrap_or_else(|| panic!("no {kind} {action} row in {:?}", summary(rows)))
        .entry
}

fn strs(v: &[(&str, &str, &str, &str)]) -> Vec<(String, String, String, String)> {
    v.iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect()
}

async fn changes_are_recorded_with_actor_target_and_address(backend: Backend) {
    let app = start(backend).await;
    let csrf = app.login_admin().await;
    let admin = user_id(&app, ADMIN_EMAIL).await;
    let jonas_email = "jonas@example.org";
    let priya_email = "priya@example.org";
    for email in [jonas_email, priya_email] {
        app.create_user(email, PASSWORD, "responder").await;
    }
    let jonas = user_id(&app, jonas_email).await;
    let priya = user_id(&app, priya_email).await;
    let c = &app.client;
    let cid = app.seed_components(&[("API", "Core")]).await.remove(0);

    // A component update.
    let r = post(
        c,
        &app,
        &format!("/admin/components/{cid}"),
        &[
            ("csrf", &csrf),
            ("name", "API v2"),
            ("description", ""),
            ("group", "Core"),
            ("position", "1"),
            ("status", "degraded_performance"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);

    // An incident.
    let r = post(
        c,
        &app,
        "/admin/incidents",
        &[
            ("csrf", &csrf),
            ("name", "Slow API"),
            ("impact", "minor"),
            ("status", "investigating"),
            ("body", "Looking into it."),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let incident = location(&r)
        .trim_start_matches("/admin/incidents/")
        .trim_end_matches("?done=published")
        .to_string();

    // A schedule with one layer of ten-year shifts: Jonas is on call for the whole test, and
    // Priya, next in the rotation, may answer his swap requests.
    let r = post(
        c,
        &app,
        "/schedules",
        &[
            ("csrf", &csrf),
            ("name", "First line"),
            ("time_zone", "Europe/Berlin"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let schedule = location(&r)
        .trim_start_matches("/schedules/")
        .trim_end_matches("/edit")
        .to_string();
    let r = post(
        c,
        &app,
        &format!("/schedules/{schedule}/layers"),
        &[
            ("csrf", &csrf),
            ("intent", "save"),
            ("name", "Weekly"),
            ("time_zone", "Europe/Berlin"),
            ("start", "2026-01-05T09:00"),
            ("shift_count", "520"),
            ("shift_unit", "weeks"),
            ("effective", ""),
            ("participant", &jonas),
            ("participant", &priya),
        ],
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    // A new schedule is a draft until it is published.
    let r = post(
        c,
        &app,
        &format!("/schedules/{schedule}/publish"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());

    // An admin override: Priya covers a day in two weeks.
    let now = jiff::Timestamp::now();
    let hour = |h: i64| {
        (now + jiff::SignedDuration::from_hours(h))
            .round(jiff::Unit::Hour)
            .unwrap()
            .as_millisecond()
            .to_string()
    };
    let r = post(
        c,
        &app,
        &format!("/schedules/{schedule}/overrides"),
        &[
            ("csrf", &csrf),
            ("start", &hour(24 * 15)),
            ("end", &hour(24 * 16)),
            ("user", &priya),
            ("replaces", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());

    // Jonas asks for four hours next week to be taken; Priya accepts.
    let (jc, jcsrf) = login(&app, jonas_email).await;
    let r = post(
        &jc,
        &app,
        &format!("/schedules/{schedule}/swaps"),
        &[
            ("csrf", &jcsrf),
            ("start", &hour(24 * 8)),
            ("end", &hour(24 * 8 + 4)),
            ("note", "wedding"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let swap = app
        .state()
        .store
        .list_swaps(Some(&schedule), true)
        .await
        .unwrap()
        .remove(0)
        .request
        .id;
    let (pc, pcsrf) = login(&app, priya_email).await;
    let r = post(
        &pc,
        &app,
        &format!("/schedules/{schedule}/swaps/{swap}/accept"),
        &[("csrf", &pcsrf)],
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());

    // A monitor created and deleted.
    let r = post(
        c,
        &app,
        "/admin/monitors",
        &[
            ("csrf", &csrf),
            ("kind", "heartbeat"),
            ("name", "Nightly backup"),
            ("interval", "5"),
            ("failures", "1"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let monitor = app.state().store.monitors().await.unwrap().remove(0).id;
    let r = post(
        c,
        &app,
        &format!("/admin/monitors/{monitor}/delete"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), 303);

    let rows = rows(&app).await;
    assert_eq!(
        summary(&rows),
        strs(&[
            ("session", "login", "ok", ADMIN_EMAIL),
            ("component", "update", "ok", ADMIN_EMAIL),
            ("incident", "create", "ok", ADMIN_EMAIL),
            ("schedule", "create", "ok", ADMIN_EMAIL),
            ("layer", "create", "ok", ADMIN_EMAIL),
            ("schedule", "publish", "ok", ADMIN_EMAIL),
            ("override", "create", "ok", ADMIN_EMAIL),
            ("session", "login", "ok", jonas_email),
            ("swap", "request", "ok", jonas_email),
            ("session", "login", "ok", priya_email),
            ("swap", "accept", "ok", priya_email),
            ("monitor", "create", "ok", ADMIN_EMAIL),
            ("monitor", "delete", "ok", ADMIN_EMAIL),
        ]),
        "exactly the changes, in order, and nothing for the page views in between"
    );
    // The login came straight from the local client; the rest through the proxy.
    let login_row = row(&rows, "session", "login");
    assert_eq!(login_row.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(login_row.actor_id.as_deref(), Some(admin.as_str()));
    assert_eq!(login_row.route, "/login");

    let e = row(&rows, "component", "update");
    assert_eq!(e.actor_id.as_deref(), Some(admin.as_str()));
    assert_eq!(e.actor_name.as_deref(), Some("Test User"));
    assert_eq!(e.target.as_deref(), Some(format!("id={cid}").as_str()));
    assert_eq!(e.route, "/admin/components/{id}");
    assert_eq!((e.method.as_str(), e.status), ("POST", 303));
    assert_eq!(e.ip.as_deref(), Some(IP));
    assert!(e.created_at > now.as_millisecond() - 60_000);

    let e = row(&rows, "incident", "create");
    assert_eq!(
        e.target.as_deref(),
        Some(format!("new={incident}").as_str())
    );
    let e = row(&rows, "schedule", "create");
    assert_eq!(
        e.target.as_deref(),
        Some(format!("new={schedule}").as_str())
    );
    let e = row(&rows, "override", "create");
    assert_eq!(e.target.as_deref(), Some(format!("id={schedule}").as_str()));
    assert_eq!(e.ip.as_deref(), Some(IP));
    let e = row(&rows, "swap", "accept");
    assert_eq!(e.actor_id.as_deref(), Some(priya.as_str()));
    assert_eq!(
        e.target.as_deref(),
        Some(format!("id={schedule}, swap={swap}").as_str())
    );
    assert_eq!(e.route, "/schedules/{id}/swaps/{swap}/{action}");
    assert_eq!(e.ip.as_deref(), Some(IP));
    let e = row(&rows, "monitor", "delete");
    assert_eq!(e.target.as_deref(), Some(format!("id={monitor}").as_str()));
    assert_eq!(e.ip.as_deref(), Some(IP));
    // Nothing from a form body is ever stored (the CSRF token least of all).
    for r in &rows {
        let all = format!("{:?}", r.entry);
        assert!(!all.contains(&csrf) && !all.contains(PASSWORD) && !all.contains("wedding"));
    }
    app.stop().await;
}
on_both_backends!(changes_are_recorded_with_actor_target_and_address);

async fn refusals_failures_and_the_admin_page(backend: Backend) {
    let app = start(backend).await;
    let csrf = app.login_admin().await;
    let viewer_email = "viewer@example.org";
    app.create_user(viewer_email, PASSWORD, "viewer").await;
    let viewer = user_id(&app, viewer_email).await;
    let cid = app.seed_components(&[("API", "Core")]).await.remove(0);
    let delete = format!("/admin/components/{cid}/delete");

    // Invalid input: refused with 400, not a change.
    let r = post(
        &app.client,
        &app,
        &format!("/admin/components/{cid}"),
        &[("csrf", &csrf), ("name", ""), ("status", "operational")],
    )
    .await;
    assert_eq!(r.status(), 400);
    // An invalid monitor is shown again with 200: still not a change.
    let r = post(
        &app.client,
        &app,
        "/admin/monitors",
        &[("csrf", &csrf), ("kind", "http"), ("name", "")],
    )
    .await;
    assert!(r.status().is_success() || r.status().is_client_error());
    assert!(app.state().store.monitors().await.unwrap().is_empty());
    // A 404 is not a change either.
    let r = post(
        &app.client,
        &app,
        "/admin/components/nosuchthing/delete",
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), 404);
    // A viewer trying an admin change: refused, recorded as denied.
    let (vc, vcsrf) = login(&app, viewer_email).await;
    let r = post(&vc, &app, &delete, &[("csrf", &vcsrf)]).await;
    assert_eq!(r.status(), 403);
    // Strangers: not logged in, a failed login, a logout without a session. None recorded.
    let stranger = common::client();
    let r = post(&stranger, &app, &delete, &[("csrf", "x")]).await;
    assert_eq!(r.status(), 401);
    let r = post(
        &stranger,
        &app,
        "/login",
        &[("email", ADMIN_EMAIL), ("password", "wrong")],
    )
    .await;
    assert_eq!(r.status(), 401);
    let r = post(&stranger, &app, "/logout", &[("csrf", "x")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.state().store.list_components().await.unwrap().len(), 1);

    let rows = rows(&app).await;
    assert_eq!(
        summary(&rows),
        strs(&[
            ("session", "login", "ok", ADMIN_EMAIL),
            ("session", "login", "ok", viewer_email),
            ("component", "delete", "denied", viewer_email),
        ])
    );
    let denied = row(&rows, "component", "delete");
    assert_eq!(denied.actor_id.as_deref(), Some(viewer.as_str()));
    assert_eq!((denied.status, denied.ip.as_deref()), (403, Some(IP)));
    assert_eq!(denied.target.as_deref(), Some(format!("id={cid}").as_str()));

    // Only admins read the log.
    let r = vc.get(app.url("/admin/audit")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = stranger.get(app.url("/admin/audit")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let page = app.get_text("/admin/audit").await;
    assert!(page.contains("Audit log"), "{page}");
    assert!(page.contains("Times in Europe/Berlin"));
    assert!(page.contains("POST /admin/components/{id}/delete"));
    assert!(page.contains("delete (denied)"));
    assert!(page.contains(IP));
    assert!(page.contains("href=\"/admin/audit\""), "navigation entry");
    // Filters: by kind, by person, both.
    let page = app.get_text("/admin/audit?kind=component").await;
    assert!(page.contains("POST /admin/components/{id}/delete"));
    assert!(!page.contains("POST /login"));
    let page = app.get_text(&format!("/admin/audit?actor={viewer}")).await;
    assert!(page.contains("POST /login") && page.contains("delete (denied)"));
    let page = app
        .get_text(&format!(
            "/admin/audit?actor={}&kind=session",
            user_id(&app, ADMIN_EMAIL).await
        ))
        .await;
    assert!(page.contains("POST /login"));
    assert!(!page.contains("delete (denied)"));
    let r = app
        .client
        .get(app.url("/admin/audit?kind=nonsense"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("kind:"));
    let r = app
        .client
        .get(app.url("/admin/audit?before=abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Pages of 100, newest first, with an "Older" link.
    for i in 0..130 {
        app.state()
            .store
            .record_audit(&AuditEntry {
                kind: "user".into(),
                action: format!("test{i:03}"),
                outcome: "ok".into(),
                route: "cli: user add".into(),
                method: "CLI".into(),
                created_at: 1_795_507_500_000 + i,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let page = app.get_text("/admin/audit?kind=user").await;
    assert_eq!(page.matches("<tr class=\"audit-ok\"").count(), 100);
    assert!(page.contains("test129") && !page.contains("test029"));
    let marker = "rel=\"next\"";
    assert!(page.contains(marker), "an Older link");
    let href_at = page[..page.find(marker).unwrap()].rfind("href=\"").unwrap() + 6;
    let href = page[href_at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(
        href.contains("kind=user") && href.contains("before="),
        "{href}"
    );
    let older = app.get_text(&href).await;
    assert_eq!(older.matches("<tr class=\"audit-ok\"").count(), 30);
    assert!(older.contains("test029") && !older.contains("test030"));
    assert!(!older.contains(marker), "the last page has no Older link");
    assert!(older.contains("command line"));
    app.stop().await;
}
on_both_backends!(refusals_failures_and_the_admin_page);

async fn the_table_is_append_only_in_the_database(backend: Backend) {
    let db = common::TestDb::new(backend);
    let store = db.store().await;
    store
        .record_audit(&AuditEntry {
            kind: "component".into(),
            action: "delete".into(),
            outcome: "ok".into(),
            route: "/admin/components/{id}/delete".into(),
            method: "POST".into(),
            status: 303,
            created_at: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    let attempts = [
        "UPDATE audit_log SET kind = 'nothing'",
        "UPDATE audit_log SET actor_id = NULL",
        "DELETE FROM audit_log",
    ];
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            for sql in attempts {
                let e = sqlx::query(sql).execute(&pool).await.unwrap_err();
                assert!(e.to_string().contains("append-only"), "{sql}: {e}");
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            for sql in attempts.iter().chain(&["TRUNCATE audit_log"]) {
                let e = sqlx::query(sql).execute(&pool).await.unwrap_err();
                assert!(e.to_string().contains("append-only"), "{sql}: {e}");
            }
            pool.close().await;
        }
    }
    let rows = store
        .audit_entries(&AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].entry.kind, "component");
    store.close().await;
}
on_both_backends!(the_table_is_append_only_in_the_database);

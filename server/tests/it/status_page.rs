//! The status page through HTTP against a real server and database: incidents and their
//! lifecycle, maintenance windows moved by the clock, every v2 JSON endpoint's shape, feeds,
//! probes and heartbeats that open and resolve alerts, and subscriptions delivered to recording
//! fakes and local sinks.

use crate::common;

use common::{eventually, Backend, HttpSink, TestApp};
use serde_json::Value;
use std::time::Duration;

const INDICATORS: [&str; 5] = ["none", "minor", "major", "critical", "maintenance"];
const INCIDENT_STATUSES: [&str; 5] = [
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "postmortem",
];
const MAINTENANCE_STATUSES: [&str; 4] = ["scheduled", "in_progress", "verifying", "completed"];
const IMPACTS: [&str; 5] = ["none", "minor", "major", "critical", "maintenance"];
const COMPONENT_STATUSES: [&str; 5] = [
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
];

async fn seed(app: &TestApp) -> Vec<String> {
    app.seed_components(&[
        ("Sparse index", "Index"),
        ("API", "Website"),
        ("Web UI", ""),
    ])
    .await
}

async fn json(app: &TestApp, path: &str) -> Value {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "*",
        "{path} is CORS-open"
    );
    r.json().await.unwrap()
}

fn is_iso(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 24 && s.ends_with('Z') && s.parse::<jiff::Timestamp>().is_ok()
}

fn check_component(c: &Value) {
    assert!(c["id"].is_string() && c["name"].is_string());
    assert!(
        COMPONENT_STATUSES.contains(&c["status"].as_str().unwrap()),
        "{c}"
    );
    assert!(is_iso(&c["created_at"]) && is_iso(&c["updated_at"]));
}

/// Checks an incident or maintenance object against the spec.
fn check_incident(i: &Value, maintenance: bool) {
    for k in ["id", "name", "shortlink", "page_id"] {
        assert!(i[k].is_string(), "incident.{k} in {i}");
    }
    let statuses: &[&str] = if maintenance {
        &MAINTENANCE_STATUSES
    } else {
        &INCIDENT_STATUSES
    };
    assert!(statuses.contains(&i["status"].as_str().unwrap()), "{i}");
    assert!(IMPACTS.contains(&i["impact"].as_str().unwrap()), "{i}");
    if maintenance {
        assert_eq!(i["impact"], "maintenance");
        assert!(is_iso(&i["scheduled_for"]) && is_iso(&i["scheduled_until"]));
    }
    for k in ["created_at", "updated_at", "started_at"] {
        assert!(is_iso(&i[k]), "incident.{k}");
    }
    for k in ["monitoring_at", "resolved_at"] {
        assert!(i[k].is_null() || is_iso(&i[k]), "incident.{k}");
    }
    let updates = i["incident_updates"].as_array().expect("incident_updates");
    assert!(!updates.is_empty());
    let mut last = String::from("9999");
    for u in updates {
        for k in ["id", "incident_id", "status", "body"] {
            assert!(u[k].is_string(), "update.{k}");
        }
        assert_eq!(u["incident_id"], i["id"]);
        assert!(statuses.contains(&u["status"].as_str().unwrap()));
        for k in ["created_at", "updated_at", "display_at"] {
            assert!(is_iso(&u[k]), "update.{k}");
        }
        assert!(u["deliver_notifications"].is_boolean());
        for a in u["affected_components"]
            .as_array()
            .expect("affected_components")
        {
            for k in ["code", "name", "old_status", "new_status"] {
                assert!(a[k].is_string(), "affected.{k}");
            }
            assert!(COMPONENT_STATUSES.contains(&a["new_status"].as_str().unwrap()));
        }
        // Newest first.
        let at = u["created_at"].as_str().unwrap().to_string();
        assert!(at <= last, "updates newest first");
        last = at;
    }
    for c in i["components"].as_array().expect("components") {
        check_component(c);
    }
}

async fn create_incident(
    app: &TestApp,
    csrf: &str,
    name: &str,
    impact: &str,
    body: &str,
    components: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(String, String)> = vec![
        ("csrf".into(), csrf.into()),
        ("name".into(), name.into()),
        ("impact".into(), impact.into()),
        ("status".into(), "investigating".into()),
        ("body".into(), body.into()),
        ("notify".into(), "true".into()),
    ];
    for (id, st) in components {
        form.push((format!("component.{id}"), st.to_string()));
    }
    app.client
        .post(app.url("/admin/incidents"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Waits until no queued job is left to run (every delivery done or given up).
async fn queue_drained(app: &TestApp) {
    eventually(10, "the job queue drains", || async {
        (app.state().store.job_backlog().await.unwrap().0 == 0).then_some(())
    })
    .await;
}

/// The status of component `id` in a document with a `components` list.
fn status_of(v: &Value, id: &str) -> String {
    v["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn location_id(r: &reqwest::Response) -> String {
    let loc = r.headers()["location"].to_str().unwrap();
    let path = loc.split('?').next().unwrap();
    path.rsplit('/').next().unwrap().to_string()
}

async fn incident_lifecycle(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = seed(&app).await;
    let csrf = app.login_admin().await;

    let r = create_incident(
        &app,
        &csrf,
        "Sparse index slow",
        "major",
        "We are **investigating**. <script>alert('x')</script> [bad](javascript:alert(1))",
        &[(&ids[0], "partial_outage")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let id = location_id(&r);

    // Visible on the very next request, everywhere.
    let summary = json(&app, "/api/v2/summary.json").await;
    assert_eq!(summary["status"]["indicator"], "major");
    assert_eq!(summary["status"]["description"], "Partial System Outage");
    let incidents = summary["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1);
    check_incident(&incidents[0], false);
    assert_eq!(incidents[0]["id"], id);
    assert_eq!(incidents[0]["impact"], "major");
    let affected = &incidents[0]["incident_updates"][0]["affected_components"][0];
    assert_eq!(affected["code"], ids[0].as_str());
    assert_eq!(affected["old_status"], "operational");
    assert_eq!(affected["new_status"], "partial_outage");
    assert_eq!(status_of(&summary, &ids[0]), "partial_outage");
    assert_eq!(
        json(&app, "/api/v2/incidents/unresolved.json").await["incidents"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The public page shows it, sanitised.
    let page = common::client()
        .get(app.url("/status"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sparse index slow"));
    assert!(page.contains("<strong>investigating</strong>"));
    assert!(
        !page.contains("alert('x')") && !page.contains("javascript:"),
        "sanitised"
    );

    // Responders see it on their dashboard.
    let dashboard = app.get_text("/dashboard").await;
    assert!(dashboard.contains("Open incidents") && dashboard.contains("Sparse index slow"));

    // A postmortem before resolving is refused, and nothing changes.
    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/updates"),
            &[
                ("csrf", &csrf),
                ("status", "postmortem"),
                ("body", "Too early"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("status"));

    for (status, impact) in [("identified", "major"), ("monitoring", "minor")] {
        let r = app
            .post_form(
                &format!("/admin/incidents/{id}/updates"),
                &[
                    ("csrf", &csrf),
                    ("status", status),
                    ("impact", impact),
                    ("body", &format!("Now {status}")),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "{status}");
    }
    let summary = json(&app, "/api/v2/summary.json").await;
    assert_eq!(summary["status"]["indicator"], "minor", "impact lowered");
    assert!(is_iso(&summary["incidents"][0]["monitoring_at"]));

    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/updates"),
            &[("csrf", &csrf), ("status", "resolved"), ("body", "Fixed")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let summary = json(&app, "/api/v2/summary.json").await;
    assert_eq!(summary["status"]["indicator"], "none");
    assert!(summary["incidents"].as_array().unwrap().is_empty());
    assert_eq!(
        status_of(&summary, &ids[0]),
        "operational",
        "resolving restores the component"
    );
    let all = json(&app, "/api/v2/incidents.json").await;
    let inc = &all["incidents"][0];
    check_incident(inc, false);
    assert_eq!(inc["status"], "resolved");
    assert!(is_iso(&inc["resolved_at"]));
    assert_eq!(inc["incident_updates"].as_array().unwrap().len(), 4);
    assert_eq!(inc["incident_updates"][0]["status"], "resolved");

    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/updates"),
            &[
                ("csrf", &csrf),
                ("status", "postmortem"),
                ("body", "**Cause:** a bad deploy"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let permalink = app.get_text(&format!("/incidents/{id}")).await;
    assert!(permalink.contains("Postmortem") && permalink.contains("<strong>Cause:</strong>"));
    let month = jiff::Timestamp::now().strftime("%Y-%m").to_string();
    let history = app.get_text(&format!("/history/{month}")).await;
    assert!(history.contains("Sparse index slow"));
    let r = app
        .client
        .get(app.url("/history/2026-13"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("month"));
    app.stop().await;
}

on_both_backends!(incident_lifecycle);

/// A typo in a published title or message is corrected in place: the page, the permalink and
/// the JSON show the new text (the update marked edited), subscribers are not told again, and
/// bad corrections change nothing.
async fn corrections_fix_published_text(backend: Backend) {
    let hook = HttpSink::start().await;
    let app = TestApp::start(backend).await;
    let ids = seed(&app).await;
    let csrf = app.login_admin().await;
    let hook_url = format!("http://{}/hook", hook.addr);
    let r = app
        .post_form("/admin/subscribers", &[("csrf", &csrf), ("url", &hook_url)])
        .await;
    assert_eq!(r.status(), 303);
    let r = create_incident(
        &app,
        &csrf,
        "Sparse idnex slow",
        "minor",
        "We are investigating slow [downloads](https://example.org/dl).",
        &[(&ids[0], "degraded_performance")],
    )
    .await;
    let id = location_id(&r);
    for (status, body) in [("resolved", "Fixed."), ("postmortem", "A bda deploy.")] {
        let r = app
            .post_form(
                &format!("/admin/incidents/{id}/updates"),
                &[
                    ("csrf", &csrf),
                    ("status", status),
                    ("body", body),
                    ("notify", "true"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    eventually(
        10,
        "the webhook hears of the incident and its resolution",
        || async { (hook.bodies().len() >= 2).then_some(()) },
    )
    .await;
    queue_drained(&app).await;
    let delivered = hook.bodies().len();
    let before = json(&app, "/api/v2/incidents.json").await["incidents"][0].clone();
    let updates = before["incident_updates"].as_array().unwrap().clone();
    let first = updates.last().unwrap()["id"].as_str().unwrap().to_string();
    let postmortem = updates[0]["id"].as_str().unwrap().to_string();
    assert_eq!(updates[0]["status"], "postmortem");

    // Bad corrections: 400 naming the field, nothing changed.
    for (path, form, field) in [
        (
            format!("/admin/incidents/{id}/title"),
            ("name", "  "),
            "name",
        ),
        (
            format!("/admin/incidents/{id}/updates/{first}/correct"),
            ("body", ""),
            "body",
        ),
    ] {
        let r = app.post_form(&path, &[("csrf", &csrf), form]).await;
        assert_eq!(r.status(), 400, "{path}");
        assert!(r.text().await.unwrap().contains(field), "{path}");
    }
    let long = "t".repeat(201);
    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/title"),
            &[("csrf", &csrf), ("name", &long)],
        )
        .await;
    assert_eq!(r.status(), 400);
    let refused = r.text().await.unwrap();
    assert!(
        refused.contains(&long),
        "what was typed comes back in the form"
    );
    assert_eq!(
        refused.matches("<details open").count(),
        1,
        "and that form is open"
    );
    let page = app.get_text(&format!("/admin/incidents/{id}")).await;
    assert!(!page.contains("<details open"), "forms start closed");
    // An update of another incident, or none, is not found; without CSRF, forbidden.
    let r = app
        .post_form(
            &format!("/admin/incidents/nope/updates/{first}/correct"),
            &[("csrf", &csrf), ("body", "x")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/updates/nope/correct"),
            &[("csrf", &csrf), ("body", "x")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/title"),
            &[("csrf", "wrong"), ("name", "Hijacked")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = common::client()
        .post(app.url(&format!("/admin/incidents/{id}/title")))
        .form(&[("name", "Hijacked")])
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 401 | 403), "{}", r.status());
    assert_eq!(
        json(&app, "/api/v2/incidents.json").await["incidents"][0],
        before,
        "nothing changed"
    );

    // Good corrections.
    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/title"),
            &[("csrf", &csrf), ("name", "Sparse index slow")],
        )
        .await;
    assert_eq!(r.status(), 303);
    for (update, body) in [
        (
            &first,
            "We are investigating slow **downloads**. <script>x()</script>",
        ),
        (&postmortem, "A bad deploy."),
    ] {
        let r = app
            .post_form(
                &format!("/admin/incidents/{id}/updates/{update}/correct"),
                &[("csrf", &csrf), ("body", body)],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    let after = json(&app, "/api/v2/incidents.json").await["incidents"][0].clone();
    check_incident(&after, false);
    assert_eq!(after["name"], "Sparse index slow");
    assert_eq!(after["status"], "postmortem");
    let updates = after["incident_updates"].as_array().unwrap();
    assert_eq!(updates.len(), 3, "a correction is not an update");
    let edited = updates.last().unwrap();
    assert_eq!(edited["id"], first.as_str());
    assert!(edited["body"]
        .as_str()
        .unwrap()
        .starts_with("We are investigating slow **downloads**"));
    assert_eq!(
        edited["created_at"],
        before["incident_updates"][2]["created_at"]
    );
    assert_ne!(
        edited["updated_at"], edited["created_at"],
        "updated_at moves"
    );
    assert_eq!(updates[1]["body"], "Fixed.", "other updates untouched");
    assert_eq!(updates[0]["body"], "A bad deploy.");
    let permalink = app.get_text(&format!("/incidents/{id}")).await;
    assert!(permalink.contains("Sparse index slow") && !permalink.contains("idnex"));
    assert!(permalink.contains("<strong>downloads</strong>"));
    assert!(!permalink.contains("x()"), "corrections are sanitised too");
    assert!(permalink.contains("A bad deploy.") && !permalink.contains("bda"));
    // The corrected update says so (the postmortem is a write-up shown on its own).
    assert_eq!(permalink.matches("· edited ").count(), 1);
    let page = common::client()
        .get(app.url("/history"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sparse index slow"));

    // Subscribers heard of the updates, not of the corrections: nothing was queued for them.
    assert_eq!(app.state().store.job_backlog().await.unwrap(), (0, 0));
    assert_eq!(hook.bodies().len(), delivered);
    app.stop().await;
}

on_both_backends!(corrections_fix_published_text);

/// Admins delete closed incidents (and cancel maintenance that has not started); an open one is
/// refused with 409 so its components are not left degraded; responders may not delete.
async fn deleting_incidents(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = seed(&app).await;
    let csrf = app.login_admin().await;
    let r = create_incident(
        &app,
        &csrf,
        "Posted by mistake",
        "major",
        "Oops",
        &[(&ids[0], "major_outage")],
    )
    .await;
    let id = location_id(&r);
    let delete = format!("/admin/incidents/{id}/delete");

    // Open: refused, and nothing changes.
    let r = app
        .post_form(&delete, &[("csrf", &csrf), ("confirm", "true")])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("resolve or complete it first"));
    let r = app.post_form(&delete, &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("confirm"));
    let summary = json(&app, "/api/v2/summary.json").await;
    assert_eq!(summary["incidents"].as_array().unwrap().len(), 1);
    assert_eq!(status_of(&summary, &ids[0]), "major_outage");

    // Resolved, then deleted: gone everywhere, the component keeps its restored status.
    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/updates"),
            &[
                ("csrf", &csrf),
                ("status", "resolved"),
                ("body", "Never mind"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .post_form(&delete, &[("csrf", "wrong"), ("confirm", "true")])
        .await;
    assert_eq!(r.status(), 403);
    let r = app
        .post_form(&delete, &[("csrf", &csrf), ("confirm", "true")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin/incidents");
    let r = common::client()
        .get(app.url(&format!("/incidents/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let all = json(&app, "/api/v2/incidents.json").await;
    assert!(all["incidents"].as_array().unwrap().is_empty());
    assert_eq!(
        status_of(&json(&app, "/api/v2/summary.json").await, &ids[0]),
        "operational"
    );
    for path in ["/history", "/history.rss", "/history.atom", "/status"] {
        let text = common::client()
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!text.contains("Posted by mistake"), "{path}");
    }
    let r = app
        .post_form(&delete, &[("csrf", &csrf), ("confirm", "true")])
        .await;
    assert_eq!(r.status(), 404, "already gone");

    // Maintenance that has not started can be cancelled.
    let now = jiff::Timestamp::now();
    let fmt = |t: jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let r = app
        .post_form(
            "/admin/maintenance",
            &[
                ("csrf", &csrf),
                ("name", "Cancelled window"),
                ("body", "Planned"),
                ("starts", &fmt(now + jiff::SignedDuration::from_hours(48))),
                ("ends", &fmt(now + jiff::SignedDuration::from_hours(49))),
                ("time_zone", "UTC"),
                (&format!("component.{}", ids[1]), "under_maintenance"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let mid = location_id(&r);
    let page = app.get_text(&format!("/admin/incidents/{mid}")).await;
    assert!(page.contains("Delete this maintenance"));
    let r = app
        .post_form(
            &format!("/admin/incidents/{mid}/delete"),
            &[("csrf", &csrf), ("confirm", "true")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let upcoming = json(&app, "/api/v2/scheduled-maintenances/upcoming.json").await;
    assert!(upcoming["scheduled_maintenances"]
        .as_array()
        .unwrap()
        .is_empty());

    // One whose update already changed a component would leave that status behind: refused.
    let r = app
        .post_form(
            "/admin/maintenance",
            &[
                ("csrf", &csrf),
                ("name", "Early window"),
                ("body", "Planned"),
                ("starts", &fmt(now + jiff::SignedDuration::from_hours(48))),
                ("ends", &fmt(now + jiff::SignedDuration::from_hours(49))),
                ("time_zone", "UTC"),
                (&format!("component.{}", ids[1]), "under_maintenance"),
            ],
        )
        .await;
    let early = location_id(&r);
    let r = app
        .post_form(
            &format!("/admin/incidents/{early}/updates"),
            &[
                ("csrf", &csrf),
                ("status", "scheduled"),
                ("body", "Draining traffic early"),
                (&format!("component.{}", ids[1]), "under_maintenance"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        status_of(&json(&app, "/api/v2/summary.json").await, &ids[1]),
        "under_maintenance"
    );
    let page = app.get_text(&format!("/admin/incidents/{early}")).await;
    assert!(!page.contains("Delete this maintenance"), "not offered");
    let r = app
        .post_form(
            &format!("/admin/incidents/{early}/delete"),
            &[("csrf", &csrf), ("confirm", "true")],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("resolve or complete it first"));

    // Responders publish and correct, but do not delete.
    let r = create_incident(&app, &csrf, "Kept", "minor", "Slow", &[]).await;
    let kept = location_id(&r);
    app.post_form(
        &format!("/admin/incidents/{kept}/updates"),
        &[("csrf", &csrf), ("status", "resolved"), ("body", "Done")],
    )
    .await;
    app.create_user("rhea@example.org", "responder password 1", "responder")
        .await;
    let rcsrf = app.login("rhea@example.org", "responder password 1").await;
    let page = app.get_text(&format!("/admin/incidents/{kept}")).await;
    assert!(page.contains("Correct published text") && !page.contains("Delete this"));
    let r = app
        .post_form(
            &format!("/admin/incidents/{kept}/delete"),
            &[("csrf", &rcsrf), ("confirm", "true")],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        json(&app, "/api/v2/incidents.json").await["incidents"][0]["name"],
        "Kept"
    );
    app.stop().await;
}

on_both_backends!(deleting_incidents);

async fn bad_incident_input_is_refused_and_nothing_is_stored(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = seed(&app).await;
    let csrf = app.login_admin().await;
    let before = json(&app, "/api/v2/incidents.json").await;
    let long = "x".repeat(201);
    let bad_component = format!("component.{}", ids[0]);
    type Case<'a> = (Vec<(&'a str, String)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("name", "".into())], "/admin/incidents", "name"),
        (vec![("name", long.clone())], "/admin/incidents", "name"),
        (
            vec![("impact", "apocalyptic".into())],
            "/admin/incidents",
            "impact",
        ),
        (
            vec![("status", "in_progress".into())],
            "/admin/incidents",
            "status",
        ),
        (vec![("body", " ".into())], "/admin/incidents", "body"),
        (
            vec![(bad_component.as_str(), "on_fire".into())],
            "/admin/incidents",
            "component.",
        ),
        (
            vec![("component.nosuchthing", "major_outage".into())],
            "/admin/incidents",
            "component.nosuchthing",
        ),
    ];
    for (overrides, path, field) in cases {
        let mut form: Vec<(String, String)> = vec![
            ("csrf".into(), csrf.clone()),
            ("name".into(), "Title".into()),
            ("impact".into(), "minor".into()),
            ("status".into(), "investigating".into()),
            ("body".into(), "Body".into()),
            (format!("component.{}", ids[1]), "major_outage".into()),
        ];
        for (k, v) in &overrides {
            form.retain(|(fk, _)| fk != k);
            form.push((k.to_string(), v.clone()));
        }
        let r = app
            .client
            .post(app.url(path))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{overrides:?}");
        let text = r.text().await.unwrap();
        assert!(text.contains(field), "{overrides:?} names {field}");
    }
    // Maintenance ending before it starts, or with a bad time.
    for (starts, ends, field) in [
        ("2030-01-01T10:00", "2030-01-01T09:00", "ends"),
        ("2030-01-01T10:00", "2030-01-01T10:00", "ends"),
        ("soon", "2030-01-01T10:00", "starts"),
    ] {
        let r = app
            .post_form(
                "/admin/maintenance",
                &[
                    ("csrf", &csrf),
                    ("name", "Upgrade"),
                    ("body", "Upgrading"),
                    ("starts", starts),
                    ("ends", ends),
                    ("time_zone", "UTC"),
                ],
            )
            .await;
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains(field));
    }
    // The component that the refused incidents would have changed is untouched.
    let after = json(&app, "/api/v2/incidents.json").await;
    assert_eq!(before["incidents"], after["incidents"]);
    assert!(after["incidents"].as_array().unwrap().is_empty());
    let comps = json(&app, "/api/v2/components.json").await;
    assert!(comps["components"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "operational"));
    assert!(
        json(&app, "/api/v2/scheduled-maintenances.json").await["scheduled_maintenances"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A viewer may not publish.
    app.create_user("viewer@example.org", "viewer password 123", "viewer")
        .await;
    let viewer = TestApp {
        base: app.base.clone(),
        client: common::client(),
        running: None,
        db: common::TestDb::new(Backend::Sqlite),
    };
    let vcsrf = viewer
        .login("viewer@example.org", "viewer password 123")
        .await;
    let r = create_incident(&viewer, &vcsrf, "Nope", "minor", "x", &[]).await;
    assert_eq!(r.status(), 403);
    app.stop().await;
}
on_both_backends!(bad_incident_input_is_refused_and_nothing_is_stored);

/// The engine steps maintenance windows by the application's clock: on a fake clock moved 90
/// minutes on, a window starts and completes with no real waiting.
async fn maintenance_starts_and_completes_by_the_clock(backend: Backend) {
    let (app, clock) = TestApp::start_with_clock(backend, &[]).await;
    let ids = seed(&app).await;
    let csrf = app.login_admin().await;
    let now = app.state().clock.now();
    let fmt = |t: jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let mins = |m: i64| jiff::SignedDuration::from_mins(m);
    // Upcoming: announced, nothing under maintenance yet.
    let r = app
        .post_form(
            "/admin/maintenance",
            &[
                ("csrf", &csrf),
                ("name", "Next week"),
                ("body", "Planned"),
                (
                    "starts",
                    &fmt(now + jiff::SignedDuration::from_hours(24 * 7)),
                ),
                (
                    "ends",
                    &fmt(now + jiff::SignedDuration::from_hours(24 * 7 + 1)),
                ),
                ("time_zone", "UTC"),
                (&format!("component.{}", ids[1]), "under_maintenance"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let upcoming = json(&app, "/api/v2/scheduled-maintenances/upcoming.json").await;
    check_incident(&upcoming["scheduled_maintenances"][0], true);
    assert_eq!(upcoming["scheduled_maintenances"][0]["status"], "scheduled");
    // A window that began a minute ago and ends in 90 minutes: in progress at once.
    let r = app
        .post_form(
            "/admin/maintenance",
            &[
                ("csrf", &csrf),
                ("name", "Index rebuild"),
                ("body", "Rebuilding"),
                ("starts", &fmt(now - mins(1))),
                ("ends", &fmt(now + mins(90))),
                ("time_zone", "UTC"),
                (&format!("component.{}", ids[0]), "under_maintenance"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    // One that starts in 30 minutes and ends in 60.
    let r = app
        .post_form(
            "/admin/maintenance",
            &[
                ("csrf", &csrf),
                ("name", "Web UI deploy"),
                ("body", "Deploying"),
                ("starts", &fmt(now + mins(30))),
                ("ends", &fmt(now + mins(60))),
                ("time_zone", "UTC"),
                (&format!("component.{}", ids[2]), "under_maintenance"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let active = json(&app, "/api/v2/scheduled-maintenances/active.json").await;
    let m = &active["scheduled_maintenances"][0];
    check_incident(m, true);
    assert_eq!(m["status"], "in_progress");
    let summary = json(&app, "/api/v2/summary.json").await;
    assert_eq!(summary["status"]["indicator"], "maintenance");
    assert_eq!(
        summary["scheduled_maintenances"].as_array().unwrap().len(),
        3
    );
    assert_eq!(status_of(&summary, &ids[0]), "under_maintenance");
    assert_eq!(
        status_of(&summary, &ids[1]),
        "operational",
        "not started yet"
    );
    assert_eq!(
        status_of(&summary, &ids[2]),
        "operational",
        "starts in 30 minutes"
    );
    let status_by_name = |all: &Value, name: &str| {
        all["scheduled_maintenances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // 30 minutes on: the deploy starts.
    clock.advance(Duration::from_secs(30 * 60));
    common::ticked(&app, clock.now_ms()).await;
    let s = json(&app, "/api/v2/summary.json").await;
    assert_eq!(status_of(&s, &ids[2]), "under_maintenance");
    assert_eq!(status_of(&s, &ids[0]), "under_maintenance");
    let all = json(&app, "/api/v2/scheduled-maintenances.json").await;
    assert_eq!(status_by_name(&all, "Web UI deploy"), "in_progress");

    // 60 more: both windows are over.
    clock.advance(Duration::from_secs(60 * 60));
    common::ticked(&app, clock.now_ms()).await;
    let s = json(&app, "/api/v2/summary.json").await;
    assert_eq!(status_of(&s, &ids[0]), "operational");
    assert_eq!(status_of(&s, &ids[2]), "operational");
    assert_eq!(s["status"]["indicator"], "none");
    let all = json(&app, "/api/v2/scheduled-maintenances.json").await;
    assert_eq!(status_by_name(&all, "Web UI deploy"), "completed");
    assert_eq!(status_by_name(&all, "Next week"), "scheduled");
    let done = all["scheduled_maintenances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Index rebuild")
        .unwrap()
        .clone();
    assert_eq!(done["status"], "completed");
    assert_eq!(done["incident_updates"].as_array().unwrap().len(), 3);
    app.stop().await;
}
on_both_backends!(maintenance_starts_and_completes_by_the_clock);

async fn every_document_has_etag_cors_and_the_spec_shape(backend: Backend) {
    let app = TestApp::start(backend).await;
    seed(&app).await;
    for path in [
        "status.json",
        "components.json",
        "summary.json",
        "incidents.json",
        "incidents/unresolved.json",
        "scheduled-maintenances.json",
        "scheduled-maintenances/upcoming.json",
        "scheduled-maintenances/active.json",
    ] {
        let url = app.url(&format!("/api/v2/{path}"));
        let r = app.client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        assert!(r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=10"));
        let v: Value = r.json().await.unwrap();
        assert!(v["page"]["id"].is_string(), "{path} page");
        if let Some(st) = v.get("status") {
            assert!(INDICATORS.contains(&st["indicator"].as_str().unwrap()));
        }
        let r = app
            .client
            .get(&url)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304, "{path} honours If-None-Match");
    }
    let r = app
        .client
        .get(app.url("/api/v2/nope.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("incidents/unresolved.json"));
    app.stop().await;
}
on_both_backends!(every_document_has_etag_cors_and_the_spec_shape);

async fn feeds_are_valid_rss_and_atom(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = seed(&app).await;
    let csrf = app.login_admin().await;
    let r = create_incident(
        &app,
        &csrf,
        "Git index <stale> & slow",
        "minor",
        "Looking into *it*",
        &[(&ids[0], "degraded_performance")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let id = location_id(&r);
    let r = app
        .client
        .get(app.url("/history.rss"))
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/rss+xml"));
    let body = r.bytes().await.unwrap();
    let channel = rss::Channel::read_from(&body[..]).expect("valid RSS 2.0");
    assert!(std::str::from_utf8(&body)
        .unwrap()
        .contains("<rss version=\"2.0\""));
    assert_eq!(channel.items().len(), 1);
    let item = &channel.items()[0];
    assert_eq!(
        item.title(),
        Some("Git index <stale> & slow (Investigating)")
    );
    assert!(item.link().unwrap().ends_with(&format!("/incidents/{id}")));
    assert!(item.pub_date().is_some() && item.guid().is_some());
    assert!(item.description().unwrap().contains("<em>it</em>"));

    let body = app
        .client
        .get(app.url("/history.atom"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let feed = atom_syndication::Feed::read_from(&body[..]).expect("valid Atom");
    assert_eq!(feed.entries().len(), 1);
    let e = &feed.entries()[0];
    assert!(e.id().ends_with(&format!("/incidents/{id}")));
    assert_eq!(
        e.title().as_str(),
        "Git index <stale> & slow (Investigating)"
    );
    assert!(feed.links().iter().any(|l| l.rel() == "self"));
    app.stop().await;
}
on_both_backends!(feeds_are_valid_rss_and_atom);

async fn failing_probe_opens_an_alert_and_recovery_clears_it(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = seed(&app).await;
    let csrf = app.login_admin().await;
    let sink = HttpSink::start().await;
    sink.set_status(500);
    // Probes of the server's own pages are refused.
    let own = app.url("/admin/components");
    let r = app
        .post_form(
            "/admin/monitors",
            &[
                ("csrf", &csrf),
                ("kind", "http"),
                ("name", "Self"),
                ("url", &own),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("url"));
    let r = app
        .post_form(
            "/admin/monitors",
            &[
                ("csrf", &csrf),
                ("kind", "http"),
                ("name", "Bad"),
                ("url", "gopher://x"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);

    let url = format!("http://{}/health", sink.addr);
    let r = app
        .post_form(
            "/admin/monitors",
            &[
                ("csrf", &csrf),
                ("kind", "http"),
                ("name", "API probe"),
                ("url", &url),
                ("interval", "5"),
                ("timeout", "2000"),
                ("failures", "1"),
                ("component", &ids[1]),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let api = ids[1].clone();
    eventually(
        15,
        "probe failure turns the component to major_outage",
        || {
            let (app, api) = (&app, api.clone());
            async move {
                (status_of(&json(app, "/api/v2/components.json").await, &api) == "major_outage")
                    .then_some(())
            }
        },
    )
    .await;
    let alerts = app.state().store.alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].status, "triggered");
    assert!(alerts[0].summary.contains("API probe"));
    assert!(alerts[0].details.contains("500"), "{}", alerts[0].details);
    assert!(app.get_text("/admin/monitors").await.contains("triggered"));
    let dashboard = app.get_text("/dashboard").await;
    assert!(dashboard.contains("Open alerts") && dashboard.contains("API probe is failing"));

    sink.set_status(200);
    eventually(15, "recovery restores the component", || {
        let (app, api) = (&app, api.clone());
        async move {
            (status_of(&json(app, "/api/v2/components.json").await, &api) == "operational")
                .then_some(())
        }
    })
    .await;
    let alerts = app.state().store.alerts(10).await.unwrap();
    assert_eq!(alerts.len(), 1, "the same alert, not a new one");
    assert_eq!(alerts[0].status, "resolved");
    assert!(!app.get_text("/dashboard").await.contains("Open alerts"));
    app.stop().await;
}
on_both_backends!(failing_probe_opens_an_alert_and_recovery_clears_it);

/// On a fake clock: the heartbeat's deadline passes when the clock is moved on, not after real
/// seconds.
async fn silent_heartbeat_opens_an_alert_and_a_ping_clears_it(backend: Backend) {
    let (app, clock) = TestApp::start_with_clock(backend, &[]).await;
    let ids = seed(&app).await;
    let csrf = app.login_admin().await;
    let r = app
        .post_form(
            "/admin/monitors",
            &[
                ("csrf", &csrf),
                ("kind", "heartbeat"),
                ("name", "Index sync job"),
                ("interval", "5"),
                ("failures", "1"),
                ("component", &ids[2]),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let monitor = app.state().store.monitors().await.unwrap().remove(0);
    let token = monitor.token.unwrap();
    let r = app
        .client
        .get(app.url("/heartbeat/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .client
        .post(app.url(&format!("/heartbeat/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let web = ids[2].clone();
    // Within the interval nothing happens ...
    clock.advance(Duration::from_secs(4));
    common::ticked(&app, clock.now_ms()).await;
    assert!(app.state().store.alerts(5).await.unwrap().is_empty());
    // ... past it, a missed heartbeat opens an alert.
    clock.advance(Duration::from_secs(2));
    common::ticked(&app, clock.now_ms()).await;
    let a = app.state().store.alerts(5).await.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].status, "triggered");
    assert_eq!(
        app.state()
            .store
            .component(&web)
            .await
            .unwrap()
            .status
            .as_str(),
        "major_outage"
    );
    let r = app
        .client
        .get(app.url(&format!("/heartbeat/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.state()
            .store
            .component(&web)
            .await
            .unwrap()
            .status
            .as_str(),
        "operational"
    );
    assert_eq!(
        app.state().store.alerts(5).await.unwrap()[0].status,
        "resolved"
    );
    app.stop().await;
}
on_both_backends!(silent_heartbeat_opens_an_alert_and_a_ping_clears_it);

#[tokio::test]
async fn subscriptions_are_confirmed_and_delivered_to_mail_and_webhooks() {
    // Mail and webhooks go to the recording fakes: nothing listens on a socket.
    let fakes = firstline::fakes::Fakes::new();
    let (smtp, hook) = (&fakes.mail, &fakes.webhooks);
    let app = TestApp::start_with_services(
        Backend::Sqlite,
        &[(
            "FIRSTLINE_MAIL_FROM",
            "crates.io status <status@example.org>",
        )],
        fakes.services(),
    )
    .await;
    let ids = seed(&app).await;
    let public = common::client();

    // Bad input: invalid email, unknown component.
    let r = public
        .post(app.url("/subscribe"))
        .form(&[("email", "not-an-address")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("email"));
    let r = public
        .post(app.url("/subscribe"))
        .form(&[("email", "maya@example.org"), ("components", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("components"));

    // Step one: a confirmation mail.
    let r = public
        .post(app.url("/subscribe"))
        .form(&[
            ("email", "Maya@Example.org"),
            ("components", ids[0].as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mail = eventually(10, "confirmation mail", || async {
        smtp.texts().into_iter().find(|m| m.contains("Confirm"))
    })
    .await;
    assert!(mail.contains("To: maya@example.org"), "{mail}");
    assert!(
        mail.contains("Content-Type: text/plain; charset=utf-8"),
        "{mail}"
    );
    assert!(mail.contains("Message-ID: <"), "{mail}");
    assert!(mail.contains("List-Unsubscribe"), "{mail}");
    // Undo quoted-printable soft line breaks, as a mail client would.
    let mail = mail.replace("=\n", "");
    let link_start = mail.find("/subscribe/confirm/").expect("confirm link");
    let token: String = mail[link_start + "/subscribe/confirm/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    // Opening the link (as a mail scanner would) confirms nothing; the button does.
    let r = public
        .get(app.url(&format!("/subscribe/confirm/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Confirm subscription"));
    assert!(app
        .state()
        .store
        .subscribers(true)
        .await
        .unwrap()
        .is_empty());
    let r = public
        .post(app.url(&format!("/subscribe/confirm/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.state().store.subscribers(true).await.unwrap().len(), 1);

    // Spam: the same address a few more times is rate limited.
    let mut last = 0;
    for _ in 0..4 {
        last = public
            .post(app.url("/subscribe"))
            .form(&[("email", "maya@example.org")])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
    }
    assert_eq!(last, 429);

    // An admin adds a webhook subscriber.
    let csrf = app.login_admin().await;
    let r = app
        .post_form(
            "/admin/subscribers",
            &[("csrf", &csrf), ("url", "ftp://nope")],
        )
        .await;
    assert_eq!(r.status(), 400);
    let hook_url = "https://hooks.example.org/status";
    let r = app
        .post_form("/admin/subscribers", &[("csrf", &csrf), ("url", hook_url)])
        .await;
    assert_eq!(r.status(), 303);

    // Publishing an incident on the chosen component reaches both.
    let r = create_incident(
        &app,
        &csrf,
        "Sparse index errors",
        "major",
        "Investigating errors",
        &[(&ids[0], "major_outage")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let update_mail = eventually(15, "update mail", || async {
        smtp.texts()
            .into_iter()
            .find(|m| m.contains("Sparse index errors"))
    })
    .await;
    let update_mail = update_mail.replace("=\n", "");
    assert!(update_mail.contains("Investigating errors"));
    assert!(update_mail.contains(&format!("/unsubscribe/{token}")));
    let body = eventually(15, "webhook delivery", || async {
        hook.bodies().into_iter().next()
    })
    .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["incident"]["name"], "Sparse index errors");
    check_incident(&v["incident"], false);
    assert!(v["meta"]["unsubscribe"].is_string());

    // An incident on another component does not mail Maya (she chose one component).
    let before = smtp.texts().len();
    let r = create_incident(
        &app,
        &csrf,
        "Web UI glitch",
        "minor",
        "Hmm",
        &[(&ids[2], "degraded_performance")],
    )
    .await;
    assert_eq!(r.status(), 303);
    eventually(15, "webhook gets the second incident", || async {
        (hook.bodies().len() >= 2).then_some(())
    })
    .await;
    assert_eq!(
        smtp.texts().len(),
        before,
        "no mail for an unchosen component"
    );

    // One-click unsubscribe.
    let r = public
        .post(app.url(&format!("/unsubscribe/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(app
        .state()
        .store
        .subscribers(false)
        .await
        .unwrap()
        .iter()
        .all(|s| s.target != "maya@example.org"));
    app.stop().await;
}

/// On a fake clock: the retry is due when the clock has moved 10 s on, not after real seconds.
async fn failed_webhook_deliveries_are_retried(backend: Backend) {
    let hook = HttpSink::start().await;
    hook.set_status(503);
    let (app, clock) = TestApp::start_with_clock(backend, &[]).await;
    let ids = seed(&app).await;
    let csrf = app.login_admin().await;
    let hook_url = format!("http://{}/hook", hook.addr);
    app.post_form("/admin/subscribers", &[("csrf", &csrf), ("url", &hook_url)])
        .await;
    let r = create_incident(
        &app,
        &csrf,
        "Flaky",
        "minor",
        "x",
        &[(&ids[0], "degraded_performance")],
    )
    .await;
    assert_eq!(r.status(), 303);
    eventually(10, "first attempt", || async {
        (!hook.bodies().is_empty()).then_some(())
    })
    .await;
    // The sink answers before the worker records the failure: wait for the record.
    eventually(10, "a failed delivery waits for a retry", || async {
        let (pending, failed) = app.state().store.job_backlog().await.unwrap();
        (pending >= 1 && failed >= 1).then_some(())
    })
    .await;
    hook.set_status(200);
    // The first retry is 10 s after the failure.
    clock.advance(Duration::from_secs(11));
    eventually(10, "retry succeeds", || async {
        let (pending, _) = app.state().store.job_backlog().await.unwrap();
        (hook.bodies().len() >= 2 && pending == 0).then_some(())
    })
    .await;
    app.stop().await;
}
on_both_backends!(failed_webhook_deliveries_are_retried);

/// A delivery waiting for its retry when its incident is deleted ends quietly: nothing is sent,
/// and the queue drains instead of failing eight times.
async fn deliveries_of_a_deleted_incident_end_quietly(backend: Backend) {
    let hook = HttpSink::start().await;
    hook.set_status(503);
    let app = TestApp::start(backend).await;
    let ids = seed(&app).await;
    let csrf = app.login_admin().await;
    let hook_url = format!("http://{}/hook", hook.addr);
    app.post_form("/admin/subscribers", &[("csrf", &csrf), ("url", &hook_url)])
        .await;
    let r = create_incident(
        &app,
        &csrf,
        "Posted twice",
        "minor",
        "x",
        &[(&ids[0], "degraded_performance")],
    )
    .await;
    let id = location_id(&r);
    eventually(10, "first attempt", || async {
        (!hook.bodies().is_empty()).then_some(())
    })
    .await;
    // Resolved quietly (no notify), then deleted while the delivery waits for its retry.
    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/updates"),
            &[
                ("csrf", &csrf),
                ("status", "resolved"),
                ("body", "Duplicate"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .post_form(
            &format!("/admin/incidents/{id}/delete"),
            &[("csrf", &csrf), ("confirm", "true")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(app.state().store.job_backlog().await.unwrap().0 >= 1);
    hook.set_status(200);
    // The retry comes 10 s after the failure, finds nothing and finishes the job.
    eventually(25, "the queue drains", || async {
        let (pending, _) = app.state().store.job_backlog().await.unwrap();
        (pending == 0).then_some(())
    })
    .await;
    assert_eq!(hook.bodies().len(), 1, "nothing sent after the deletion");
    app.stop().await;
}
on_both_backends!(deliveries_of_a_deleted_incident_end_quietly);

async fn subscription_requests_are_rate_limited_per_ip(backend: Backend) {
    let fakes = firstline::fakes::Fakes::new();
    let app = TestApp::start_with_services(backend, &[], fakes.services()).await;
    seed(&app).await;
    let public = common::client();
    // Without trusted proxies, X-Forwarded-For is the client's own claim and changes nothing.
    for i in 0..10 {
        let r = public
            .post(app.url("/subscribe"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .form(&[("email", format!("person{i}@example.org"))])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "request {i}");
    }
    let r = public
        .post(app.url("/subscribe"))
        .header("x-forwarded-for", "198.51.100.99")
        .form(&[("email", "one-more@example.org")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Too many subscription requests"));
    let stored = app.state().store.subscribers(false).await.unwrap();
    assert_eq!(stored.len(), 10, "the refused request stored nothing");
    assert!(
        stored.iter().all(|s| s.confirmed_at.is_none()),
        "nobody is confirmed without the link"
    );
    app.stop().await;
}
on_both_backends!(subscription_requests_are_rate_limited_per_ip);

/// Behind a trusted reverse proxy, the per-IP limit counts the client the proxy names, not the
/// proxy: one client is refused, a second client behind the same proxy is not, and a forged
/// left part of X-Forwarded-For does not make a refused client new.
#[tokio::test]
async fn behind_a_trusted_proxy_the_per_ip_limit_counts_the_forwarded_client() {
    let fakes = firstline::fakes::Fakes::new();
    let app = TestApp::start_with_services(
        Backend::Sqlite,
        &[("FIRSTLINE_TRUSTED_PROXIES", "127.0.0.1,::1")],
        fakes.services(),
    )
    .await;
    seed(&app).await;
    let public = common::client();
    let send = |forwarded: &'static str, email: String| {
        public
            .post(app.url("/subscribe"))
            .header("x-forwarded-for", forwarded)
            .form(&[("email", email)])
            .send()
    };
    for i in 0..10 {
        let r = send("198.51.100.1", format!("a{i}@example.org"))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "request {i}");
    }
    let r = send("198.51.100.1", "a10@example.org".into())
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let r = send("203.0.113.5, 198.51.100.1", "a11@example.org".into())
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "a forged left part is not read");
    let r = send("198.51.100.2", "b@example.org".into()).await.unwrap();
    assert_eq!(r.status(), 200, "another client behind the same proxy");
    let stored = app.state().store.subscribers(false).await.unwrap();
    assert_eq!(stored.len(), 11);
    app.stop().await;
}

/// Two instances on one PostgreSQL database: both engines tick, yet a maintenance window steps
/// exactly once, and the instance that did not make a change still shows it (LISTEN/NOTIFY).
#[tokio::test]
async fn two_instances_step_maintenance_once_and_both_show_it() {
    use app::domain::incident::{IncidentKind, IncidentStatus};
    use app::domain::status::{ComponentStatus, Impact};
    let app = TestApp::start(Backend::Postgres).await;
    let ids = seed(&app).await;
    let second = firstline::start(common::config(&app.db.url), app.db.store().await)
        .await
        .expect("second instance");
    let second_base = format!("http://{}", second.addr);
    let now = jiff::Timestamp::now().as_millisecond();
    let id = app
        .state()
        .store
        .create_incident(
            &firstline::store::NewIncident {
                kind: IncidentKind::Maintenance,
                name: "Shared window".into(),
                impact: Impact::None,
                status: IncidentStatus::Scheduled,
                body: "Planned".into(),
                components: vec![(ids[0].clone(), ComponentStatus::UnderMaintenance)],
                window: Some((now + 1_000, now + 4_000)),
                notify: false,
            },
            None,
            now,
        )
        .await
        .unwrap();
    let client = common::client();
    let on_second = |path: &str| format!("{second_base}{path}");
    eventually(
        20,
        "the second instance shows the window in progress",
        || {
            let (client, url) = (
                &client,
                on_second("/api/v2/scheduled-maintenances/active.json"),
            );
            async move {
                let v: Value = client.get(url).send().await.ok()?.json().await.ok()?;
                (v["scheduled_maintenances"].as_array()?.len() == 1).then_some(())
            }
        },
    )
    .await;
    eventually(20, "the window completes", || {
        let store = app.state().store.clone();
        let id = id.clone();
        async move {
            (store.incident(&id).await.ok()?.status == IncidentStatus::Completed).then_some(())
        }
    })
    .await;
    let inc = app.state().store.incident(&id).await.unwrap();
    let steps: Vec<&str> = inc.updates.iter().map(|u| u.status.as_str()).collect();
    assert_eq!(
        steps,
        ["completed", "in_progress", "scheduled"],
        "each step exactly once"
    );
    eventually(20, "the second instance shows the component back", || {
        let (client, url, cid) = (
            &client,
            on_second("/api/v2/components.json"),
            ids[0].clone(),
        );
        async move {
            let v: Value = client.get(url).send().await.ok()?.json().await.ok()?;
            (status_of(&v, &cid) == "operational").then_some(())
        }
    })
    .await;
    second.stop().await.unwrap();
    app.stop().await;
}

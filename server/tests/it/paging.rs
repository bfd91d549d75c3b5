//! The responders' side of paging through HTTP: services and keys in the browser, an alert
//! opening an on-call incident, acting on it from the page and the JSON API (who may, and what
//! each action records), the live stream announcing changes, snoozes waking on the clock,
//! posting to the public status page, and monitors attached to a service.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{client, ticked, Backend, TestApp};

/// Creates a service in the browser and a PagerDuty key on it; returns (service id, secret).
async fn service_with_key(app: &TestApp, csrf: &str, name: &str) -> (String, String) {
    let r = app
        .post_form(
            "/services",
            &[("csrf", csrf), ("name", name), ("team_id", "")],
        )
        .await;
    assert_eq!(r.status(), 303, "create service");
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let id = loc
        .trim_start_matches("/services/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let r = app
        .post_form(
            &format!("/services/{id}/keys"),
            &[
                ("csrf", csrf),
                ("kind", "pagerduty"),
                ("name", "Prometheus"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "add key");
    let key = app.state().store.keys(&id).await.unwrap().remove(0).key;
    (id, key)
}

async fn trigger(app: &TestApp, key: &str, dedup: &str, summary: &str) -> Value {
    let r = client()
        .post(app.url("/v2/enqueue"))
        .json(&json!({
            "routing_key": key, "event_action": "trigger", "dedup_key": dedup,
            "payload": { "summary": summary, "source": "db1", "severity": "critical",
                         "custom_details": { "rate": "5.3%" } },
            "links": [{ "href": "https://runbooks.example/sparse", "text": "Runbook" }]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    r.json().await.unwrap()
}

async fn only_incident(app: &TestApp) -> app::domain::oncall::OncallIncident {
    let mut list = app
        .state()
        .store
        .oncall_incidents(&firstline::store::OncallFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    list.remove(0)
}

async fn responder_works_an_incident_from_the_page(backend: Backend) {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    let (_, key) = service_with_key(&app, &csrf, "Sparse index").await;
    trigger(&app, &key, "5xx", "Sparse index 5xx above 5%").await;
    let inc = only_incident(&app).await;
    // The list and the page show it, with the big buttons and the alert's details and links.
    let list = app.get_text("/oncall").await;
    assert!(list.contains("Sparse index 5xx above 5%"), "{list}");
    let page = app.get_text(&format!("/oncall/{}", inc.id)).await;
    assert!(page.contains(">Acknowledge</button>"), "{page}");
    assert!(page.contains("https://runbooks.example/sparse"));
    assert!(page.contains("5.3%"));
    assert!(page.contains("Alert received via PagerDuty event"));

    // A responder acknowledges on a second client; then adds a note holding markup.
    app.create_user("jonas@example.org", "jonas password 1", "responder")
        .await;
    let (jonas, jcsrf) = app
        .login_client("jonas@example.org", "jonas password 1")
        .await;
    let act = |c: &reqwest::Client, form: Vec<(&'static str, String)>| {
        let url = app.url(&format!("/oncall/{}/act", inc.id));
        let c = c.clone();
        async move { c.post(url).form(&form).send().await.unwrap() }
    };
    let r = act(
        &jonas,
        vec![("csrf", jcsrf.clone()), ("action", "acknowledge".into())],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/oncall/{}?done=acknowledged", inc.id).as_str()
    );
    // A second acknowledgement changes nothing and says so.
    let r = act(
        &app.client,
        vec![("csrf", csrf.clone()), ("action", "ack".into())],
    )
    .await;
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .ends_with("done=unchanged"));
    let r = act(
        &jonas,
        vec![
            ("csrf", jcsrf.clone()),
            ("action", "note".into()),
            ("text", "<script>alert(1)</script> restarting db1".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let page = app.get_text(&format!("/oncall/{}", inc.id)).await;
    assert!(page.contains("Acknowledged by Test User via web"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; restarting db1"));
    assert!(!page.contains("<script>alert(1)"));
    assert!(
        !page.contains(">Acknowledge</button>"),
        "no second ack button"
    );

    // Bad input names the field, keeps the typed note out of the timeline, and stores nothing.
    let before = app.state().store.timeline(&inc.id).await.unwrap().len();
    let r = act(
        &jonas,
        vec![
            ("csrf", jcsrf.clone()),
            ("action", "snooze".into()),
            ("minutes", "0".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Minutes must be between 1 and 1440."));
    let r = act(
        &jonas,
        vec![
            ("csrf", jcsrf.clone()),
            ("action", "note".into()),
            ("text", "  ".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = act(
        &jonas,
        vec![("csrf", "wrong".into()), ("action", "resolve".into())],
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.state().store.timeline(&inc.id).await.unwrap().len(),
        before
    );

    // A viewer reads but cannot act; a stranger is sent to log in.
    app.create_user("viewer@example.org", "viewer password 1", "viewer")
        .await;
    let (viewer, vcsrf) = app
        .login_client("viewer@example.org", "viewer password 1")
        .await;
    let vpage = viewer
        .get(app.url(&format!("/oncall/{}", inc.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(vpage.status(), 200);
    assert!(!vpage.text().await.unwrap().contains(">Resolve</button>"));
    let r = act(&viewer, vec![("csrf", vcsrf), ("action", "resolve".into())]).await;
    assert_eq!(r.status(), 403);
    let r = client()
        .get(app.url(&format!("/oncall/{}", inc.id)))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 401 || r.status() == 303, "{}", r.status());

    // Resolving closes its alerts; a new trigger with the same key opens a new incident.
    let r = act(&jonas, vec![("csrf", jcsrf), ("action", "resolve".into())]).await;
    assert_eq!(r.status(), 303);
    let alerts = app.state().store.incident_alerts(&inc.id).await.unwrap();
    assert!(alerts.iter().all(|a| a.state.as_str() == "resolved"));
    trigger(&app, &key, "5xx", "Sparse index 5xx again").await;
    let open = app.state().store.open_oncall_count().await.unwrap();
    assert_eq!(open, 1);
    app.stop().await;
}
on_both_backends!(responder_works_an_incident_from_the_page);

/// A same-origin JSON POST with the app's session; the status and the JSON answer.
async fn api_post(app: &TestApp, path: String, body: Value) -> (u16, Value) {
    let r = app
        .client
        .post(app.url(&path))
        .header("origin", app.base.clone())
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json::<Value>().await.unwrap())
}

async fn json_api_lists_shows_and_acts(backend: Backend) {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    let (sid, key) = service_with_key(&app, &csrf, "API").await;
    trigger(&app, &key, "k1", "API latency").await;
    let inc = only_incident(&app).await;
    let list: Value = app
        .client
        .get(app.url(&format!("/api/v1/incidents?service={sid}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["incidents"][0]["title"], "API latency");
    assert_eq!(list["incidents"][0]["status"], "triggered");
    let (code, body) = api_post(
        &app,
        format!("/api/v1/incidents/{}/acknowledge", inc.id),
        json!({}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["changed"], true);
    assert_eq!(body["incident"]["status"], "acknowledged");
    let (code, body) = api_post(
        &app,
        format!("/api/v1/incidents/{}/note", inc.id),
        json!({ "text": "looking" }),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    // A form post (not JSON) is refused: cross-site forms cannot send JSON.
    let r = app
        .client
        .post(app.url(&format!("/api/v1/incidents/{}/resolve", inc.id)))
        .header("origin", app.base.clone())
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "content-type");
    // Errors: one JSON shape naming the field.
    for (path, body, status, field) in [
        (
            format!("/api/v1/incidents/{}/dance", inc.id),
            json!({}),
            400,
            "action",
        ),
        (
            format!("/api/v1/incidents/{}/snooze", inc.id),
            json!({ "minutes": 0 }),
            400,
            "minutes",
        ),
        (
            format!("/api/v1/incidents/{}/reassign", inc.id),
            json!({ "user": "nobody" }),
            400,
            "user",
        ),
        (
            format!("/api/v1/incidents/{}/note", inc.id),
            json!({ "text": "" }),
            400,
            "text",
        ),
        (
            "/api/v1/incidents/missing/resolve".to_string(),
            json!({}),
            404,
            "",
        ),
    ] {
        let (code, b) = api_post(&app, path.clone(), body).await;
        assert_eq!(code, status, "{path}: {b}");
        assert_eq!(b["status"], status, "{b}");
        if !field.is_empty() {
            assert_eq!(b["field"], field, "{path}: {b}");
        }
    }
    let detail: Value = app
        .client
        .get(app.url(&format!("/api/v1/incidents/{}", inc.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = detail["incident"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "alert_triggered",
            "no_policy",
            "acknowledged",
            "note"
        ]
    );
    assert_eq!(
        detail["incident"]["alerts"][0]["details"]["custom_details"]["rate"],
        "5.3%"
    );
    // Without a session: 401 in JSON.
    let r = client()
        .get(app.url("/api/v1/incidents"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["status"], 401);
    app.stop().await;
}
on_both_backends!(json_api_lists_shows_and_acts);

/// Reads the next SSE `version` event's data from a streaming response.
async fn next_version(stream: &mut reqwest::Response, buf: &mut String) -> String {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(i) = buf.find("\n\n") {
                let event: String = buf.drain(..i + 2).collect();
                if let Some(data) = event
                    .lines()
                    .find_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
                {
                    if event.contains("event: version") || event.contains("event:version") {
                        return data.trim().to_string();
                    }
                }
                continue;
            }
            let chunk = stream.chunk().await.expect("chunk").expect("stream open");
            buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .expect("a version event within 10 s")
}

async fn live_stream_announces_each_change(backend: Backend) {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    let (_, key) = service_with_key(&app, &csrf, "Live").await;
    trigger(&app, &key, "k", "Live alert").await;
    let inc = only_incident(&app).await;
    let v0 = app
        .state()
        .store
        .oncall_version(Some(&inc.id))
        .await
        .unwrap();
    let resp = app
        .client
        .get(app.url(&format!("/events/oncall/{}", inc.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut stream = resp;
    let mut buf = String::new();
    assert_eq!(next_version(&mut stream, &mut buf).await, v0);
    // A repeat trigger from the source and a note from a person each announce a new version.
    trigger(&app, &key, "k", "Live alert").await;
    let v1 = next_version(&mut stream, &mut buf).await;
    assert_ne!(v1, v0);
    let r = app
        .post_form(
            &format!("/oncall/{}/act", inc.id),
            &[("csrf", &csrf), ("action", "note"), ("text", "on it")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let v2 = next_version(&mut stream, &mut buf).await;
    assert_ne!(v2, v1);
    // The fragment carries the same version and the new entry.
    let frag = app
        .client
        .get(app.url(&format!("/oncall/{}/live", inc.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(frag.headers()["x-status-version"], v2.as_str());
    let html = frag.text().await.unwrap();
    assert!(
        html.contains("on it") && html.contains("Alert repeated"),
        "{html}"
    );
    // The list's stream hears a new incident on another service.
    let resp = app
        .client
        .get(app.url("/events/oncall"))
        .send()
        .await
        .unwrap();
    let mut list_stream = resp;
    let mut lbuf = String::new();
    let l0 = next_version(&mut list_stream, &mut lbuf).await;
    let (_, key2) = service_with_key(&app, &csrf, "Other").await;
    trigger(&app, &key2, "x", "Other alert").await;
    let l1 = next_version(&mut list_stream, &mut lbuf).await;
    assert_ne!(l0, l1);
    let list = app.get_text("/oncall/live").await;
    assert!(list.contains("Other alert"));
    // Strangers get no stream.
    let r = client()
        .get(app.url(&format!("/events/oncall/{}", inc.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.stop().await;
}
on_both_backends!(live_stream_announces_each_change);

async fn snooze_wakes_on_the_clock(backend: Backend) {
    let (app, clock) = TestApp::start_with_clock(backend, &[]).await;
    let csrf = app.login_admin().await;
    let (_, key) = service_with_key(&app, &csrf, "Snooze").await;
    trigger(&app, &key, "k", "Backups late").await;
    let inc = only_incident(&app).await;
    let r = app
        .post_form(
            &format!("/oncall/{}/act", inc.id),
            &[("csrf", &csrf), ("action", "snooze"), ("minutes", "15")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let s = app.state().store.oncall_incident(&inc.id).await.unwrap();
    assert_eq!(s.state.as_str(), "acknowledged");
    clock.advance(Duration::from_secs(14 * 60));
    ticked(&app, app.state().clock.now_ms()).await;
    let s = app.state().store.oncall_incident(&inc.id).await.unwrap();
    assert_eq!(s.state.as_str(), "acknowledged", "not yet");
    clock.advance(Duration::from_secs(61));
    ticked(&app, app.state().clock.now_ms()).await;
    let s = app.state().store.oncall_incident(&inc.id).await.unwrap();
    assert_eq!(s.state.as_str(), "triggered");
    assert_eq!(s.snoozed_until, None);
    let kinds: Vec<String> = app
        .state()
        .store
        .timeline(&inc.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds.last().unwrap(), "snooze_ended");
    app.stop().await;
}
on_both_backends!(snooze_wakes_on_the_clock);

async fn incident_posts_to_the_status_page(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ids = app.seed_components(&[("Sparse index", "")]).await;
    let csrf = app.login_admin().await;
    let (_, key) = service_with_key(&app, &csrf, "Index").await;
    trigger(&app, &key, "k", "Index 5xx").await;
    let inc = only_incident(&app).await;
    let component = format!("component.{}", ids[0]);
    let post = |status: &'static str, body: &'static str| {
        let (csrf, component) = (csrf.clone(), component.clone());
        let url = format!("/oncall/{}/status", inc.id);
        let app = &app;
        async move {
            app.post_form(
                &url,
                &[
                    ("csrf", csrf.as_str()),
                    ("name", "Index fetches failing"),
                    ("impact", "major"),
                    ("status", status),
                    ("body", body),
                    (component.as_str(), "partial_outage"),
                ],
            )
            .await
        }
    };
    // Bad input names the field and posts nothing.
    let r = post("investigating", "").await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The message must not be empty."));
    assert_eq!(
        app.state()
            .store
            .oncall_incident(&inc.id)
            .await
            .unwrap()
            .status_incident_id,
        None
    );
    let r = post("investigating", "We are looking into failed index fetches.").await;
    assert_eq!(r.status(), 303);
    let linked = app.state().store.oncall_incident(&inc.id).await.unwrap();
    let pid = linked.status_incident_id.clone().expect("linked");
    let summary: Value = client()
        .get(app.url("/api/v2/summary.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["incidents"][0]["name"], "Index fetches failing");
    assert_eq!(summary["components"][0]["status"], "partial_outage");
    // The second post updates the same public incident; resolving it closes it.
    let r = post("resolved", "Fixed: a bad deploy was rolled back.").await;
    assert_eq!(r.status(), 303);
    let public = app.state().store.incident(&pid).await.unwrap();
    assert_eq!(public.updates.len(), 2);
    assert_eq!(public.status.as_str(), "resolved");
    // Both timelines link each other; the public page does not show the private link.
    let admin_page = app.get_text(&format!("/admin/incidents/{pid}")).await;
    assert!(admin_page.contains(&format!("/oncall/{}", inc.id)));
    let public_page = client()
        .get(app.url(&format!("/incidents/{pid}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!public_page.contains("/oncall/"));
    let page = app.get_text(&format!("/oncall/{}", inc.id)).await;
    assert!(page.contains(&format!("/admin/incidents/{pid}")));
    assert!(
        page.contains("posted to the status page: resolved"),
        "{page}"
    );
    app.stop().await;
}
on_both_backends!(incident_posts_to_the_status_page);

async fn services_are_configured_by_admins_only(backend: Backend) {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    let (sid, key) = service_with_key(&app, &csrf, "Downloads").await;
    // The page shows the exact URL and a snippet to paste.
    let page = app.get_text(&format!("/services/{sid}")).await;
    assert!(
        page.contains(&format!("{}/v2/enqueue", app.state().config.base_url)),
        "{page}"
    );
    assert!(page.contains(&format!("routing_key: {key}")));
    // Duplicate names and unknown kinds name the field.
    let r = app
        .post_form("/services", &[("csrf", &csrf), ("name", "Downloads")])
        .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Another service has this name"));
    let r = app
        .post_form(
            &format!("/services/{sid}/keys"),
            &[("csrf", &csrf), ("kind", "carrier-pigeon"), ("name", "x")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("The kind must be one of"));
    // A responder sees the service but neither the secret nor the forms, and cannot add keys.
    app.create_user("r@example.org", "responder pass 1", "responder")
        .await;
    let (r_client, r_csrf) = app.login_client("r@example.org", "responder pass 1").await;
    let text = r_client
        .get(app.url(&format!("/services/{sid}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains(&key));
    assert!(text.contains("Its URL and key are shown to admins."));
    assert!(!text.contains("Configuration to paste"));
    let r = r_client
        .post(app.url(&format!("/services/{sid}/keys")))
        .form(&[
            ("csrf", r_csrf.as_str()),
            ("kind", "generic"),
            ("name", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(app.state().store.keys(&sid).await.unwrap().len(), 1);
    // Revoking refuses the key from then on, and stores nothing.
    let kid = app.state().store.keys(&sid).await.unwrap()[0].id.clone();
    let r = app
        .post_form(
            &format!("/services/{sid}/keys/{kid}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = client()
        .post(app.url("/v2/enqueue"))
        .json(&json!({ "routing_key": key, "event_action": "trigger",
            "payload": { "summary": "s", "source": "x", "severity": "info" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert!(b["errors"][0].as_str().unwrap().contains("revoked"), "{b}");
    let all = firstline::store::OncallFilter {
        limit: 10,
        ..Default::default()
    };
    assert!(app
        .state()
        .store
        .oncall_incidents(&all)
        .await
        .unwrap()
        .is_empty());
    // Revoking needs the key's own service in the path.
    let (other, _) = service_with_key(&app, &csrf, "Other service").await;
    let okey = app.state().store.keys(&other).await.unwrap()[0].id.clone();
    let r = app
        .post_form(
            &format!("/services/{sid}/keys/{okey}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert!(app.state().store.keys(&other).await.unwrap()[0]
        .revoked_at
        .is_none());
    // Admins edit a service: its team can change (and a team owning nothing can go).
    let team = app.state().store.create_team("Ops", None, 1).await.unwrap();
    let r = app
        .post_form(
            &format!("/services/{sid}"),
            &[
                ("csrf", &csrf),
                ("name", "Downloads CDN"),
                ("team_id", &team),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let s = app.state().store.service(&sid).await.unwrap();
    assert_eq!(
        (s.name.as_str(), s.team_id.as_deref()),
        ("Downloads CDN", Some(team.as_str()))
    );
    let r = app
        .post_form(
            &format!("/services/{sid}"),
            &[("csrf", &csrf), ("name", "Other service"), ("team_id", "")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Another service has this name"));
    app.stop().await;
}
on_both_backends!(services_are_configured_by_admins_only);

async fn a_failing_heartbeat_opens_an_incident_on_its_service(backend: Backend) {
    let (app, clock) = TestApp::start_with_clock(backend, &[]).await;
    let csrf = app.login_admin().await;
    let (sid, _) = service_with_key(&app, &csrf, "Backups").await;
    let r = app
        .post_form(
            "/admin/monitors",
            &[
                ("csrf", &csrf),
                ("kind", "heartbeat"),
                ("name", "Nightly backup"),
                ("interval", "60"),
                ("failures", "1"),
                ("service", &sid),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let m = app.state().store.monitors().await.unwrap().remove(0);
    assert_eq!(m.service_id.as_deref(), Some(sid.as_str()));
    let token = m.token.unwrap();
    // No beat within the interval: the monitor goes down and opens an incident on the service.
    clock.advance(Duration::from_secs(200));
    ticked(&app, app.state().clock.now_ms()).await;
    let inc = only_incident(&app).await;
    assert_eq!(inc.title, "Nightly backup is failing");
    assert_eq!(inc.service_id.as_deref(), Some(sid.as_str()));
    // The next beat (new URL) resolves it, by its source.
    let r = client()
        .post(app.url(&format!("/hooks/heartbeat/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let inc = app.state().store.oncall_incident(&inc.id).await.unwrap();
    assert_eq!(inc.state.as_str(), "resolved");
    assert_eq!(inc.resolved_by, None);
    let page = app.get_text(&format!("/oncall/{}", inc.id)).await;
    assert!(page.contains("Resolved by its source via probe"), "{page}");
    app.stop().await;
}
on_both_backends!(a_failing_heartbeat_opens_an_incident_on_its_service);

async fn the_demo_has_services_keys_and_a_worked_incident(backend: Backend) {
    let db = crate::common::TestDb::new(backend);
    let store = db.store().await;
    let config = crate::common::config(&db.url);
    firstline::demo::seed_if_empty(&store, &config)
        .await
        .expect("demo");
    let services = store.services().await.unwrap();
    assert_eq!(services.len(), 3);
    for s in &services {
        assert_eq!(store.keys(&s.id).await.unwrap().len(), 1, "{}", s.name);
    }
    let list = store
        .oncall_incidents(&firstline::store::OncallFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].state.as_str(), "resolved");
    let timeline = store.timeline(&list[0].id).await.unwrap();
    let kinds: Vec<&str> = timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "alert_triggered",
            "step_fired",
            "paged",
            "acknowledged",
            "note",
            "alert_resolved",
            "resolved"
        ]
    );
    // The person the policy's first step paged is the one who acknowledged.
    assert_eq!(
        timeline[2].body["users"][0].as_str(),
        timeline[4].actor_id.as_deref()
    );
    // And its plan: how that person was to be reached.
    assert_eq!(timeline[3].body["user"], timeline[2].body["users"][0]);
}
on_both_backends!(the_demo_has_services_keys_and_a_worked_incident);

async fn the_profile_lists_the_services_of_ones_teams(backend: Backend) {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    let store = &app.state().store;
    let team = store.create_team("First line", None, 1).await.unwrap();
    let admin = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.role.is_admin())
        .unwrap();
    store.add_team_member(&team, &admin.id).await.unwrap();
    let r = app
        .post_form(
            "/services",
            &[
                ("csrf", &csrf),
                ("name", "Sparse <index>"),
                ("team_id", &team),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    service_with_key(&app, &csrf, "Not mine").await;
    let page = app.get_text("/profile").await;
    assert!(page.contains("Sparse &lt;index&gt;"), "{page}");
    assert!(!page.contains("Not mine"));
    // A team that owns a service cannot be deleted.
    let r = app
        .post_form(&format!("/admin/teams/{team}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("This team still owns 1 service; give them to another team first"));
    assert_eq!(store.list_teams().await.unwrap().len(), 1);
    app.stop().await;
}
on_both_backends!(the_profile_lists_the_services_of_ones_teams);

async fn heartbeats_are_added_on_the_service_page(backend: Backend) {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    let (sid, _) = service_with_key(&app, &csrf, "Backups").await;
    let path = format!("/services/{sid}/heartbeats");
    let r = app
        .post_form(
            &path,
            &[("csrf", &csrf), ("name", "Nightly"), ("interval", "2")],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The interval must be a whole number from 5"));
    assert!(app.state().store.monitors().await.unwrap().is_empty());
    let r = app
        .post_form(
            &path,
            &[("csrf", &csrf), ("name", "Nightly"), ("interval", "86400")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let m = app.state().store.monitors().await.unwrap().remove(0);
    assert_eq!(m.service_id.as_deref(), Some(sid.as_str()));
    let page = app.get_text(&format!("/services/{sid}")).await;
    let url = format!("/hooks/heartbeat/{}", m.token.unwrap());
    assert!(
        page.contains(&format!(
            "curl -fsS --retry 3 {}{url}",
            app.state().config.base_url
        )),
        "{page}"
    );
    let r = client().get(app.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Removing it (revoking its URL) from the service page.
    assert!(page.contains(&format!("/admin/monitors/{}/delete", m.id)));
    let r = app
        .post_form(
            &format!("/admin/monitors/{}/delete", m.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = client().get(app.url(&url)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}
on_both_backends!(heartbeats_are_added_on_the_service_page);

async fn a_note_after_resolution_keeps_who_resolved_it(backend: Backend) {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    let (_, key) = service_with_key(&app, &csrf, "Notes").await;
    trigger(&app, &key, "k", "Disk full").await;
    let inc = only_incident(&app).await;
    // The source resolves it.
    let r = client()
        .post(app.url("/v2/enqueue"))
        .json(&json!({ "routing_key": key, "event_action": "resolve", "dedup_key": "k" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let resolved = app.state().store.oncall_incident(&inc.id).await.unwrap();
    assert_eq!(resolved.state.as_str(), "resolved");
    assert_eq!(resolved.resolved_by, None);
    let r = app
        .post_form(
            &format!("/oncall/{}/act", inc.id),
            &[
                ("csrf", &csrf),
                ("action", "note"),
                ("text", "postmortem: rotate logs"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let after = app.state().store.oncall_incident(&inc.id).await.unwrap();
    assert_eq!(
        after.resolved_by, None,
        "a note does not make its author the resolver"
    );
    assert_eq!(after.resolved_at, resolved.resolved_at);
    assert_eq!(after.state.as_str(), "resolved");
    app.stop().await;
}
on_both_backends!(a_note_after_resolution_keeps_who_resolved_it);

async fn dedup_keys_are_per_integration_key(backend: Backend) {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    let (sid, key1) = service_with_key(&app, &csrf, "Two keys").await;
    let r = app
        .post_form(
            &format!("/services/{sid}/keys"),
            &[("csrf", &csrf), ("kind", "pagerduty"), ("name", "Second")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let key2 = app
        .state()
        .store
        .keys(&sid)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.key != key1)
        .unwrap()
        .key;
    trigger(&app, &key1, "same", "From one").await;
    trigger(&app, &key2, "same", "From two").await;
    let inc = only_incident(&app).await;
    let alerts = app.state().store.incident_alerts(&inc.id).await.unwrap();
    assert_eq!(alerts.len(), 2, "one alert per key: {alerts:?}");
    // A resolve through the second key resolves only its own alert.
    let r = client()
        .post(app.url("/v2/enqueue"))
        .json(&json!({ "routing_key": key2, "event_action": "resolve", "dedup_key": "same" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let alerts = app.state().store.incident_alerts(&inc.id).await.unwrap();
    let states: Vec<&str> = alerts.iter().map(|a| a.state.as_str()).collect();
    assert_eq!(states, ["triggered", "resolved"]);
    assert_eq!(
        app.state()
            .store
            .oncall_incident(&inc.id)
            .await
            .unwrap()
            .state
            .as_str(),
        "triggered"
    );
    app.stop().await;
}
on_both_backends!(dedup_keys_are_per_integration_key);

async fn a_throttled_alertmanager_group_is_retried_not_dropped(backend: Backend) {
    let app = TestApp::start_with(backend, &[("FIRSTLINE_INGEST_RATE_PER_MIN", "1")]).await;
    let csrf = app.login_admin().await;
    let (sid, _) = service_with_key(&app, &csrf, "AM").await;
    let r = app
        .post_form(
            &format!("/services/{sid}/keys"),
            &[
                ("csrf", &csrf),
                ("kind", "alertmanager"),
                ("name", "Prometheus"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let key = app
        .state()
        .store
        .keys(&sid)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kind.as_str() == "alertmanager")
        .unwrap()
        .key;
    let body = json!({ "version": "4", "status": "firing", "truncatedAlerts": 0, "alerts": [
        { "status": "firing", "fingerprint": "f1", "labels": { "alertname": "A" }, "annotations": {},
          "startsAt": "2026-11-28T09:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "" }
    ]});
    let url = app.url(&format!("/hooks/alertmanager/{key}"));
    let r = client().post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 202);
    // Over the rate: 503 (Alertmanager retries 5xx and drops 4xx) with Retry-After.
    let r = client().post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some());
    // A stranger's body is never parsed: an unknown key is refused first.
    let r = client()
        .post(app.url("/hooks/alertmanager/nope"))
        .body("{ not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}
on_both_backends!(a_throttled_alertmanager_group_is_retried_not_dropped);

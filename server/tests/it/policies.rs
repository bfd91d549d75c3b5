//! Escalation policies and a service's paging settings through HTTP, on both backends: the
//! editor's buttons keep what was typed, errors name their field, the preview says who is on
//! call now, responders read but cannot edit, a policy in use cannot be deleted, service
//! settings and maintenance windows save and refuse bad values, and names are escaped.

use crate::common;

use app::domain::account::NewUserInput;
use app::domain::schedule::{Restriction, ShiftLength};
use app::domain::service::ServiceInput;
use common::{Backend, TestApp};
use firstline::store::{LayerDraft, StoreError};
use jiff::civil::Weekday;

const PASSWORD: &str = "a long enough password";

struct World {
    app: TestApp,
    csrf: String,
    /// "First line": Jonas Berg around the clock.
    first_line: String,
    /// "Gappy": Ben Ode on Mondays 09:00–10:00 only.
    gappy: String,
    /// "Volunteers": Maya Kim and Ben Ode.
    volunteers: String,
    /// "Empty": no members.
    empty: String,
    maya: String,
    service: String,
}

async fn person(app: &TestApp, email: &str, name: &str, role: &str) -> String {
    let user = NewUserInput {
        email: email.into(),
        name: name.into(),
        time_zone: "Europe/Berlin".into(),
        role: role.into(),
    }
    .normalize()
    .expect("valid user");
    let hash = app::ssr::auth::hash_password(PASSWORD).expect("hash");
    app.state()
        .store
        .create_user(&user, &hash, 1)
        .await
        .expect("create user")
        .id
}

async fn world(backend: Backend) -> World {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    let store = &app.state().store;
    let now = app.state().clock.now_ms();
    let jonas = person(&app, "jonas@example.org", "Jonas Berg", "responder").await;
    let maya = person(&app, "maya@example.org", "Maya Kim", "responder").await;
    let ben = person(&app, "ben@example.org", "Ben Ode", "responder").await;
    person(&app, "vic@example.org", "Vic Viewer", "viewer").await;
    let layer = |restrictions| LayerDraft {
        name: "Rotation".into(),
        time_zone: "Europe/Berlin".into(),
        start: "2026-01-05T09:00".parse().expect("date"),
        shift: ShiftLength::Weeks(1),
        restrictions,
    };
    let first_line = store
        .create_schedule("First line", None, "Europe/Berlin", now)
        .await
        .unwrap();
    store
        .create_layer(&first_line, &layer(vec![]), &[jonas], now)
        .await
        .unwrap();
    let gappy = store
        .create_schedule("Gappy", None, "Europe/Berlin", now)
        .await
        .unwrap();
    let monday = Restriction {
        days: vec![Weekday::Monday],
        start: "09:00".parse().unwrap(),
        end: "10:00".parse().unwrap(),
    };
    store
        .create_layer(
            &gappy,
            &layer(vec![monday]),
            std::slice::from_ref(&ben),
            now,
        )
        .await
        .unwrap();
    let volunteers = store.create_team("Volunteers", None, now).await.unwrap();
    store.add_team_member(&volunteers, &maya).await.unwrap();
    store.add_team_member(&volunteers, &ben).await.unwrap();
    let empty = store.create_team("Empty", None, now).await.unwrap();
    let service = store
        .create_service(
            &ServiceInput {
                name: "Sparse index".into(),
                ..Default::default()
            }
            .normalize()
            .unwrap(),
            now,
        )
        .await
        .unwrap()
        .id;
    World {
        app,
        csrf,
        first_line,
        gappy,
        volunteers,
        empty,
        maya,
        service,
    }
}

impl World {
    /// Posts `form` (plus the CSRF token) as the admin: (status, location, body).
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(form);
        let r = self.app.post_form(path, &all).await;
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, location, r.text().await.unwrap())
    }

    fn sched(&self, id: &str) -> String {
        format!("schedule:{id}")
    }
}

/// The checkbox of `value` in step `n`, and whether it is checked.
fn checked(html: &str, n: usize, value: &str) -> bool {
    let marker = format!(r#"name="s{n}_target" value="{value}""#);
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no checkbox {marker}"));
    let end = html[at..].find('>').unwrap() + at;
    html[at..end].contains("checked")
}

/// The text of the element with `id` (up to its closing tag).
fn text_of<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!(r#"id="{id}""#);
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no element {id}"));
    let start = html[at..].find('>').unwrap() + at + 1;
    let end = html[start..].find('<').unwrap() + start;
    &html[start..end]
}

async fn editor_creates_edits_and_deletes_a_policy(backend: Backend) {
    let w = world(backend).await;
    let first = w.sched(&w.first_line);
    let team = format!("team:{}", w.volunteers);
    let page = w.app.get_text("/policies/new").await;
    assert!(page.contains("New escalation policy"), "{page}");
    assert!(page.contains(&format!(r#"value="{first}""#)));

    // Add step: the typed name, target and delay stay; a second step appears.
    let (status, _, page) = w
        .post(
            "/policies",
            &[
                ("op", "add"),
                ("step_count", "1"),
                ("name", "Night pager"),
                ("description", "for nights"),
                ("repeats", "2"),
                ("s1_target", &first),
                ("s1_delay", "7"),
                ("s1_rr", "true"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"value="Night pager""#));
    assert!(page.contains(r#"value="for nights""#));
    assert!(page.contains(r#"name="s1_delay" value="7""#), "{page}");
    assert!(checked(&page, 1, &first));
    assert!(page.contains(r#"data-step="2""#));
    assert!(!checked(&page, 2, &first));
    assert!(page.contains(r#"name="step_count" value="2""#));

    // Remove step 1: step 2's typed data becomes step 1.
    let (status, _, page) = w
        .post(
            "/policies",
            &[
                ("op", "remove:1"),
                ("step_count", "2"),
                ("name", "Night pager"),
                ("repeats", "2"),
                ("s1_target", &first),
                ("s1_delay", "7"),
                ("s2_target", &team),
                ("s2_delay", "9"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"name="s1_delay" value="9""#), "{page}");
    assert!(checked(&page, 1, &team));
    assert!(!checked(&page, 1, &first));
    assert!(!page.contains(r#"data-step="2""#));

    // Save: created, and its page previews who is paged now.
    let (status, location, _) = w
        .post(
            "/policies",
            &[
                ("op", "save"),
                ("step_count", "2"),
                ("name", "Night pager"),
                ("repeats", "2"),
                ("s1_target", &first),
                ("s1_delay", "5"),
                ("s2_target", &team),
                ("s2_delay", "10"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let id = location
        .strip_prefix("/policies/")
        .and_then(|l| l.split('?').next())
        .expect("redirect to the policy")
        .to_string();
    let stored = w.app.state().store.policy(&id).await.unwrap();
    assert_eq!(stored.name, "Night pager");
    assert_eq!(stored.repeats, 2);
    assert_eq!(stored.steps.len(), 2);
    assert_eq!(stored.steps[1].delay_min, 10);
    let page = w.app.get_text(&location).await;
    assert!(
        page.contains("If an alert came in now: step 1 pages Jonas Berg (on call on First line); after 5 min, step 2 pages everyone in Volunteers (Ben Ode and Maya Kim)."),
        "{page}"
    );
    assert!(page.contains("it repeats 2 more times"));
    let list = w.app.get_text("/policies").await;
    assert!(list.contains("Night pager") && list.contains("2 steps, repeats twice"));

    // Edit: one step, round robin, renamed.
    let (status, location, _) = w
        .post(
            &format!("/policies/{id}"),
            &[
                ("op", "save"),
                ("step_count", "1"),
                ("name", "Day pager"),
                ("repeats", "0"),
                ("s1_target", &team),
                ("s1_delay", "15"),
                ("s1_rr", "true"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(location, format!("/policies/{id}?done=saved"));
    let stored = w.app.state().store.policy(&id).await.unwrap();
    assert_eq!(stored.name, "Day pager");
    assert_eq!(stored.steps.len(), 1);
    assert!(stored.steps[0].round_robin);
    assert_eq!(stored.steps[0].delay_min, 15);

    // Delete.
    let (status, location, _) = w.post(&format!("/policies/{id}/delete"), &[]).await;
    assert_eq!(status, 303);
    assert_eq!(location, "/policies?done=deleted");
    assert!(matches!(
        w.app.state().store.policy(&id).await,
        Err(StoreError::NotFound)
    ));
    w.app.stop().await;
}
on_both_backends!(editor_creates_edits_and_deletes_a_policy);

async fn errors_name_the_field_and_keep_what_was_typed(backend: Backend) {
    let w = world(backend).await;
    let first = w.sched(&w.first_line);
    let base = |name: &'static str| {
        vec![
            ("op", "save"),
            ("step_count", "1"),
            ("name", name),
            ("description", "kept description"),
            ("repeats", "1"),
        ]
    };
    // No name.
    let mut f = base("");
    f.extend([("s1_target", first.as_str()), ("s1_delay", "5")]);
    let (status, _, page) = w.post("/policies", &f).await;
    assert_eq!(status, 400);
    assert!(!text_of(&page, "p-name-error").is_empty(), "{page}");
    assert!(page.contains(r#"value="kept description""#));
    assert!(checked(&page, 1, &first));

    // A step paging nobody: said in the step, delay kept.
    let mut f = base("Pager");
    f.extend([("s1_delay", "6")]);
    let (status, _, page) = w.post("/policies", &f).await;
    assert_eq!(status, 400);
    assert_eq!(
        text_of(&page, "s1-targets-error"),
        "Step 1 pages nobody: choose a person, schedule or team."
    );
    assert!(page.contains(r#"name="s1_delay" value="6""#));

    // A delay that is not a number.
    let mut f = base("Pager");
    f.extend([("s1_target", first.as_str()), ("s1_delay", "soon")]);
    let (status, _, page) = w.post("/policies", &f).await;
    assert_eq!(status, 400);
    assert_eq!(
        text_of(&page, "s1-delay-error"),
        "Step 1: the wait must be a whole number of minutes."
    );
    assert!(page.contains(r#"name="s1_delay" value="soon""#));

    // Too many repeats.
    let mut f = base("Pager");
    f.retain(|(k, _)| *k != "repeats");
    f.extend([
        ("repeats", "12"),
        ("s1_target", first.as_str()),
        ("s1_delay", "5"),
    ]);
    let (status, _, page) = w.post("/policies", &f).await;
    assert_eq!(status, 400);
    assert_eq!(
        text_of(&page, "p-repeats-error"),
        "Repeats must be between 0 and 9."
    );
    assert!(page.contains(r#"name="repeats" value="12""#));

    // Unknown targets: a schedule that does not exist, and something that is not a target.
    let mut f = base("Pager");
    f.extend([("s1_target", "schedule:nope1"), ("s1_delay", "5")]);
    let (status, _, page) = w.post("/policies", &f).await;
    assert_eq!(status, 400);
    assert_eq!(
        text_of(&page, "s1-targets-error"),
        "Step 1: no schedule with id nope1."
    );
    let mut f = base("Pager");
    f.extend([("s1_target", "printer:x"), ("s1_delay", "5")]);
    let (status, _, page) = w.post("/policies", &f).await;
    assert_eq!(status, 400);
    assert!(text_of(&page, "s1-targets-error").contains("is not a person, schedule or team"));

    // A taken name.
    let mut f = base("Pager");
    f.extend([("s1_target", first.as_str()), ("s1_delay", "5")]);
    assert_eq!(w.post("/policies", &f).await.0, 303);
    let (status, _, page) = w.post("/policies", &f).await;
    assert_eq!(status, 409);
    assert_eq!(
        text_of(&page, "p-name-error"),
        "Another escalation policy has this name."
    );
    assert_eq!(w.app.state().store.policies().await.unwrap().len(), 1);
    w.app.stop().await;
}
on_both_backends!(errors_name_the_field_and_keep_what_was_typed);

async fn responders_read_policies_but_cannot_change_them(backend: Backend) {
    let w = world(backend).await;
    let first = w.sched(&w.first_line);
    let (status, location, _) = w
        .post(
            "/policies",
            &[
                ("op", "save"),
                ("step_count", "1"),
                ("name", "Pager"),
                ("s1_target", &first),
                ("s1_delay", "5"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let id = location
        .trim_start_matches("/policies/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let (maya, csrf) = w.app.login_client("maya@example.org", PASSWORD).await;
    let get = |path: String| {
        let c = maya.clone();
        let url = w.app.url(&path);
        async move { c.get(url).send().await.unwrap() }
    };
    let r = get("/policies".into()).await;
    assert_eq!(r.status(), 200);
    let r = get(format!("/policies/{id}")).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("step 1 pages Jonas Berg (on call on First line)"));
    assert!(page.contains("Only admins change escalation policies."));
    assert!(
        !page.contains(r#"name="s1_delay""#),
        "no editor for responders"
    );
    assert_eq!(get("/policies/new".into()).await.status(), 403);
    for path in [
        format!("/policies/{id}"),
        "/policies".to_string(),
        format!("/policies/{id}/delete"),
        format!("/services/{}/paging", w.service),
        format!("/services/{}/maintenance", w.service),
    ] {
        let r = maya
            .post(w.app.url(&path))
            .form(&[
                ("csrf", csrf.as_str()),
                ("op", "save"),
                ("step_count", "1"),
                ("name", "Hijacked"),
                ("s1_target", &first),
                ("s1_delay", "5"),
                ("mode", "now"),
                ("hours", "2"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    assert_eq!(w.app.state().store.policy(&id).await.unwrap().name, "Pager");
    // The service page shows the settings to read, not to change.
    let page = get(format!("/services/{}", w.service))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("No escalation policy: alerts open incidents but nobody is paged."));
    assert!(!page.contains(r#"name="ack_timeout_min""#));
    // Viewers get the usual refusal.
    let (vic, _) = w.app.login_client("vic@example.org", PASSWORD).await;
    let r = vic.get(w.app.url("/policies")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    // ... and are not offered the link from the service page they may read.
    assert!(
        page.contains(r#"href="/policies""#),
        "responders get the link"
    );
    let theirs = vic
        .get(w.app.url(&format!("/services/{}", w.service)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(theirs.contains("Paging"), "{theirs}");
    assert!(!theirs.contains(r#"href="/policies""#), "{theirs}");
    let _ = &w.maya;
    w.app.stop().await;
}
on_both_backends!(responders_read_policies_but_cannot_change_them);

async fn preview_names_who_is_on_call_and_warns(backend: Backend) {
    let w = world(backend).await;
    let first = w.sched(&w.first_line);
    let gappy = w.sched(&w.gappy);
    let team = format!("team:{}", w.volunteers);
    let empty = format!("team:{}", w.empty);
    let (status, _, page) = w
        .post(
            "/policies",
            &[
                ("op", "preview"),
                ("step_count", "3"),
                ("name", "Pager"),
                ("repeats", "0"),
                ("s1_target", &first),
                ("s1_delay", "5"),
                ("s2_target", &team),
                ("s2_target", &empty),
                ("s2_delay", "10"),
                ("s3_target", &gappy),
                ("s3_delay", "5"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("If an alert came in now: step 1 pages Jonas Berg (on call on First line); after 5 min, step 2 pages everyone in Volunteers (Ben Ode and Maya Kim) and nobody (team Empty has no active members); after 10 more min, step 3 pages"),
        "{page}"
    );
    assert!(page.contains("Step 2: team Empty has no active members."));
    assert!(
        page.contains("Step 3: Gappy has nobody on call from "),
        "{page}"
    );
    assert!(page.contains("times in your zone, Europe/Berlin"));
    // Previewing saves nothing, and the form is kept.
    assert!(w.app.state().store.policies().await.unwrap().is_empty());
    assert!(checked(&page, 2, &empty));

    // A policy with nobody on it at all says so.
    let (_, _, page) = w
        .post(
            "/policies",
            &[
                ("op", "preview"),
                ("step_count", "1"),
                ("name", "Pager"),
                ("s1_target", &empty),
                ("s1_delay", "5"),
            ],
        )
        .await;
    assert!(page.contains("Nobody is on this policy right now: an alert would page no one."));
    w.app.stop().await;
}
on_both_backends!(preview_names_who_is_on_call_and_warns);

async fn post_owned(
    w: &World,
    path: &str,
    v: Vec<(&'static str, String)>,
) -> (u16, String, String) {
    let form: Vec<(&str, &str)> = v.iter().map(|(k, x)| (*k, x.as_str())).collect();
    w.post(path, &form).await
}

/// Creates a two-step policy on First line; returns its id.
async fn pager(w: &World, name: &str) -> String {
    let first = w.sched(&w.first_line);
    let (status, location, body) = w
        .post(
            "/policies",
            &[
                ("op", "save"),
                ("step_count", "2"),
                ("name", name),
                ("s1_target", &first),
                ("s1_delay", "5"),
                ("s2_target", &format!("user:{}", w.maya)),
                ("s2_delay", "5"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    location
        .trim_start_matches("/policies/")
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

async fn service_settings_save_and_a_used_policy_stays(backend: Backend) {
    let w = world(backend).await;
    let id = pager(&w, "Pager").await;
    let svc = format!("/services/{}", w.service);
    let page = w.app.get_text(&svc).await;
    assert!(page.contains("No escalation policy: alerts open incidents but nobody is paged."));
    let paging = format!("/services/{}/paging", w.service);
    let good = |ack: &'static str, zone: &'static str, high: &'static str| {
        vec![
            ("policy_id", id.clone()),
            ("high_urgency_from", high.to_string()),
            ("low_mode", "hours".into()),
            ("hours_days", "monday".into()),
            ("hours_days", "friday".into()),
            ("hours_start", "08:00".into()),
            ("hours_end", "16:30".into()),
            ("hours_time_zone", zone.into()),
            ("ack_timeout_min", ack.into()),
            ("auto_resolve_min", "".into()),
        ]
    };
    let (status, location, body) =
        post_owned(&w, &paging, good("30", "Europe/Berlin", "critical")).await;
    assert_eq!(status, 303, "{body}");
    assert!(location.starts_with(&format!("{svc}?done=paging")));
    let s = w
        .app
        .state()
        .store
        .service_paging(&w.service)
        .await
        .unwrap();
    assert_eq!(s.policy_id.as_deref(), Some(id.as_str()));
    assert_eq!(s.high_urgency_from.as_str(), "critical");
    assert_eq!(s.ack_timeout_min, Some(30));
    assert_eq!(s.auto_resolve_min, None);
    let hours = s.low_urgency_hours.expect("working hours");
    assert_eq!(hours.time_zone, "Europe/Berlin");
    assert_eq!(hours.window.days, vec![Weekday::Monday, Weekday::Friday]);
    let page = w.app.get_text(&svc).await;
    assert!(
        page.contains("If this alerts now: Jonas Berg is paged, then Maya Kim after 5 min."),
        "{page}"
    );
    assert!(page.contains(r#"name="hours_start" type="time" value="08:00""#));

    // Bad values are refused, named next to their field, and what was typed stays.
    let (status, _, page) =
        post_owned(&w, &paging, good("soon", "Europe/Berlin", "critical")).await;
    assert_eq!(status, 400);
    assert_eq!(
        text_of(&page, "pg-ack-error"),
        "The acknowledgement timeout must be a whole number of minutes (or empty for never)."
    );
    assert!(page.contains(r#"value="soon""#));
    let (status, _, page) =
        post_owned(&w, &paging, good("999999", "Europe/Berlin", "critical")).await;
    assert_eq!(status, 400);
    assert!(text_of(&page, "pg-ack-error").contains("between 1 and"));
    let (status, _, page) = post_owned(&w, &paging, good("30", "Mars/Olympus", "critical")).await;
    assert_eq!(status, 400);
    assert_eq!(
        text_of(&page, "pg-zone-error"),
        r#"Unknown time zone "Mars/Olympus"."#
    );
    assert!(page.contains(r#"value="Mars/Olympus""#));
    let (status, _, page) = post_owned(&w, &paging, good("30", "Europe/Berlin", "loud")).await;
    assert_eq!(status, 400);
    assert!(text_of(&page, "pg-high-error").contains("Choose a severity"));
    let mut bad = good("30", "Europe/Berlin", "error");
    bad[0].1 = "nope1".into();
    let (status, _, page) = post_owned(&w, &paging, bad).await;
    assert_eq!(status, 400);
    assert_eq!(
        text_of(&page, "pg-policy-error"),
        "No such escalation policy."
    );
    // Nothing of the refused posts was stored.
    let s = w
        .app
        .state()
        .store
        .service_paging(&w.service)
        .await
        .unwrap();
    assert_eq!(s.ack_timeout_min, Some(30));

    // The policy is in use: deleting it is refused with a clear sentence.
    let (status, _, page) = w.post(&format!("/policies/{id}/delete"), &[]).await;
    assert_eq!(status, 409);
    assert_eq!(
        text_of(&page, "p-policy-error"),
        "1 service(s) use this policy; choose another policy for them first."
    );
    assert!(w.app.state().store.policy(&id).await.is_ok());
    w.app.stop().await;
}
on_both_backends!(service_settings_save_and_a_used_policy_stays);

async fn maintenance_now_and_end_now(backend: Backend) {
    let w = world(backend).await;
    let path = format!("/services/{}/maintenance", w.service);
    let (status, _, page) = w.post(&path, &[("mode", "now"), ("hours", "0")]).await;
    assert_eq!(status, 400);
    assert!(text_of(&page, "mw-hours-error").contains("whole number of hours"));
    let now = w.app.state().clock.now_ms();
    let (status, location, _) = w
        .post(
            &path,
            &[("mode", "now"), ("hours", "2"), ("reason", "Upgrading")],
        )
        .await;
    assert_eq!(status, 303);
    assert!(location.contains("done=maintenance"));
    let windows = w
        .app
        .state()
        .store
        .maintenance_windows(&w.service, now)
        .await
        .unwrap();
    assert_eq!(windows.len(), 1);
    let m = &windows[0];
    assert_eq!(m.ends_at - m.starts_at, 2 * 3_600_000);
    assert_eq!(m.reason, "Upgrading");
    let page = w.app.get_text(&format!("/services/{}", w.service)).await;
    assert!(page.contains("In maintenance: alerts are recorded, nobody is paged."));
    assert!(page.contains("End now"));

    // A scheduled window: the end before the start is refused, naming the end.
    let (status, _, page) = w
        .post(
            &path,
            &[
                ("mode", "window"),
                ("starts", "2099-01-02T10:00"),
                ("ends", "2099-01-02T09:00"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        text_of(&page, "mw-ends-error"),
        "The end must be after the start."
    );
    assert!(page.contains(r#"value="2099-01-02T10:00""#));
    let (status, _, _) = w
        .post(
            &path,
            &[
                ("mode", "window"),
                ("starts", "2099-01-02T10:00"),
                ("ends", "2099-01-02T12:00"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let page = w.app.get_text(&format!("/services/{}", w.service)).await;
    assert!(
        page.contains("From 2 Jan 2099, 10:00 CET to 2 Jan 2099, 12:00 CET"),
        "{page}"
    );

    // End now.
    let (status, _, _) = w.post(&format!("{path}/{}/end", m.id), &[]).await;
    assert_eq!(status, 303);
    let left = w
        .app
        .state()
        .store
        .maintenance_windows(&w.service, w.app.state().clock.now_ms() + 1)
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "only the scheduled window is left");
    assert!(left[0].starts_at > now);
    w.app.stop().await;
}
on_both_backends!(maintenance_now_and_end_now);

async fn markup_in_a_policy_name_is_shown_escaped(backend: Backend) {
    let w = world(backend).await;
    let id = pager(&w, "<script>alert(1)</script>").await;
    for path in ["/policies".to_string(), format!("/policies/{id}")] {
        let page = w.app.get_text(&path).await;
        assert!(!page.contains("<script>alert(1)"), "{path}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
    }
    w.app.stop().await;
}
on_both_backends!(markup_in_a_policy_name_is_shown_escaped);

async fn saving_is_audited_and_the_editor_buttons_are_not(backend: Backend) {
    let w = world(backend).await;
    let first = w.sched(&w.first_line);
    for op in ["add", "preview", "remove:1"] {
        let (status, _, _) = w
            .post(
                "/policies",
                &[
                    ("op", op),
                    ("step_count", "1"),
                    ("name", "Pager"),
                    ("s1_target", &first),
                    ("s1_delay", "5"),
                ],
            )
            .await;
        assert_eq!(status, 200, "{op}");
    }
    let id = pager(&w, "Pager").await;
    let (status, _, _) = w
        .post(
            &format!("/services/{}/paging", w.service),
            &[("policy_id", &id), ("high_urgency_from", "error")],
        )
        .await;
    assert_eq!(status, 303);
    let (status, _, _) = w
        .post(
            &format!("/services/{}/maintenance", w.service),
            &[("mode", "now"), ("hours", "1")],
        )
        .await;
    assert_eq!(status, 303);
    let mut rows = w
        .app
        .state()
        .store
        .audit_entries(&firstline::store::AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    rows.reverse();
    let seen: Vec<(String, String)> = rows
        .into_iter()
        .map(|r| (r.entry.kind, r.entry.action))
        .filter(|(k, _)| k != "session")
        .collect();
    let want = [
        ("policy", "create"),
        ("service", "set_paging"),
        ("service_maintenance", "create"),
    ]
    .map(|(k, a)| (k.to_string(), a.to_string()));
    assert_eq!(seen, want);
    w.app.stop().await;
}
on_both_backends!(saving_is_audited_and_the_editor_buttons_are_not);

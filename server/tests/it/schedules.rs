//! Schedules through HTTP: layers with preview and gap confirmation, calendars, overrides,
//! swap requests, the JSON API, and iCal feeds parsed by a standard iCal parser.

use crate::common;

use common::{Backend, TestApp};
use serde_json::Value;

struct Fixture {
    app: TestApp,
    csrf: String,
    schedule: String,
    users: Vec<(String, String)>, // (id, email)
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

/// An admin, four responders, and a schedule with one weekly layer of the four.
async fn fixture(backend: Backend) -> Fixture {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    let mut users = Vec::new();
    for name in ["jonas", "priya", "diego", "mei"] {
        let email = format!("{name}@example.org");
        app.create_user(&email, "responder password", "responder")
            .await;
        users.push((user_id(&app, &email).await, email));
    }
    let r = app
        .post_form(
            "/schedules",
            &[
                ("csrf", &csrf),
                ("name", "First line"),
                ("time_zone", "Europe/Berlin"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let schedule = loc
        .trim_start_matches("/schedules/")
        .trim_end_matches("/edit")
        .to_string();
    let mut form: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("intent", "save"),
        ("name", "Weekly"),
        ("time_zone", "Europe/Berlin"),
        ("start", "2026-01-05T09:00"),
        ("shift_count", "1"),
        ("shift_unit", "weeks"),
        ("effective", ""),
    ];
    for (id, _) in &users {
        form.push(("participant", id));
    }
    let r = app
        .post_form(&format!("/schedules/{schedule}/layers"), &form)
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = app
        .post_form(
            &format!("/schedules/{schedule}/publish"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    Fixture {
        app,
        csrf,
        schedule,
        users,
    }
}

async fn shifts(f: &Fixture, from: &str, to: &str) -> Value {
    let r = f
        .app
        .client
        .get(f.app.url(&format!(
            "/api/v1/schedules/{}/shifts?from={from}&to={to}",
            f.schedule
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn weekly_rotation_hands_off_monday_0900_berlin_across_dst(backend: Backend) {
    let f = fixture(backend).await;
    // 2026-03-29 is the spring-forward Sunday in Berlin: hand-offs stay at 09:00 local.
    let body = shifts(&f, "2026-03-16T00:00:00Z", "2026-04-13T00:00:00Z").await;
    let list = body["shifts"].as_array().unwrap();
    let starts: Vec<&str> = list.iter().map(|s| s["start"].as_str().unwrap()).collect();
    assert_eq!(
        starts,
        vec![
            "2026-03-16T00:00:00Z",
            "2026-03-16T08:00:00Z", // Mon 09:00 CET
            "2026-03-23T08:00:00Z", // Mon 09:00 CET
            "2026-03-30T07:00:00Z", // Mon 09:00 CEST
            "2026-04-06T07:00:00Z",
        ]
    );
    for w in list.windows(2) {
        assert_eq!(w[0]["end"], w[1]["start"], "shifts tile");
    }
    assert_eq!(list.last().unwrap()["end"], "2026-04-13T00:00:00Z");
    assert!(list.iter().all(|s| s["source"]["kind"] == "layer"));
    // Four people take turns.
    let names: Vec<&str> = list[1..]
        .iter()
        .map(|s| s["user"]["id"].as_str().unwrap())
        .collect();
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), 4);
    f.app.stop().await;
}
on_both_backends!(weekly_rotation_hands_off_monday_0900_berlin_across_dst);

async fn api_rejects_bad_windows_with_the_field_named(backend: Backend) {
    let f = fixture(backend).await;
    let cases = [
        ("from=2026-05-01T00:00:00Z&to=2026-04-01T00:00:00Z", "from"),
        ("from=2026-01-01T00:00:00Z&to=2027-06-01T00:00:00Z", "to"),
        ("to=2026-04-01T00:00:00Z", "from"),
        ("from=yesterday&to=2026-04-01T00:00:00Z", "from"),
    ];
    for (q, field) in cases {
        let r = f
            .app
            .client
            .get(
                f.app
                    .url(&format!("/api/v1/schedules/{}/shifts?{q}", f.schedule)),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{q}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["field"], field, "{q}: {body}");
    }
    let r =
        f.app
            .client
            .get(f.app.url(
                "/api/v1/schedules/nope/shifts?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z",
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 404);
    let anon = common::client()
        .get(f.app.url("/api/v1/oncall"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    let body: Value = anon.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("log in"));
    let r = f
        .app
        .client
        .get(f.app.url("/api/v1/oncall"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["oncall"][0]["schedule_name"], "First line");
    assert!(body["oncall"][0]["user"]["name"].is_string());
    assert!(body["oncall"][0]["until"].is_string());
    f.app.stop().await;
}
on_both_backends!(api_rejects_bad_windows_with_the_field_named);

async fn layer_changes_validate_preview_and_confirm_gaps(backend: Backend) {
    let f = fixture(backend).await;
    let schedule = f
        .app
        .state()
        .store
        .schedule_full(
            &f.schedule,
            jiff::Timestamp::now(),
            jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1),
        )
        .await
        .unwrap();
    let layer = schedule.schedule.layers[0].id.clone();
    let base = |extra: Vec<(&'static str, String)>| {
        let mut form: Vec<(&str, String)> = vec![
            ("csrf", f.csrf.clone()),
            ("name", "Weekly".into()),
            ("time_zone", "Europe/Berlin".into()),
            ("start", "2026-01-05T09:00".into()),
            ("shift_count", "1".into()),
            ("shift_unit", "weeks".into()),
        ];
        form.extend(extra);
        form
    };
    let post = |form: Vec<(&'static str, String)>| {
        let url = f
            .app
            .url(&format!("/schedules/{}/layers/{layer}", f.schedule));
        let client = f.app.client.clone();
        async move { client.post(url).form(&form).send().await.unwrap() }
    };
    let p = |i: usize| ("participant", f.users[i].0.clone());

    // Bad input is a plain sentence in the line under its field (no raw field name), and
    // stores nothing.
    for (extra, note) in [
        (
            vec![("time_zone", "Mars/Base".to_string()), p(0)],
            "tz-error",
        ),
        (vec![("shift_count", "0".to_string()), p(0)], "shift-error"),
        (vec![("shift_count", "-3".to_string()), p(0)], "shift-error"),
        (
            vec![("start", "next monday".to_string()), p(0)],
            "start-error",
        ),
        (vec![("restricted", "1".to_string()), p(0)], "days-error"),
    ] {
        let mut form = base(vec![]);
        form.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        form.extend(extra);
        form.push(("intent", "save".into()));
        let r = post(form).await;
        assert_eq!(r.status(), 400, "{note}");
        let page = r.text().await.unwrap();
        let marker = format!(r#"id="{layer}-{note}" role="alert" class="field-error">"#);
        let at = page
            .find(&marker)
            .unwrap_or_else(|| panic!("{note}: {page}"));
        let sentence = &page[at + marker.len()..];
        let sentence = &sentence[..sentence.find('<').unwrap()];
        let first = sentence.chars().next().unwrap_or(' ');
        assert!(
            (first.is_uppercase() || first == '“') && sentence.ends_with('.'),
            "{note}: {sentence}"
        );
        for raw in ["time_zone:", "shift_length:", "start:", "days:"] {
            assert!(!page.contains(raw), "{note}: {raw}");
        }
    }

    // A new layer needs at least one person.
    let r = f
        .app
        .post_form(
            &format!("/schedules/{}/layers", f.schedule),
            &[
                ("csrf", &f.csrf),
                ("intent", "save"),
                ("name", "Empty"),
                ("time_zone", "UTC"),
                ("start", "2026-01-05T09:00"),
                ("shift_count", "1"),
                ("shift_unit", "days"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains(
        r#"id="new-people-error" role="alert" class="field-error">Choose at least one person for the rotation."#
    ));

    // Restricting the only layer to business hours opens gaps: save is stopped (409) and says where.
    let mut restricted = base(vec![
        ("restricted", "1".into()),
        ("day", "0".into()),
        ("from", "09:00".into()),
        ("to", "17:00".into()),
        ("intent", "save".into()),
    ]);
    restricted.extend([p(0), p(1), p(2), p(3)]);
    let r = post(restricted.clone()).await;
    assert_eq!(r.status(), 409);
    let page = r.text().await.unwrap();
    assert!(page.contains("Not saved: this change leaves nobody on call"));
    assert!(page.contains("Save anyway"));
    let stored = f
        .app
        .state()
        .store
        .schedule_full(
            &f.schedule,
            jiff::Timestamp::now(),
            jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1),
        )
        .await
        .unwrap();
    assert!(
        stored.schedule.layers[0].restrictions.is_empty(),
        "nothing stored"
    );

    // Preview shows the same without saving.
    let mut preview = restricted.clone();
    preview.retain(|(k, _)| *k != "intent");
    preview.push(("intent", "preview".into()));
    let r = post(preview).await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("This change leaves nobody on call"));

    // Confirmed: stored.
    restricted.retain(|(k, _)| *k != "intent");
    restricted.push(("intent", "confirm".into()));
    let r = post(restricted).await;
    assert_eq!(r.status(), 303);
    let stored = f
        .app
        .state()
        .store
        .schedule_full(
            &f.schedule,
            jiff::Timestamp::now(),
            jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1),
        )
        .await
        .unwrap();
    assert_eq!(stored.schedule.layers[0].restrictions.len(), 1);
    // And the calendar now warns about the gap.
    let page = f.app.get_text(&format!("/schedules/{}", f.schedule)).await;
    assert!(page.contains("Coverage gap in First line"), "gap banner");
    let dash = f.app.get_text("/dashboard").await;
    assert!(
        dash.contains("Coverage gap in First line"),
        "gap banner on the dashboard"
    );
    f.app.stop().await;
}
on_both_backends!(layer_changes_validate_preview_and_confirm_gaps);

async fn calendars_render_and_reject_bad_queries(backend: Backend) {
    let f = fixture(backend).await;
    for view in ["week", "month", "agenda"] {
        let r = f
            .app
            .client
            .get(f.app.url(&format!(
                "/schedules/{}?view={view}&date=2026-03-29",
                f.schedule
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{view}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("Times in Europe/Berlin"),
            "{view} names the zone"
        );
        assert!(html.contains("Test User"), "{view} shows people");
    }
    let phone = f
        .app
        .client
        .get(f.app.url(&format!("/schedules/{}", f.schedule)))
        .header(
            "user-agent",
            "Mozilla/5.0 (Linux; Android 14; Pixel 7) Mobile Safari",
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        phone.contains("class=\"agenda\""),
        "agenda is the default on a phone"
    );
    for (q, field) in [("view=year", "view"), ("date=tomorrow", "date")] {
        let r = f
            .app
            .client
            .get(f.app.url(&format!("/schedules/{}?{q}", f.schedule)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{q}");
        assert!(r.text().await.unwrap().contains(&format!("{field}:")));
    }
    f.app.stop().await;
}
on_both_backends!(calendars_render_and_reject_bad_queries);

async fn oncall_user(f: &Fixture, at: &str) -> String {
    let to = jiff::Timestamp::from_second(at.parse::<jiff::Timestamp>().unwrap().as_second() + 1)
        .unwrap();
    let body = shifts(f, at, &to.to_string()).await;
    body["shifts"][0]["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn overrides_and_swaps_change_who_is_on_call(backend: Backend) {
    let f = fixture(backend).await;
    let now = jiff::Timestamp::now();
    // A shift next week, on a Wednesday at noon UTC: far from the Monday 09:00 hand-off, so the
    // four hours asked about below are one person's whatever the day and hour the test runs.
    let mut day = (now + jiff::SignedDuration::from_hours(24 * 7))
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    while day.weekday() != jiff::civil::Weekday::Wednesday {
        day = day.tomorrow().unwrap();
    }
    let at = day
        .at(12, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    let owner = oncall_user(&f, &at.to_string()).await;
    let (owner_email, other) = {
        let e = f
            .users
            .iter()
            .find(|(id, _)| *id == owner)
            .unwrap()
            .1
            .clone();
        let o = f.users.iter().find(|(id, _)| *id != owner).unwrap().clone();
        (e, o)
    };
    let start = at.as_millisecond().to_string();
    let end = (at + jiff::SignedDuration::from_hours(4))
        .as_millisecond()
        .to_string();

    // The owner asks someone to take 4 hours of it.
    let owner_app = common::client();
    let r = owner_app
        .post(f.app.url("/login"))
        .form(&[
            ("email", owner_email.as_str()),
            ("password", "responder password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = owner_app
        .get(f.app.url(&format!(
            "/schedules/{}/shift?start={start}&end={end}&user={owner}",
            f.schedule
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Ask someone to take this"));
    let owner_csrf = common::csrf_of(&page);
    let r = owner_app
        .post(f.app.url(&format!("/schedules/{}/swaps", f.schedule)))
        .form(&[
            ("csrf", owner_csrf.as_str()),
            ("start", &start),
            ("end", &end),
            ("note", "wedding"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let swaps = f
        .app
        .state()
        .store
        .list_swaps(Some(&f.schedule), true)
        .await
        .unwrap();
    assert_eq!(swaps.len(), 1);
    let swap = swaps[0].request.id.clone();
    // Someone who is not on call then cannot give that time away.
    let r = f
        .app
        .post_form(
            &format!("/schedules/{}/swaps", f.schedule),
            &[("csrf", &f.csrf), ("start", &start), ("end", &end)],
        )
        .await;
    assert_eq!(r.status(), 400);

    // Another responder accepts from their phone; it becomes an override.
    let taker = common::client();
    taker
        .post(f.app.url("/login"))
        .form(&[
            ("email", other.1.as_str()),
            ("password", "responder password"),
        ])
        .send()
        .await
        .unwrap();
    let page = taker
        .get(f.app.url(&format!("/schedules/{}/swaps", f.schedule)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Accept, I&#x27;ll take it") || page.contains("Accept, I'll take it"),
        "{page}"
    );
    let taker_csrf = common::csrf_of(&page);
    let r = taker
        .post(
            f.app
                .url(&format!("/schedules/{}/swaps/{swap}/accept", f.schedule)),
        )
        .form(&[("csrf", taker_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        oncall_user(&f, &at.to_string()).await,
        other.0,
        "the taker is on call now"
    );
    let body = shifts(
        &f,
        &at.to_string(),
        &(at + jiff::SignedDuration::from_hours(4)).to_string(),
    )
    .await;
    assert_eq!(body["shifts"][0]["source"]["kind"], "override");
    assert_eq!(
        body["shifts"][0]["source"]["override_id"],
        format!("swap-{swap}")
    );
    // Answering again is a conflict; both were told.
    let r = taker
        .post(
            f.app
                .url(&format!("/schedules/{}/swaps/{swap}/decline", f.schedule)),
        )
        .form(&[("csrf", taker_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "declining an accepted request");
    let owner_notices = f.app.state().store.notices(&owner, 10).await.unwrap();
    assert!(
        owner_notices
            .iter()
            .any(|n| n.message.contains("took your shift")),
        "{owner_notices:?}"
    );
    let taker_notices = f.app.state().store.notices(&other.0, 10).await.unwrap();
    assert!(taker_notices.iter().any(|n| n.message.contains("You took")));

    // An admin covers a whole day for whoever is on call.
    let day = (now + jiff::SignedDuration::from_hours(24 * 15))
        .round(jiff::Unit::Hour)
        .unwrap();
    let on_call_then = oncall_user(&f, &day.to_string()).await;
    let cover = f
        .users
        .iter()
        .find(|(id, _)| *id != on_call_then)
        .unwrap()
        .0
        .clone();
    let r = f
        .app
        .post_form(
            &format!("/schedules/{}/overrides", f.schedule),
            &[
                ("csrf", &f.csrf),
                ("start", &day.as_millisecond().to_string()),
                (
                    "end",
                    &(day + jiff::SignedDuration::from_hours(24))
                        .as_millisecond()
                        .to_string(),
                ),
                ("user", &cover),
                ("replaces", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        oncall_user(
            &f,
            &(day + jiff::SignedDuration::from_hours(12)).to_string()
        )
        .await,
        cover
    );
    // Covering yourself is refused with a sentence on the shift page (no raw field name).
    let r = f
        .app
        .post_form(
            &format!("/schedules/{}/overrides", f.schedule),
            &[
                ("csrf", &f.csrf),
                ("start", &day.as_millisecond().to_string()),
                (
                    "end",
                    &(day + jiff::SignedDuration::from_hours(2))
                        .as_millisecond()
                        .to_string(),
                ),
                ("user", &cover),
                ("replaces", &cover),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("An override cannot replace the same person."),
        "{page}"
    );
    assert!(!page.contains("user:"));
    // An override that ends before it starts is refused with the field named.
    let r = f
        .app
        .post_form(
            &format!("/schedules/{}/overrides", f.schedule),
            &[
                ("csrf", &f.csrf),
                ("start", &day.as_millisecond().to_string()),
                ("end", &day.as_millisecond().to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    f.app.stop().await;
}
on_both_backends!(overrides_and_swaps_change_who_is_on_call);

async fn ical_feeds_parse_with_a_standard_parser_and_can_be_revoked(backend: Backend) {
    let f = fixture(backend).await;
    let info = f
        .app
        .state()
        .store
        .schedule_info(&f.schedule)
        .await
        .unwrap();
    let url = f
        .app
        .url(&format!("/ical/schedule/{}.ics", info.ical_token));
    let fetch = |u: String| async move { reqwest::get(u).await.unwrap() };
    let r = fetch(url.clone()).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let body = r.text().await.unwrap();
    let parse = |text: &str| {
        let mut reader = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
        reader
            .next()
            .expect("one calendar")
            .expect("valid iCalendar")
    };
    let cal = parse(&body);
    assert!(
        cal.events.len() >= 25,
        "about 30 weekly shifts: {}",
        cal.events.len()
    );
    let prop = |e: &ical::parser::ical::component::IcalEvent, name: &str| {
        e.properties
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
            .unwrap_or_default()
    };
    for e in &cal.events {
        assert!(prop(e, "SUMMARY").starts_with("On call: Test User (First line)"));
        assert!(prop(e, "DTSTART").ends_with('Z'));
        assert!(!prop(e, "UID").is_empty());
    }
    // Stable UIDs: the same shifts give the same UIDs on the next fetch.
    let uids = |c: &ical::parser::ical::component::IcalCalendar| {
        c.events.iter().map(|e| prop(e, "UID")).collect::<Vec<_>>()
    };
    let again = parse(&fetch(url.clone()).await.text().await.unwrap());
    let a = uids(&cal);
    let b = uids(&again);
    let common_uids = a.iter().filter(|u| b.contains(u)).count();
    assert!(common_uids + 1 >= a.len(), "UIDs are stable");

    // A person's feed has only their shifts.
    let jonas = &f.users[0].0;
    let token = f.app.state().store.user_ical_token(jonas).await.unwrap();
    let mine = parse(
        &fetch(f.app.url(&format!("/ical/user/{token}.ics")))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(!mine.events.is_empty());
    assert!(mine.events.len() < cal.events.len());

    // Revoking: the old URL stops working.
    f.app
        .state()
        .store
        .rotate_schedule_ical_token(&f.schedule)
        .await
        .unwrap();
    assert_eq!(fetch(url).await.status(), 404);
    assert_eq!(fetch(f.app.url("/ical/user/nope.ics")).await.status(), 404);
    f.app.stop().await;
}
on_both_backends!(ical_feeds_parse_with_a_standard_parser_and_can_be_revoked);

#[tokio::test]
async fn schedule_flow_on_postgres() {
    let f = fixture(Backend::Postgres).await;
    let body = shifts(&f, "2026-10-19T00:00:00Z", "2026-11-02T00:00:00Z").await;
    let starts: Vec<&str> = body["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap())
        .collect();
    // 2026-10-25: Berlin falls back; Monday 09:00 is 07:00Z before and 08:00Z after.
    assert_eq!(
        starts,
        vec![
            "2026-10-19T00:00:00Z",
            "2026-10-19T07:00:00Z",
            "2026-10-26T08:00:00Z"
        ]
    );
    f.app.stop().await;
}

//! On call as a newcomer meets it: notices in each recipient's own zone, draft schedules until
//! published, people added, removed and moved in the layer form without saving, zone errors as
//! plain sentences next to the field with everything typed kept, My shifts as merged stretches
//! with a confirmation step before asking, one open request per time, and the dashboard's
//! "you", open requests and "no gaps".

use app::domain::escalation::{PolicyInput, Step, Target, TargetKind};

use crate::common::{Backend, TestApp};

const PW: &str = "a long test password";

/// 2027-06-01 13:00 to 21:00 UTC: 15:00-23:00 in Zurich (CEST), 09:00-17:00 in New York (EDT).
const ASK_START: &str = "2027-06-01T13:00:00Z";
const ASK_END: &str = "2027-06-01T21:00:00Z";

fn ms(s: &str) -> String {
    s.parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond()
        .to_string()
}

struct Fx {
    app: TestApp,
    csrf: String,
    schedule: String,
    maya: String,
    leah: String,
}

async fn id_of(app: &TestApp, email: &str) -> String {
    app.state()
        .store
        .user_by_email(email)
        .await
        .unwrap()
        .unwrap()
        .id
}

fn new_schedule_id(r: &reqwest::Response) -> String {
    r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/schedules/")
        .trim_end_matches("/edit")
        .to_string()
}

fn layer(csrf: &str, intent: &str, name: &str, people: &[&str]) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = [
        ("csrf", csrf),
        ("intent", intent),
        ("name", name),
        ("time_zone", "Europe/Zurich"),
        ("start", "2026-01-05T09:00"),
        ("shift_count", "1"),
        ("shift_unit", "days"),
        ("effective", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for p in people {
        f.push(("participant".into(), p.to_string()));
    }
    f
}

async fn post(app: &TestApp, path: &str, form: &[(String, String)]) -> reqwest::Response {
    let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.post_form(path, &f).await
}

/// Maya (Zurich) is on call every day (one-day shifts, so each day is its own piece); Leah
/// (New York) is in the rotation's planned roster... simply: both are members, Maya first with
/// 520-week shifts would hide the merge, so Maya alone has daily shifts and Leah is a member
/// through a second, empty-hours layer.
async fn fixture(backend: Backend) -> Fx {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    for who in ["maya", "leah"] {
        app.create_user(&format!("{who}@example.org"), PW, "responder")
            .await;
    }
    let maya = id_of(&app, "maya@example.org").await;
    let leah = id_of(&app, "leah@example.org").await;
    let store = &app.state().store;
    store
        .set_user_time_zone(&maya, "Europe/Zurich")
        .await
        .unwrap();
    store
        .set_user_time_zone(&leah, "America/New_York")
        .await
        .unwrap();
    let r = app
        .post_form(
            "/schedules",
            &[
                ("csrf", &csrf),
                ("name", "First line"),
                ("time_zone", "Europe/Zurich"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let schedule = new_schedule_id(&r);
    // Layer 1: Maya every day. Layer 2 (below it in effect: a higher layer wins, so it is
    // added first): Leah, restricted to hours that never come (Sunday 00:00-00:01), so she is
    // a member who can take Maya's requests without being on call herself.
    let mut low = layer(&csrf, "save", "Backup", &[&leah]);
    low.extend(
        [
            ("restricted", "1"),
            ("day", "6"),
            ("from", "00:00"),
            ("to", "00:01"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let r = post(&app, &format!("/schedules/{schedule}/layers"), &low).await;
    // The backup layer alone leaves gaps: saved anyway.
    assert_eq!(r.status(), 409);
    low.retain(|(k, _)| k != "intent");
    low.push(("intent".into(), "confirm".into()));
    let r = post(&app, &format!("/schedules/{schedule}/layers"), &low).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = post(
        &app,
        &format!("/schedules/{schedule}/layers"),
        &layer(&csrf, "save", "Daily", &[&maya]),
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let r = app
        .post_form(
            &format!("/schedules/{schedule}/publish"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    Fx {
        app,
        csrf,
        schedule,
        maya,
        leah,
    }
}

async fn get(c: &reqwest::Client, app: &TestApp, path: &str) -> String {
    c.get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Leah, in New York, is asked to take Maya's 15:00-23:00 Zurich time: she reads 09:00-17:00
/// New York time, the zone named; Maya reads her own Zurich hours when Leah takes it.
async fn notices_speak_the_recipients_zone(backend: Backend) {
    let f = fixture(backend).await;
    let (maya, maya_csrf) = f.app.login_client("maya@example.org", PW).await;
    let (leah, leah_csrf) = f.app.login_client("leah@example.org", PW).await;
    let r = maya
        .post(f.app.url(&format!("/schedules/{}/swaps", f.schedule)))
        .form(&[
            ("csrf", maya_csrf.as_str()),
            ("start", &ms(ASK_START)),
            ("end", &ms(ASK_END)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let store = &f.app.state().store;
    let asked = &store.notices(&f.leah, 5).await.unwrap()[0].message;
    assert!(
        asked.contains("09:00 EDT (America/New_York) to Tue 1 Jun, 17:00 EDT (America/New_York)"),
        "{asked}"
    );
    assert!(!asked.contains("15:00"), "{asked}");
    // Her dashboard lists it in her zone.
    let dash = get(&leah, &f.app, "/dashboard").await;
    assert!(dash.contains("Tue 1 Jun, 09:00 EDT"), "{dash}");
    let swap = store.list_swaps(None, true).await.unwrap()[0]
        .request
        .id
        .clone();
    let r = leah
        .post(
            f.app
                .url(&format!("/schedules/{}/swaps/{swap}/accept", f.schedule)),
        )
        .form(&[("csrf", leah_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let taken = &store.notices(&f.maya, 5).await.unwrap()[0].message;
    assert!(taken.contains("15:00 CEST (Europe/Zurich)"), "{taken}");
    let mine = &store.notices(&f.leah, 5).await.unwrap()[0].message;
    assert!(mine.contains("09:00 EDT (America/New_York)"), "{mine}");
    // The admin covers a later day of Maya's with Leah: each reads their own hours.
    let r = f
        .app
        .post_form(
            &format!("/schedules/{}/overrides", f.schedule),
            &[
                ("csrf", &f.csrf),
                ("start", &ms("2027-06-08T13:00:00Z")),
                ("end", &ms("2027-06-08T21:00:00Z")),
                ("user", &f.leah),
                ("replaces", &f.maya),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let covered = &store.notices(&f.maya, 5).await.unwrap()[0].message;
    assert!(covered.contains("15:00 CEST (Europe/Zurich)"), "{covered}");
    let covering = &store.notices(&f.leah, 5).await.unwrap()[0].message;
    assert!(
        covering.contains("09:00 EDT (America/New_York)"),
        "{covering}"
    );
    f.app.stop().await;
}
on_both_backends!(notices_speak_the_recipients_zone);

/// A new schedule is a draft: admins see it marked, others not at all (no red gap on their
/// dashboard), it cannot be paged or published without a layer; published, everyone sees it.
async fn a_new_schedule_is_a_draft_until_published(backend: Backend) {
    let app = TestApp::start(backend).await;
    let csrf = app.login_admin().await;
    app.create_user("maya@example.org", PW, "responder").await;
    let maya_id = id_of(&app, "maya@example.org").await;
    let (maya, maya_csrf) = app.login_client("maya@example.org", PW).await;
    let r = app
        .post_form(
            "/schedules",
            &[
                ("csrf", &csrf),
                ("name", "Night line"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let id = new_schedule_id(&r);
    let admin_dash = app.get_text("/dashboard").await;
    assert!(admin_dash.contains("Night line") && admin_dash.contains(">Draft<"));
    assert!(
        !admin_dash.contains("Nobody is on call right now"),
        "{admin_dash}"
    );
    for path in ["/dashboard", "/schedules"] {
        let page = get(&maya, &app, path).await;
        assert!(!page.contains("Night line"), "{path}: {page}");
        assert!(!page.contains("Coverage gap"), "{path}");
    }
    let r = maya
        .get(app.url(&format!("/schedules/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Nor its requests page, its shifts through the API, or a cover on it (she is in its
    // rotation once a layer is saved, below).
    for path in [
        format!("/schedules/{id}/swaps"),
        format!("/api/v1/schedules/{id}/shifts?from=2026-06-01T00:00:00Z&to=2026-06-02T00:00:00Z"),
    ] {
        let r = maya.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    // Nor can anyone be asked to take a draft's shifts.
    let r = maya
        .post(app.url(&format!("/schedules/{id}/swaps")))
        .form(&[
            ("csrf", maya_csrf.as_str()),
            ("start", &ms(ASK_START)),
            ("end", &ms(ASK_END)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let store = &app.state().store;
    let policy = |name: &str| PolicyInput {
        name: name.into(),
        description: String::new(),
        repeats: 0,
        steps: vec![Step {
            targets: vec![Target {
                kind: TargetKind::Schedule,
                id: id.clone(),
            }],
            delay_min: 5,
            round_robin: false,
        }],
    };
    let refused = store.create_policy(&policy("Nights"), 1).await.unwrap_err();
    assert!(refused.to_string().contains("draft"), "{refused}");
    // Nothing to publish yet.
    let r = app
        .post_form(&format!("/schedules/{id}/publish"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("Add a layer"));
    let r = post(
        &app,
        &format!("/schedules/{id}/layers"),
        &layer(&csrf, "save", "Daily", &[&maya_id]),
    )
    .await;
    assert_eq!(r.status(), 303);
    let edit = app.get_text(&format!("/schedules/{id}/edit")).await;
    assert!(edit.contains("Publish schedule"));
    // In its rotation now, she still cannot cover on the draft or see it on her profile.
    let r = maya
        .post(app.url(&format!("/schedules/{id}/overrides")))
        .form(&[
            ("csrf", maya_csrf.as_str()),
            ("start", &ms(ASK_START)),
            ("end", &ms(ASK_END)),
            ("user", ""),
            ("replaces", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(!get(&maya, &app, "/profile").await.contains("Night line"));
    // Publishing needs the admin and the form's token.
    let r = maya
        .post(app.url(&format!("/schedules/{id}/publish")))
        .form(&[("csrf", maya_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.status() == 403, "{}", r.status());
    let r = app
        .post_form(&format!("/schedules/{id}/publish"), &[("csrf", "wrong")])
        .await;
    assert_eq!(r.status(), 403);
    assert!(store.schedule_info(&id).await.unwrap().draft);
    let r = app
        .post_form(&format!("/schedules/{id}/publish"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 303);
    assert!(!store.schedule_info(&id).await.unwrap().draft);
    let page = get(&maya, &app, "/dashboard").await;
    assert!(page.contains("Night line") && !page.contains(">Draft<"));
    store.create_policy(&policy("Nights"), 2).await.unwrap();
    app.stop().await;
}
on_both_backends!(a_new_schedule_is_a_draft_until_published);

fn selects(page: &str) -> usize {
    page.matches(r#"name="participant""#).count()
}

/// "Add person", "Move up", "Remove" re-render the form with everything typed kept and save
/// nothing; without JavaScript (plain form posts).
async fn layer_people_are_added_moved_and_removed_in_the_form(backend: Backend) {
    let f = fixture(backend).await;
    let path = format!("/schedules/{}/layers", f.schedule);
    let before = f
        .app
        .state()
        .store
        .schedule_info(&f.schedule)
        .await
        .unwrap();
    let layers = |app: &TestApp| {
        let s = f.schedule.clone();
        let store = app.state().store.clone();
        async move {
            let now = jiff::Timestamp::now();
            store
                .schedule_full(&s, now, now + jiff::SignedDuration::from_hours(1))
                .await
                .unwrap()
                .schedule
                .layers
                .len()
        }
    };
    assert_eq!(layers(&f.app).await, 2);
    let typed = "Weekend <b>crew</b>";
    let r = post(&f.app, &path, &layer(&f.csrf, "add", typed, &[&f.maya])).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let add_form = &page[page.find("Add a layer").unwrap()..];
    assert_eq!(selects(add_form), 2, "one chosen, one new slot");
    assert!(add_form.contains("Weekend &lt;b&gt;crew&lt;/b&gt;"));
    assert!(!add_form.contains("<b>crew"));
    let r = post(
        &f.app,
        &path,
        &layer(&f.csrf, "up-1", "Weekend", &[&f.maya, &f.leah]),
    )
    .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let add_form = &page[page.find("Add a layer").unwrap()..];
    let first = add_form.find(&format!(r#"value="{}" selected"#, f.leah));
    let second = add_form.find(&format!(r#"value="{}" selected"#, f.maya));
    assert!(first.is_some() && second.is_some(), "{add_form}");
    assert!(first < second, "Leah moved up before Maya");
    let r = post(
        &f.app,
        &path,
        &layer(&f.csrf, "remove-0", "Weekend", &[&f.maya, &f.leah]),
    )
    .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let add_form = &page[page.find("Add a layer").unwrap()..];
    assert_eq!(selects(add_form), 1);
    assert!(add_form.contains(&format!(r#"value="{}" selected"#, f.leah)));
    assert!(!add_form.contains(&format!(r#"value="{}" selected"#, f.maya)));
    // Nothing was saved by any of it, and the schedule is unchanged.
    assert_eq!(layers(&f.app).await, 2);
    assert_eq!(
        f.app
            .state()
            .store
            .schedule_info(&f.schedule)
            .await
            .unwrap(),
        before
    );
    // Without the token, nothing happens.
    let r = post(&f.app, &path, &layer("nope", "add", "Weekend", &[&f.maya])).await;
    assert_eq!(r.status(), 403);
    f.app.stop().await;
}
on_both_backends!(layer_people_are_added_moved_and_removed_in_the_form);

/// "Berlin" is not a zone: the sentence next to the field suggests Europe/Berlin, names no
/// raw field, and keeps everything typed; on the new schedule, layer and profile forms.
async fn zone_errors_are_sentences_next_to_the_field(backend: Backend) {
    let f = fixture(backend).await;
    let check = |page: &str, what: &str| {
        assert!(
            page.contains("“Berlin” is not a time zone name. Did you mean Europe/Berlin?"),
            "{what}: {page}"
        );
        assert!(!page.contains("time_zone:"), "{what}");
        assert!(!page.contains("unknown time zone"), "{what}");
        // The sentence sits under the zone field, tied to it.
        let field = page.find(r#"name="time_zone""#).unwrap();
        let note = page.find("is not a time zone name").unwrap();
        assert!(note > field, "{what}: the sentence follows the field");
        assert!(page.contains(r#"list="zones""#));
        assert!(
            page.contains(r#"value="Berlin""#),
            "{what}: typed zone kept"
        );
    };
    let r = f
        .app
        .post_form(
            "/schedules",
            &[
                ("csrf", &f.csrf),
                ("name", "Night <i>line</i>"),
                ("time_zone", "Berlin"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    check(&page, "new schedule");
    assert!(page.contains(r#"<datalist id="zones">"#));
    assert!(page.contains("Night &lt;i&gt;line&lt;/i&gt;"));
    let mut form = layer(&f.csrf, "save", "Weekend", &[&f.maya]);
    for (k, v) in form.iter_mut() {
        if k == "time_zone" {
            *v = "Berlin".into();
        }
    }
    let r = post(&f.app, &format!("/schedules/{}/layers", f.schedule), &form).await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    let add_form = &page[page.find("Add a layer").unwrap()..];
    check(add_form, "layer");
    assert!(page.contains(r#"<datalist id="zones">"#));
    assert!(add_form.contains(r#"value="Weekend""#));
    assert!(add_form.contains(&format!(r#"value="{}" selected"#, f.maya)));
    let r = f
        .app
        .post_form("/profile", &[("csrf", &f.csrf), ("time_zone", "Berlin")])
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    check(&page, "profile");
    assert!(page.contains(r#"<datalist id="zones">"#));
    // Oversize: refused with a bounded echo.
    let long = "x".repeat(5000);
    let r = f
        .app
        .post_form("/profile", &[("csrf", &f.csrf), ("time_zone", &long)])
        .await;
    assert_eq!(r.status(), 400);
    assert!(!r.text().await.unwrap().contains(&"x".repeat(65)));
    // The zone list offers the person's own zone first.
    let page = f.app.get_text("/schedules/new").await;
    let list = &page[page.find(r#"<datalist id="zones">"#).unwrap()..];
    assert!(
        list.starts_with(r#"<datalist id="zones"><option value="Europe/Berlin">"#),
        "{}",
        &list[..200]
    );
    f.app.stop().await;
}
on_both_backends!(zone_errors_are_sentences_next_to_the_field);

/// Daily pieces back to back are one card; "Ask someone to take this" asks only after a
/// confirmation step; an asked stretch says so; asking again is refused; Leah's "For you"
/// lists every request she could take, and the dashboard marks "you" and names the zone.
async fn my_shifts_merge_and_ask_with_confirmation(backend: Backend) {
    let f = fixture(backend).await;
    let (maya, maya_csrf) = f.app.login_client("maya@example.org", PW).await;
    let (leah, _) = f.app.login_client("leah@example.org", PW).await;
    let page = get(&maya, &f.app, "/my/shifts").await;
    assert_eq!(
        page.matches(r#"class="card my-shift""#).count(),
        1,
        "{page}"
    );
    assert!(page.contains("times in Europe/Zurich"));
    // The card's button posts to the confirmation step; nothing is asked yet.
    assert!(page.contains(&format!(r#"action="/schedules/{}/swaps/ask""#, f.schedule)));
    let swaps = |app: &TestApp| {
        let store = app.state().store.clone();
        async move { store.list_swaps(None, true).await.unwrap().len() }
    };
    let ask = |start: &str, end: &str, path: &'static str, csrf: String| {
        let (start, end) = (ms(start), ms(end));
        let c = maya.clone();
        let url = f.app.url(&format!("/schedules/{}/swaps{path}", f.schedule));
        async move {
            c.post(url)
                .form(&[("csrf", csrf.as_str()), ("start", &start), ("end", &end)])
                .send()
                .await
                .unwrap()
        }
    };
    let r = ask(ASK_START, ASK_END, "/ask", maya_csrf.clone()).await;
    assert_eq!(r.status(), 200);
    let confirm = r.text().await.unwrap();
    assert!(confirm.contains("Yes, ask my teammates"));
    assert!(confirm.contains("Tue 1 Jun, 15:00 CEST"), "{confirm}");
    assert_eq!(swaps(&f.app).await, 0);
    let r = ask(ASK_START, ASK_END, "/ask", "forged".into()).await;
    assert_eq!(r.status(), 403);
    // Confirmed.
    let r = ask(ASK_START, ASK_END, "", maya_csrf.clone()).await;
    assert_eq!(r.status(), 303);
    // Again: refused, not a second round of notices; the confirmation page again, with the
    // sentence under the note and the note kept (escaped).
    let note = "<script>alert(1)</script> again";
    let r = maya
        .post(f.app.url(&format!("/schedules/{}/swaps", f.schedule)))
        .form(&[
            ("csrf", maya_csrf.as_str()),
            ("start", &ms(ASK_START)),
            ("end", &ms(ASK_END)),
            ("note", note),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="ask-error" role="alert" class="field-error">You already asked your teammates to take this time"#), "{page}");
    assert!(
        page.contains(r#"value="&lt;script&gt;alert(1)&lt;/script&gt; again""#),
        "{page}"
    );
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("start:"));
    assert_eq!(swaps(&f.app).await, 1);
    // A note too long: a sentence by the field, nothing asked.
    let long = "n".repeat(301);
    let r = maya
        .post(f.app.url(&format!("/schedules/{}/swaps", f.schedule)))
        .form(&[
            ("csrf", maya_csrf.as_str()),
            ("start", &ms("2027-06-05T13:00:00Z")),
            ("end", &ms("2027-06-05T21:00:00Z")),
            ("note", &long),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("The note must be at most 300 characters."),
        "{page}"
    );
    assert_eq!(swaps(&f.app).await, 1);
    // A second, separate request: six quick submits at once ask once, the others refused.
    let asks: Vec<_> = (0..6)
        .map(|_| {
            ask(
                "2027-06-03T13:00:00Z",
                "2027-06-03T21:00:00Z",
                "",
                maya_csrf.clone(),
            )
        })
        .collect();
    let mut codes: Vec<u16> = futures::future::join_all(asks)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    codes.sort_unstable();
    assert_eq!(codes, vec![303, 409, 409, 409, 409, 409]);
    assert_eq!(swaps(&f.app).await, 2);
    // Far ahead, My shifts lists the next 8 weeks only; the requests are in 2027 so the card
    // does not show them: check the dashboard instead.
    let dash = get(&leah, &f.app, "/dashboard").await;
    let takeable = &dash[dash
        .find("Shifts you could take")
        .expect("For you lists requests")..];
    assert_eq!(takeable.matches("data-swap=").count(), 2, "{takeable}");
    assert!(dash.contains("Times in America/New_York"));
    let mine = get(&maya, &f.app, "/dashboard").await;
    assert!(mine.contains("Your open requests"));
    assert_eq!(mine.matches("You asked someone to take").count(), 2);
    assert!(
        mine.contains(r#"<span class="you-tag">you</span>"#),
        "{mine}"
    );
    assert!(mine.contains("No gaps in the next 4 weeks"));
    assert!(mine.contains("Times in Europe/Zurich"));
    f.app.stop().await;
}
on_both_backends!(my_shifts_merge_and_ask_with_confirmation);

/// A stretch with an open request says so on My shifts instead of offering to ask again.
async fn an_asked_stretch_says_so(backend: Backend) {
    let f = fixture(backend).await;
    let (maya, maya_csrf) = f.app.login_client("maya@example.org", PW).await;
    let now = jiff::Timestamp::now();
    let hour = |h: i64| {
        (now + jiff::SignedDuration::from_hours(h))
            .round(jiff::Unit::Hour)
            .unwrap()
            .as_millisecond()
            .to_string()
    };
    let ask = |from: i64, to: i64| {
        let (start, end) = (hour(from), hour(to));
        let (c, csrf) = (maya.clone(), maya_csrf.clone());
        let url = f.app.url(&format!("/schedules/{}/swaps", f.schedule));
        async move {
            c.post(url)
                .form(&[("csrf", csrf.as_str()), ("start", &start), ("end", &end)])
                .send()
                .await
                .unwrap()
        }
    };
    let r = ask(48, 56).await;
    assert_eq!(r.status(), 303);
    let page = get(&maya, &f.app, "/my/shifts").await;
    assert!(page.contains("You asked your teammates to take"), "{page}");
    assert!(!page.contains("Ask someone to take this"));
    // Maya is on call throughout: the parts before and after the request can still be asked
    // about, each with its own button.
    assert_eq!(page.matches("Ask someone to take ").count(), 2, "{page}");
    assert!(
        page.contains(&format!(r#"name="end" value="{}""#, hour(48))),
        "{page}"
    );
    assert!(
        page.contains(&format!(r#"name="start" value="{}""#, hour(56))),
        "{page}"
    );
    let r = ask(56, 60).await;
    assert_eq!(
        r.status(),
        303,
        "the part after the request is asked on its own"
    );
    let page = get(&maya, &f.app, "/my/shifts").await;
    assert_eq!(
        page.matches("You asked your teammates to take").count(),
        2,
        "{page}"
    );
    assert!(
        page.contains(&format!(r#"name="start" value="{}""#, hour(60))),
        "{page}"
    );
    f.app.stop().await;
}
on_both_backends!(an_asked_stretch_says_so);

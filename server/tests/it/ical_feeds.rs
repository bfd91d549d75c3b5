//! iCal feeds with hostile names: one calendar, the exact events, names that round-trip, and
//! UIDs that stay the same across fetches and moving windows.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::common::{Backend, TestApp};

/// Reverses RFC 5545 TEXT escaping (the `ical` parser hands values over as written).
fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') | Some('N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn parse_all(text: &str) -> Vec<ical::parser::ical::component::IcalCalendar> {
    ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()))
        .map(|c| c.expect("valid iCalendar"))
        .collect()
}

fn prop(props: &[ical::property::Property], name: &str) -> String {
    let found: Vec<&str> = props
        .iter()
        .filter(|p| p.name == name)
        .filter_map(|p| p.value.as_deref())
        .collect();
    assert_eq!(found.len(), 1, "exactly one {name}: {found:?}");
    found[0].to_string()
}

/// A `YYYYMMDDTHHMMSSZ` time.
fn ics_time(v: &str) -> Timestamp {
    jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", v.trim_end_matches('Z'))
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
}

/// What a name looks like after the feed: every line break is a newline.
fn shown(name: &str) -> String {
    name.replace("\r\n", "\n").replace('\r', "\n")
}

const SCHEDULE: &str = "Ops, nights; \\ \r\nEND:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:injected";
const PERSON: &str = "Eve\rEND:VEVENT\rBEGIN:VEVENT\rUID:x";

#[tokio::test]
async fn feeds_escape_names_and_keep_uids_stable() {
    let app = TestApp::start(Backend::Sqlite).await;
    let csrf = app.login_admin().await;
    let store = &app.state().store;
    let eve = app::domain::account::NewUser {
        email: "eve@example.org".into(),
        name: PERSON.into(),
        time_zone: "Europe/Berlin".into(),
        role: app::domain::account::Role::Responder,
    };
    let hash = app::ssr::auth::hash_password("responder password").unwrap();
    store.create_user(&eve, &hash, 1).await.unwrap();
    let eve_id = store
        .user_by_email("eve@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    let admin_id = store
        .user_by_email(crate::common::ADMIN_EMAIL)
        .await
        .unwrap()
        .unwrap()
        .id;
    let schedule = store
        .create_schedule(SCHEDULE, None, "Europe/Berlin", 1)
        .await
        .unwrap();
    // Weekly hand-offs, Monday 09:00 Berlin, between Eve and the admin.
    let r = app
        .post_form(
            &format!("/schedules/{schedule}/layers"),
            &[
                ("csrf", csrf.as_str()),
                ("intent", "save"),
                ("name", "Weekly"),
                ("time_zone", "Europe/Berlin"),
                ("start", "2026-01-05T09:00"),
                ("shift_count", "1"),
                ("shift_unit", "weeks"),
                ("effective", ""),
                ("participant", eve_id.as_str()),
                ("participant", admin_id.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let info = store.schedule_info(&schedule).await.unwrap();

    // Over HTTP: one calendar, names intact, the same UIDs on every fetch.
    let url = app.url(&format!("/ical/schedule/{}.ics", info.ical_token));
    let fetch = || async { reqwest::get(&url).await.unwrap().text().await.unwrap() };
    let first = fetch().await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let second = fetch().await;
    let cals = parse_all(&first);
    assert_eq!(cals.len(), 1, "exactly one calendar:\n{first}");
    let cal = &cals[0];
    assert_eq!(
        unescape(&prop(&cal.properties, "NAME")),
        format!("{}: on call", shown(SCHEDULE))
    );
    assert_eq!(
        unescape(&prop(&cal.properties, "X-WR-CALNAME")),
        format!("{}: on call", shown(SCHEDULE))
    );
    // The exact number of weekly shifts that overlap the feed's window (30 days back, 180
    // ahead), counted here from the rotation's definition.
    let now = Timestamp::now();
    let (from, to) = (
        now - SignedDuration::from_hours(24 * 30),
        now + SignedDuration::from_hours(24 * 180),
    );
    let mut start = jiff::civil::datetime(2026, 1, 5, 9, 0, 0, 0)
        .in_tz("Europe/Berlin")
        .unwrap();
    let mut expected = 0;
    while start.timestamp() < to {
        let end = start.checked_add(1.week()).unwrap();
        if end.timestamp() > from {
            expected += 1;
        }
        start = end;
    }
    assert_eq!(cal.events.len(), expected, "{first}");
    let mut eves = 0;
    for e in &cal.events {
        let summary = unescape(&prop(&e.properties, "SUMMARY"));
        let who = if summary.contains("Eve") {
            eves += 1;
            shown(PERSON)
        } else {
            "Test User".to_string()
        };
        assert_eq!(summary, format!("On call: {who} ({})", shown(SCHEDULE)));
        assert!(unescape(&prop(&e.properties, "DESCRIPTION"))
            .starts_with(&format!("{who} is on call for {}.\n", shown(SCHEDULE))));
    }
    assert!(eves >= expected / 2 - 1, "{eves} of {expected}");
    let uids = |text: &str| -> Vec<String> {
        parse_all(text)[0]
            .events
            .iter()
            .map(|e| prop(&e.properties, "UID"))
            .collect()
    };
    assert_eq!(
        uids(&first),
        uids(&second),
        "UIDs do not change between fetches"
    );
    assert_eq!(
        uids(&first).iter().collect::<HashSet<_>>().len(),
        expected,
        "one UID per shift"
    );

    // The first event began before the window: it shows its real start, and its UID stays the
    // same when the window moves on by three days.
    let at = |t: Timestamp| {
        let (state, info) = (app.state().clone(), info.clone());
        async move {
            firstline::http::ical::schedule_calendar(&state, &info, t)
                .await
                .unwrap()
        }
    };
    let today = parse_all(&at(now).await).remove(0);
    let later = parse_all(&at(now + SignedDuration::from_hours(72)).await).remove(0);
    let first_event = &today.events[0];
    let dtstart: Timestamp = ics_time(&prop(&first_event.properties, "DTSTART"));
    assert!(dtstart < from, "real start {dtstart}, window from {from}");
    let later_uids: HashSet<String> = later
        .events
        .iter()
        .map(|e| prop(&e.properties, "UID"))
        .collect();
    let cutoff = now + SignedDuration::from_hours(72) - SignedDuration::from_hours(24 * 30);
    for e in &today.events {
        let end = ics_time(&prop(&e.properties, "DTEND"));
        if end > cutoff + SignedDuration::from_hours(1) {
            let uid = prop(&e.properties, "UID");
            assert!(
                later_uids.contains(&uid),
                "{uid} is still in the later feed"
            );
        }
    }

    // The person's own feed: one calendar, their name intact, only their shifts.
    let token = store.user_ical_token(&eve_id).await.unwrap();
    let mine = reqwest::get(app.url(&format!("/ical/user/{token}.ics")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mine = parse_all(&mine);
    assert_eq!(mine.len(), 1);
    assert_eq!(
        unescape(&prop(&mine[0].properties, "NAME")),
        format!("{}: on-call shifts", shown(PERSON))
    );
    assert_eq!(mine[0].events.len(), eves);
    app.stop().await;
}

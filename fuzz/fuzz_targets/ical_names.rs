//! iCal generation from names: arbitrary calendar, schedule and person names through
//! `ical::render`. Nothing may panic; the text uses CRLF line breaks only (no bare CR or LF),
//! no content line is longer than 75 octets, and it parses as exactly one VCALENDAR with one
//! VEVENT per shift, each with the same properties as a calendar built from plain names (so no
//! name can add, split or end a property or component).

#![no_main]

use std::collections::HashMap;
use std::io::BufReader;

use app::domain::schedule::Shift;
use firstline::http::ical::render;
use firstline::store::ScheduleInfo;
use ical::parser::ical::component::IcalCalendar;
use jiff::{SignedDuration, Timestamp};
use libfuzzer_sys::fuzz_target;

const BASE_URL: &str = "https://oncall.example.org";

/// The input split at NUL bytes (names are lossy UTF-8): the calendar name, then a schedule
/// name and a person name for each shift. An empty person is a coverage gap, `-` a removed user.
struct Input {
    calendar_name: String,
    shifts: Vec<(String, String)>,
}

fn input(data: &[u8]) -> Input {
    let mut parts = data
        .split(|b| *b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let calendar_name = parts.next().unwrap_or_default();
    let mut shifts = Vec::new();
    while let Some(schedule) = parts.next() {
        shifts.push((schedule, parts.next().unwrap_or_default()));
    }
    shifts.truncate(16);
    Input {
        calendar_name,
        shifts,
    }
}

/// Builds the feed's arguments: shift `i` starts `i` hours after a fixed instant and lasts an
/// hour; ids are the server's own (generated), names come from `shifts`.
fn feed(shifts: &[(String, String)]) -> (Vec<(ScheduleInfo, Shift)>, HashMap<String, String>) {
    let base = Timestamp::from_second(1_795_000_000).expect("a valid timestamp");
    let mut names = HashMap::new();
    let mut events = Vec::new();
    for (i, (schedule, person)) in shifts.iter().enumerate() {
        let user = match person.as_str() {
            "" => None,
            "-" => Some("removed".to_string()),
            name => {
                names.insert(format!("u{i}"), name.to_string());
                Some(format!("u{i}"))
            }
        };
        let start = base + SignedDuration::from_hours(i as i64);
        let info = ScheduleInfo {
            id: format!("s{i}"),
            name: schedule.clone(),
            description: None,
            time_zone: "UTC".into(),
            ical_token: "t".into(),
            draft: false,
        };
        let shift = Shift {
            start,
            end: start + SignedDuration::from_hours(1),
            user,
            source: None,
        };
        events.push((info, shift));
    }
    (events, names)
}

fn parse(text: &str) -> IcalCalendar {
    let mut calendars = ical::IcalParser::new(BufReader::new(text.as_bytes()));
    let cal = match calendars.next() {
        Some(Ok(cal)) => cal,
        other => panic!("no calendar: {other:?} in {text:?}"),
    };
    assert!(
        calendars.next().is_none(),
        "more than one VCALENDAR in {text:?}"
    );
    cal
}

/// Property names in order (values vary with the names).
fn names_of(props: &[ical::property::Property]) -> Vec<String> {
    props.iter().map(|p| p.name.clone()).collect()
}

fuzz_target!(|data: &[u8]| {
    let input = input(data);
    let stamp = Timestamp::from_second(1_795_000_000).expect("a valid timestamp");
    let (events, names) = feed(&input.shifts);
    let text = render(&input.calendar_name, BASE_URL, &events, &names, stamp);

    // Line breaks are CRLF only, and content lines are folded at 75 octets.
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\r' => assert!(
                bytes.get(i + 1) == Some(&b'\n'),
                "bare CR at {i} in {text:?}"
            ),
            b'\n' => assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at {i} in {text:?}"),
            _ => {}
        }
    }
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "{}-octet line {line:?}", line.len());
    }

    // The same structure as the calendar built from plain names.
    let plain: Vec<(String, String)> = input
        .shifts
        .iter()
        .enumerate()
        .map(|(i, (_, person))| {
            let person = match person.as_str() {
                "" | "-" => person.clone(),
                _ => format!("P{i}"),
            };
            (format!("S{i}"), person)
        })
        .collect();
    let (plain_events, plain_names) = feed(&plain);
    let want = parse(&render("Cal", BASE_URL, &plain_events, &plain_names, stamp));
    let got = parse(&text);
    assert_eq!(got.events.len(), events.len(), "event count in {text:?}");
    assert_eq!(
        names_of(&got.properties),
        names_of(&want.properties),
        "calendar properties in {text:?}"
    );
    for (g, w) in got.events.iter().zip(&want.events) {
        assert_eq!(
            names_of(&g.properties),
            names_of(&w.properties),
            "event properties in {text:?}"
        );
        assert!(g.alarms.is_empty(), "an alarm in {text:?}");
    }
    assert!(
        got.alarms.is_empty()
            && got.todos.is_empty()
            && got.journals.is_empty()
            && got.free_busys.is_empty()
            && got.timezones.is_empty(),
        "an extra component in {text:?}"
    );
});

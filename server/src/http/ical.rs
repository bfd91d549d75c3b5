//! iCal feeds (RFC 5545) at secret, revocable URLs: one per person (their shifts on every
//! schedule) and one per schedule. Each shift is an event naming who and which schedule; the UID
//! is stable for the same shift, so calendar apps replace events when the schedule changes.

use std::collections::HashMap;

use crate::store::ScheduleInfo;
use app::domain::schedule::{expand, Shift, ShiftSource, Window};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};

use super::error::AppError;
use super::schedules::user_names;
use crate::state::AppState;

/// Feeds cover 30 days back and 180 days ahead.
const PAST_DAYS: i64 = 30;
const AHEAD_DAYS: i64 = 180;
/// Shifts are computed from up to this much earlier than the feed's window (on a 30-day grid),
/// so an event that began before the window keeps its real start and its UID.
const LOOKBACK_DAYS: i64 = 120;
const GRID_DAYS: i64 = 30;

fn ics_time(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// RFC 5545 TEXT (section 3.3.11): backslash, semicolon and comma escaped; every line break
/// (CRLF, LF or a bare CR) becomes the two characters `\n`; other control characters, which
/// TEXT does not allow, are dropped. Every text property goes through this one function.
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line `name:value`, folded at 75 octets (RFC 5545 section 3.1) on
/// character boundaries, ended with CRLF. `value` must already be escaped; any control
/// character left in it is dropped, so no value can ever start a line of its own. A fold never
/// touches whitespace (none at a line's end or after the continuation's leading space): some
/// readers trim it when unfolding.
fn line(out: &mut String, name: &str, value: &str) {
    let chars: Vec<char> = name
        .chars()
        .chain([':'])
        .chain(value.chars())
        .filter(|c| !c.is_control())
        .collect();
    let mut i = 0;
    while i < chars.len() {
        // The first line holds 75 octets, continuations 74 after their leading space.
        let limit = if i == 0 { 75 } else { 74 };
        let (mut end, mut width) = (i, 0);
        while end < chars.len() && width + chars[end].len_utf8() <= limit {
            width += chars[end].len_utf8();
            end += 1;
        }
        let bad = |at: usize| chars[at].is_whitespace() || chars[at - 1].is_whitespace();
        let mut cut = end;
        while cut < chars.len() && cut > i + 1 && bad(cut) {
            cut -= 1;
        }
        if cut < chars.len() && bad(cut) {
            cut = end;
        }
        if i > 0 {
            out.push_str("\r\n ");
        }
        out.extend(&chars[i..cut]);
        i = cut;
    }
    out.push_str("\r\n");
}

/// A stable UID for a shift: its schedule, where it comes from (layer or override, or a gap),
/// who, and its real start (not where a feed's window happens to cut it).
fn uid(schedule_id: &str, s: &Shift, host: &str) -> String {
    let source = match &s.source {
        Some(ShiftSource::Layer { layer_id }) => format!("layer-{layer_id}"),
        Some(ShiftSource::Override { override_id }) => format!("override-{override_id}"),
        None => "gap".to_string(),
    };
    format!(
        "{}-{}-{}-{}@{host}",
        schedule_id,
        source,
        s.user.as_deref().unwrap_or("nobody"),
        s.start.as_millisecond()
    )
}

fn host_of(base_url: &str) -> &str {
    base_url
        .split("://")
        .nth(1)
        .unwrap_or(base_url)
        .split(['/', ':'])
        .next()
        .unwrap_or("firstline")
}

/// Builds the calendar text.
pub fn render(
    name: &str,
    base_url: &str,
    events: &[(ScheduleInfo, Shift)],
    names: &HashMap<String, String>,
    stamp: Timestamp,
) -> String {
    let host = host_of(base_url);
    let mut out = String::with_capacity(512 + events.len() * 400);
    line(&mut out, "BEGIN", "VCALENDAR");
    line(&mut out, "VERSION", "2.0");
    line(&mut out, "PRODID", "-//Firstline//On-call shifts//EN");
    line(&mut out, "CALSCALE", "GREGORIAN");
    line(&mut out, "NAME", &escape_text(name));
    line(&mut out, "X-WR-CALNAME", &escape_text(name));
    line(
        &mut out,
        "X-WR-CALDESC",
        &escape_text("On-call shifts from Firstline"),
    );
    line(&mut out, "REFRESH-INTERVAL;VALUE=DURATION", "PT1H");
    line(&mut out, "X-PUBLISHED-TTL", "PT1H");
    for (info, s) in events {
        let who = s
            .user
            .as_ref()
            .map(|u| {
                names
                    .get(u)
                    .cloned()
                    .unwrap_or_else(|| "(removed user)".into())
            })
            .unwrap_or_else(|| "Nobody (coverage gap)".into());
        let url = format!("{base_url}/schedules/{}", info.id);
        line(&mut out, "BEGIN", "VEVENT");
        line(&mut out, "UID", &escape_text(&uid(&info.id, s, host)));
        line(&mut out, "DTSTAMP", &ics_time(stamp));
        line(&mut out, "DTSTART", &ics_time(s.start));
        line(&mut out, "DTEND", &ics_time(s.end));
        line(
            &mut out,
            "SUMMARY",
            &escape_text(&format!("On call: {who} ({})", info.name)),
        );
        line(
            &mut out,
            "DESCRIPTION",
            &escape_text(&format!("{who} is on call for {}.\n{url}", info.name)),
        );
        line(&mut out, "URL", &url);
        line(&mut out, "TRANSP", "TRANSPARENT");
        line(&mut out, "END", "VEVENT");
    }
    line(&mut out, "END", "VCALENDAR");
    out
}

fn ics_response(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response()
}

fn token_of(file: &str) -> Result<&str, AppError> {
    file.strip_suffix(".ics")
        .filter(|t| !t.is_empty() && t.len() <= 100)
        .ok_or(AppError::NotFound)
}

/// The feed's window around `now`, and the wider window its shifts are computed over: from a
/// 30-day grid point 120 to 150 days before the feed's start, so a shift that began before the
/// window shows (and is identified by) its real start.
fn feed_windows(now: Timestamp) -> Result<(Window, Window), AppError> {
    let day = SignedDuration::from_hours(24);
    let shown = Window::new(now - day * PAST_DAYS as i32, now + day * AHEAD_DAYS as i32)?;
    let grid = (day * GRID_DAYS as i32).as_millis() as i64;
    let back = (shown.start - day * LOOKBACK_DAYS as i32).as_millisecond();
    let from = Timestamp::from_millisecond(back.div_euclid(grid) * grid)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((shown, Window::new(from, shown.end)?))
}

/// The shifts of one schedule that overlap the feed's window around `now`, with their real
/// starts.
async fn feed_shifts(
    state: &AppState,
    schedule_id: &str,
    now: Timestamp,
) -> Result<Vec<Shift>, AppError> {
    let (shown, computed) = feed_windows(now)?;
    let full = state
        .store
        .schedule_full(schedule_id, computed.start, computed.end)
        .await?;
    Ok(expand(&full.schedule, &computed)
        .into_iter()
        .filter(|s| s.end > shown.start)
        .collect())
}

/// A person's calendar (their shifts on every schedule) as of `now`.
pub async fn user_calendar(
    state: &AppState,
    user: &crate::store::User,
    now: Timestamp,
) -> Result<String, AppError> {
    let mut events = Vec::new();
    // A draft's shifts are not real yet.
    for info in state
        .store
        .list_schedules()
        .await?
        .into_iter()
        .filter(|i| !i.draft)
    {
        for s in feed_shifts(state, &info.id, now).await? {
            if s.user.as_deref() == Some(user.id.as_str()) {
                events.push((info.clone(), s));
            }
        }
    }
    let names = user_names(state).await?;
    Ok(render(
        &format!("{}: on-call shifts", user.name),
        &state.config.base_url,
        &events,
        &names,
        now,
    ))
}

/// A schedule's calendar as of `now`.
pub async fn schedule_calendar(
    state: &AppState,
    info: &ScheduleInfo,
    now: Timestamp,
) -> Result<String, AppError> {
    let events: Vec<(ScheduleInfo, Shift)> = feed_shifts(state, &info.id, now)
        .await?
        .into_iter()
        .map(|s| (info.clone(), s))
        .collect();
    let names = user_names(state).await?;
    Ok(render(
        &format!("{}: on call", info.name),
        &state.config.base_url,
        &events,
        &names,
        now,
    ))
}

/// `GET /ical/user/{token}.ics`.
pub async fn user_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let user = state.store.user_by_ical_token(token_of(&file)?).await?;
    Ok(ics_response(
        user_calendar(&state, &user, state.clock.now()).await?,
    ))
}

/// `GET /ical/schedule/{token}.ics`.
pub async fn schedule_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let info = state.store.schedule_by_ical_token(token_of(&file)?).await?;
    Ok(ics_response(
        schedule_calendar(&state, &info, state.clock.now()).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_times() {
        assert_eq!(
            host_of("https://oncall.example.org/x"),
            "oncall.example.org"
        );
        assert_eq!(host_of("http://127.0.0.1:3000"), "127.0.0.1");
        let t: Timestamp = "2026-11-24T08:05:00Z".parse().unwrap();
        assert_eq!(ics_time(t), "20261124T080500Z");
    }

    /// Reverses RFC 5545 TEXT escaping (the `ical` parser hands values over as written).
    fn unescape(v: &str) -> String {
        let mut out = String::new();
        let mut chars = v.chars();
        while let Some(c) = chars.next() {
            match (c, c == '\\') {
                (_, true) => match chars.next() {
                    Some('n') | Some('N') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                },
                (c, false) => out.push(c),
            }
        }
        out
    }

    fn parse_all(text: &str) -> Vec<ical::parser::ical::component::IcalCalendar> {
        ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()))
            .map(|c| c.expect("valid iCalendar"))
            .collect()
    }

    fn prop<'a>(props: &'a [ical::property::Property], name: &str) -> Vec<&'a str> {
        props
            .iter()
            .filter(|p| p.name == name)
            .filter_map(|p| p.value.as_deref())
            .collect()
    }

    #[test]
    fn hostile_names_stay_inside_their_properties() {
        let hostile = [
            "Ops\r\nEND:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:injected".to_string(),
            "bare\rEND:VEVENT\rBEGIN:VEVENT".to_string(),
            "a, b; c \\ d\nsecond line".to_string(),
            "long ünïcode name ".repeat(8).trim_end().to_string(),
        ];
        let t: Timestamp = "2026-11-24T08:00:00Z".parse().unwrap();
        for name in &hostile {
            let name = name.as_str();
            let info = ScheduleInfo {
                id: "s1".into(),
                name: name.into(),
                description: None,
                time_zone: "UTC".into(),
                ical_token: "t".into(),
                draft: false,
            };
            let shift = |user: &str, h: i64| Shift {
                start: t + SignedDuration::from_hours(h),
                end: t + SignedDuration::from_hours(h + 24),
                user: Some(user.into()),
                source: Some(ShiftSource::Layer {
                    layer_id: "l1".into(),
                }),
            };
            let names = HashMap::from([("u1".to_string(), name.to_string())]);
            let text = render(
                name,
                "https://oncall.example.org",
                &[(info.clone(), shift("u1", 0)), (info, shift("u1", 24))],
                &names,
                t,
            );
            assert!(!text.replace("\r\n", "").contains('\r'), "no bare CR");
            assert!(!text.replace("\r\n", "").contains('\n'), "no bare LF");
            assert!(text.lines().all(|l| l.len() <= 76), "folded: {text}");
            let cals = parse_all(&text);
            assert_eq!(cals.len(), 1, "exactly one calendar for {name:?}:\n{text}");
            let cal = &cals[0];
            assert_eq!(
                cal.events.len(),
                2,
                "exactly two events for {name:?}:\n{text}"
            );
            let want = name.replace("\r\n", "\n").replace('\r', "\n");
            for key in ["NAME", "X-WR-CALNAME"] {
                let got = prop(&cal.properties, key);
                assert_eq!(got.len(), 1, "{key}");
                assert_eq!(unescape(got[0]), want, "{key} round-trips");
            }
            for e in &cal.events {
                let summary = prop(&e.properties, "SUMMARY");
                assert_eq!(summary.len(), 1);
                assert_eq!(
                    unescape(summary[0]),
                    format!("On call: {want} ({want})"),
                    "SUMMARY round-trips"
                );
                let desc = prop(&e.properties, "DESCRIPTION");
                assert_eq!(
                    unescape(desc[0]),
                    format!(
                        "{want} is on call for {want}.\nhttps://oncall.example.org/schedules/s1"
                    )
                );
            }
        }
    }

    #[test]
    fn escaping_follows_rfc_5545() {
        assert_eq!(
            escape_text("a\\b,c;d\r\ne\rf\ng\u{7}h"),
            "a\\\\b\\,c\\;d\\ne\\nf\\ngh"
        );
        let mut out = String::new();
        line(&mut out, "SUMMARY", &"x".repeat(100));
        assert_eq!(
            out,
            format!("SUMMARY:{}\r\n {}\r\n", "x".repeat(67), "x".repeat(33))
        );
        // A space at the fold goes inside the continuation, never first on it.
        let mut out = String::new();
        line(&mut out, "NAME", &format!("{} b", "a".repeat(70)));
        assert_eq!(out, format!("NAME:{}\r\n a b\r\n", "a".repeat(69)));
        let mut out = String::new();
        line(&mut out, "NAME", &format!("{} bc", "a".repeat(69)));
        assert_eq!(out, format!("NAME:{}\r\n a bc\r\n", "a".repeat(68)));
    }

    #[test]
    fn uids_name_the_real_shift() {
        let t: Timestamp = "2026-11-24T08:00:00Z".parse().unwrap();
        let s = Shift {
            start: t,
            end: t + SignedDuration::from_hours(1),
            user: Some("u1".into()),
            source: Some(ShiftSource::Override {
                override_id: "o9".into(),
            }),
        };
        assert_eq!(
            uid("s1", &s, "example.org"),
            format!("s1-override-o9-u1-{}@example.org", t.as_millisecond())
        );
    }

    #[test]
    fn windows_reach_back_on_a_grid() {
        let now: Timestamp = "2026-11-28T19:00:00Z".parse().unwrap();
        let (shown, computed) = feed_windows(now).unwrap();
        let later = feed_windows(now + SignedDuration::from_hours(50))
            .unwrap()
            .1;
        assert!(computed.start <= shown.start - SignedDuration::from_hours(24 * LOOKBACK_DAYS));
        assert_eq!(computed.end, shown.end);
        // The computed start moves only in 30-day steps.
        assert_eq!(
            computed.start.as_millisecond() % (GRID_DAYS * 86_400_000),
            0
        );
        let step = (later.start.as_millisecond() - computed.start.as_millisecond()) / 3_600_000;
        assert!(step == 0 || step == 24 * GRID_DAYS, "{step}");
    }
}

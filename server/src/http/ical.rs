//! iCal feeds (RFC 5545) at secret, revocable URLs: one per person (their shifts on every
//! schedule) and one per schedule. Each shift is an event naming who and which schedule; the UID
//! is stable for the same shift, so calendar apps replace events when the schedule changes.

use std::collections::HashMap;

use app::domain::schedule::{expand, Shift, Window};
use app::ssr::store::ScheduleInfo;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use icalendar::{Calendar, Component, Event};
use jiff::{SignedDuration, Timestamp};

use super::error::AppError;
use super::schedules::user_names;
use crate::format::now_ms;
use crate::state::AppState;

/// Feeds cover 30 days back and 180 days ahead.
const PAST_DAYS: i64 = 30;
const AHEAD_DAYS: i64 = 180;

fn ics_time(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// A stable UID for a shift: the same schedule, person and start give the same UID.
fn uid(schedule_id: &str, s: &Shift, host: &str) -> String {
    format!(
        "{}-{}-{}@{host}",
        schedule_id,
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
    let mut cal = Calendar::new();
    cal.name(name);
    cal.append_property(("X-WR-CALDESC", "On-call shifts from Firstline"));
    cal.append_property(("REFRESH-INTERVAL;VALUE=DURATION", "PT1H"));
    cal.append_property(("X-PUBLISHED-TTL", "PT1H"));
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
        let mut e = Event::new();
        e.uid(&uid(&info.id, s, host))
            .summary(&format!("On call: {who} ({})", info.name))
            .description(&format!(
                "{who} is on call for {}.\n{base_url}/schedules/{}",
                info.name, info.id
            ))
            .add_property("DTSTAMP", ics_time(stamp))
            .add_property("DTSTART", ics_time(s.start))
            .add_property("DTEND", ics_time(s.end))
            .add_property("URL", format!("{base_url}/schedules/{}", info.id))
            .add_property("TRANSP", "TRANSPARENT");
        cal.push(e.done());
    }
    cal.done().to_string()
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

fn feed_window() -> Result<Window, AppError> {
    let now =
        Timestamp::from_millisecond(now_ms()).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Window::new(
        now - SignedDuration::from_hours(24 * PAST_DAYS),
        now + SignedDuration::from_hours(24 * AHEAD_DAYS),
    )?)
}

/// `GET /ical/user/{token}.ics`.
pub async fn user_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let user = state.store.user_by_ical_token(token_of(&file)?).await?;
    let window = feed_window()?;
    let mut events = Vec::new();
    for info in state.store.list_schedules().await? {
        let full = state
            .store
            .schedule_full(&info.id, window.start, window.end)
            .await?;
        for s in expand(&full.schedule, &window) {
            if s.user.as_deref() == Some(user.id.as_str()) {
                events.push((info.clone(), s));
            }
        }
    }
    let names = user_names(&state).await?;
    let stamp =
        Timestamp::from_millisecond(now_ms()).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(ics_response(render(
        &format!("{}: on-call shifts", user.name),
        &state.config.base_url,
        &events,
        &names,
        stamp,
    )))
}

/// `GET /ical/schedule/{token}.ics`.
pub async fn schedule_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let info = state.store.schedule_by_ical_token(token_of(&file)?).await?;
    let window = feed_window()?;
    let full = state
        .store
        .schedule_full(&info.id, window.start, window.end)
        .await?;
    let events: Vec<(ScheduleInfo, Shift)> = expand(&full.schedule, &window)
        .into_iter()
        .map(|s| (info.clone(), s))
        .collect();
    let names = user_names(&state).await?;
    let stamp =
        Timestamp::from_millisecond(now_ms()).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(ics_response(render(
        &format!("{}: on call", info.name),
        &state.config.base_url,
        &events,
        &names,
        stamp,
    )))
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
}

//! Schedule handlers, one file per concept: `calendar` (who is on call now, the schedules index
//! and the week, month and agenda views), `shifts` (one shift, covering it, my shifts), `swaps`
//! (swap requests and their answers), `profile`, `ical_tokens` (revoking feed links) and `api`
//! (the JSON API). This module holds what they share; pages get their labels computed in the
//! viewer's time zone.

mod api;
mod calendar;
mod ical_tokens;
mod methods;
mod profile;
mod shifts;
mod swaps;

pub use api::{api_oncall, api_shifts};
pub use calendar::{calendar, index, now_view, now_views, Looker};
pub use ical_tokens::{rotate_ical, rotate_schedule_ical};
pub use methods::{
    add_chat, add_rule, add_sms, add_webhook, remove_rule, send_method_code, test_method,
    verify_method, SENDS_PER_WINDOW,
};
pub use profile::{add_contact, profile, remove_contact, save_profile};
pub use shifts::{ask_confirm, create_override, my_shifts, shift_page};
pub use swaps::{all_swaps, create_swap, open_requests, schedule_swaps, swap_action};

use std::collections::HashMap;

use crate::store::{ScheduleFull, SessionInfo};
use app::domain::permission::{self, Action, Relation};
use app::domain::schedule::{Shift, ShiftSource, Window};
use app::domain::ValidationError;
use app::pages::schedule::ShiftView;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;

use super::error::AppError;
use super::session::{actor, MaybeSession};
use crate::state::AppState;

/// How far ahead coverage gaps are looked for.
pub const GAP_HORIZON_DAYS: i64 = crate::oncall::HORIZON_DAYS;

/// Names of all users, by id.
pub async fn user_names(state: &AppState) -> Result<HashMap<String, String>, AppError> {
    Ok(state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

/// The people who may be put on call (not deactivated), by id.
pub async fn active_user_names(state: &AppState) -> Result<HashMap<String, String>, AppError> {
    Ok(state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.is_active())
        .map(|u| (u.id, u.name))
        .collect())
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// "Tue 25 Nov, 09:00 CET" in `tz`: every time shown names its zone (the page names the
/// IANA zone once, e.g. "Times in Europe/Berlin").
pub fn label(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%a %-d %b, %H:%M %Z")
        .to_string()
}

/// Every person's time zone name, by id: a notice is worded in its recipient's zone.
pub async fn user_zones(state: &AppState) -> Result<HashMap<String, String>, AppError> {
    Ok(state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.time_zone))
        .collect())
}

/// "Sun 29 Mar, 09:00 CEST (Europe/Berlin) to Mon 30 Mar, 09:00 CEST (Europe/Berlin)": a time
/// range for the person in `zone`, the zone named.
pub fn when_in(start: Timestamp, end: Timestamp, zone: &str) -> String {
    let t = |ms: i64| app::domain::onetap::local_time(ms, zone, false, None);
    format!(
        "{} to {}",
        t(start.as_millisecond()),
        t(end.as_millisecond())
    )
}

/// The in-app sentence of a shift notice for the person in `zone` (the same words as the
/// notice sent to their contact methods, times in their zone, the zone named).
pub fn notice_sentence(about: &app::domain::notice::ShiftAbout, zone: &str) -> String {
    app::domain::notice::words(about, zone)
        .1
        .into_iter()
        .next()
        .unwrap_or_default()
}

fn hours_label(ms: i64) -> String {
    let mins = ms / 60_000;
    match (mins / 60, mins % 60) {
        (h, 0) => format!("{h} h"),
        (0, m) => format!("{m} min"),
        (h, m) => format!("{h} h {m} min"),
    }
}

fn viewer(session: &SessionInfo) -> app::pages::Viewer {
    MaybeSession(Some(session.clone())).viewer()
}

/// Reading schedules: [`permission::check`] with [`Action::View`].
fn may_view(me: &SessionInfo) -> Result<(), AppError> {
    Ok(permission::check(
        Some(actor(me)),
        Relation::default(),
        &Action::View,
    )?)
}

/// A draft schedule is shown to admins only: anyone else is told it does not exist.
fn hide_draft(me: &SessionInfo, draft: bool) -> Result<(), AppError> {
    if draft && !me.user.role.is_admin() {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// The window `[start, start + days)` starting at local midnight of `date` in `tz`.
fn day_window(date: Date, days: i64, tz: &TimeZone) -> Result<Window, AppError> {
    let start = date
        .to_zoned(tz.clone())
        .map_err(|e| AppError::BadRequest(format!("date: {e}")))?;
    let end = date
        .checked_add(days.days())
        .and_then(|d| d.to_zoned(tz.clone()))
        .map_err(|e| AppError::BadRequest(format!("date: {e}")))?;
    Ok(Window::new(start.timestamp(), end.timestamp())?)
}

/// Loads a schedule with the overrides of `window`.
async fn load(state: &AppState, id: &str, window: &Window) -> Result<ScheduleFull, AppError> {
    Ok(state
        .store
        .schedule_full(id, window.start, window.end)
        .await?)
}

fn shift_view(
    s: &Shift,
    info: &crate::store::ScheduleInfo,
    names: &HashMap<String, String>,
    me: &str,
    tz: &TimeZone,
) -> ShiftView {
    ShiftView {
        schedule_id: info.id.clone(),
        schedule_name: info.name.clone(),
        user_id: s.user.clone(),
        user_name: match &s.user {
            Some(u) => names
                .get(u)
                .cloned()
                .unwrap_or_else(|| "(removed user)".into()),
            None => "Nobody".into(),
        },
        start_ms: s.start.as_millisecond(),
        end_ms: s.end.as_millisecond(),
        start_label: label(s.start, tz),
        end_label: label(s.end, tz),
        source: match (&s.user, &s.source) {
            (None, _) => "gap",
            (_, Some(ShiftSource::Override { .. })) => "override",
            _ => "layer",
        },
        mine: s.user.as_deref() == Some(me),
    }
}

fn parse_ms(field: &str, v: &str) -> Result<Timestamp, AppError> {
    v.trim()
        .parse::<i64>()
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .ok_or_else(|| ValidationError::new(field, "must be a time in Unix milliseconds").into())
}

/// Query of the swaps page.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// A form with only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn ical_url(state: &AppState, kind: &str, token: &str) -> String {
    format!("{}/ical/{kind}/{token}.ics", state.config.base_url)
}

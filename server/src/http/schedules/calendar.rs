//! Who is on call now, and the calendars: the schedules index, week, month and agenda views.

use std::collections::HashMap;

use app::domain::schedule::{coverage, expand, Shift};
use app::domain::ValidationError;
use app::pages::render_document;
use app::pages::schedule::{
    CalendarView, DayView, NowView, SchedulePage, SchedulesPage, ShiftView,
};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Html;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use leptos::prelude::*;
use serde::Deserialize;

use super::{
    day_window, hours_label, ical_url, label, load, may_view, shift_view, user_names, viewer, zone,
};
use crate::http::error::AppError;
use crate::http::session::Member;
use crate::oncall::{self, OnCall};
use crate::state::AppState;

/// Gap sentences for the next four weeks.
fn gap_sentences(shifts: &[Shift], tz: &TimeZone) -> Vec<String> {
    coverage(shifts)
        .gaps
        .iter()
        .map(|g| {
            format!(
                "{} → {} ({})",
                label(g.start, tz),
                label(g.end, tz),
                hours_label(g.end.as_millisecond() - g.start.as_millisecond())
            )
        })
        .collect()
}

/// Who looks: their id and zone, and whether they may see drafts (admins).
pub struct Looker<'a> {
    /// The viewer's user id ("you" marks).
    pub id: &'a str,
    /// The viewer's IANA zone name (named on the card).
    pub zone: &'a str,
    /// Admins see draft schedules, marked; others do not see them at all.
    pub sees_drafts: bool,
}

impl<'a> Looker<'a> {
    /// The viewer of a session.
    pub fn of(me: &'a crate::store::SessionInfo) -> Self {
        Looker {
            id: &me.user.id,
            zone: &me.user.time_zone,
            sees_drafts: me.user.role.is_admin(),
        }
    }
}

/// The "now" card of a schedule from the on-call service's answer: who, until when, who
/// next, gaps in the next four weeks, in the viewer's zone, "you" marked.
pub fn now_view(
    on: &OnCall,
    names: &HashMap<String, String>,
    tz: &TimeZone,
    who: &Looker<'_>,
) -> NowView {
    let name = |u: &Option<String>| {
        u.as_ref().map(|u| {
            names
                .get(u)
                .cloned()
                .unwrap_or_else(|| "(removed user)".into())
        })
    };
    let next = on.next.as_ref();
    NowView {
        schedule_id: on.schedule.id.clone(),
        schedule_name: on.schedule.name.clone(),
        on_call: on.current.as_ref().and_then(|s| name(&s.user)),
        until_ms: next.map(|n| n.start.as_millisecond()),
        until_label: next.map(|n| label(n.start, tz)),
        next: next.map(|n| name(&n.user).unwrap_or_else(|| "Nobody (gap)".into())),
        now_ms: on.at.as_millisecond(),
        gaps: gap_sentences(&on.shifts, tz),
        on_call_is_you: on.user() == Some(who.id),
        next_is_you: next.and_then(|n| n.user.as_deref()) == Some(who.id),
        zone: who.zone.to_string(),
        draft: on.schedule.draft,
    }
}

/// The "now" cards of every schedule at the current time (a fixed number of queries).
pub async fn now_views(
    state: &AppState,
    names: &HashMap<String, String>,
    tz: &TimeZone,
    who: &Looker<'_>,
) -> Result<Vec<NowView>, AppError> {
    Ok(oncall::for_all(&state.store, state.clock.now())
        .await?
        .iter()
        .filter(|on| who.sees_drafts || !on.schedule.draft)
        .map(|on| now_view(on, names, tz, who))
        .collect())
}

/// `GET /schedules`.
pub async fn index(
    State(state): State<AppState>,
    Member(me): Member,
) -> Result<Html<String>, AppError> {
    may_view(&me)?;
    let names = user_names(&state).await?;
    let tz = zone(&me.user.time_zone);
    let nows = now_views(&state, &names, &tz, &Looker::of(&me)).await?;
    let v = viewer(&me);
    Ok(Html(render_document(
        "On call · Firstline",
        state.hydration(),
        None,
        move || {
            view! { <SchedulesPage viewer=v nows=nows/> }
        },
    )))
}

/// Query of a calendar page.
#[derive(Deserialize, Default)]
pub struct CalendarQuery {
    #[serde(default)]
    view: String,
    #[serde(default)]
    date: String,
}

fn is_phone(headers: &HeaderMap) -> bool {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.contains("Mobi") || ua.contains("Android"))
}

/// Splits final shifts into per-day pieces in `tz`.
fn days_of(
    shifts: &[ShiftView],
    first: Date,
    count: i64,
    tz: &TimeZone,
    month: Option<i8>,
    today: Date,
) -> Result<Vec<DayView>, AppError> {
    let mut days = Vec::new();
    for i in 0..count {
        let date = first
            .checked_add(i.days())
            .map_err(|e| AppError::BadRequest(format!("date: {e}")))?;
        let w = day_window(date, 1, tz)?;
        let (ds, de) = (w.start.as_millisecond(), w.end.as_millisecond());
        let pieces = shifts
            .iter()
            .filter(|s| s.start_ms < de && s.end_ms > ds)
            .map(|s| {
                let a = s.start_ms.max(ds);
                let b = s.end_ms.min(de);
                let hm = |ms: i64, end: bool| {
                    if end && ms == de {
                        "24:00".to_string()
                    } else {
                        Timestamp::from_millisecond(ms)
                            .map(|t| t.to_zoned(tz.clone()).strftime("%H:%M").to_string())
                            .unwrap_or_default()
                    }
                };
                (format!("{}–{}", hm(a, false), hm(b, true)), s.clone())
            })
            .collect();
        days.push(DayView {
            label: date.strftime("%a %-d %b").to_string(),
            date: date.to_string(),
            today: date == today,
            outside: month.is_some_and(|m| m != date.month()),
            pieces,
        });
    }
    Ok(days)
}

/// `GET /schedules/{id}`: week (desktop default), month or agenda (phone default).
pub async fn calendar(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    Query(q): Query<CalendarQuery>,
    headers: HeaderMap,
) -> Result<Html<String>, AppError> {
    may_view(&me)?;
    let info = state.store.schedule_info(&id).await?;
    // A draft is shown to admins only.
    if info.draft && !me.user.role.is_admin() {
        return Err(AppError::NotFound);
    }
    let zone_name = me.user.time_zone.clone();
    let tz = zone(&zone_name);
    let today = state.clock.now().to_zoned(tz.clone()).date();
    let view_kind = match q.view.as_str() {
        "week" => CalendarView::Week,
        "month" => CalendarView::Month,
        "agenda" => CalendarView::Agenda,
        "" if is_phone(&headers) => CalendarView::Agenda,
        "" => CalendarView::Week,
        other => {
            return Err(ValidationError::new(
                "view",
                format!("must be week, month or agenda (got {other:?})"),
            )
            .into())
        }
    };
    let date = match q.date.trim() {
        "" => today,
        d => d
            .parse::<Date>()
            .map_err(|_| ValidationError::new("date", "must be a date like 2026-11-24"))?,
    };
    let monday = |d: Date| d.checked_sub((d.weekday().to_monday_zero_offset() as i64).days());
    let (first, count, month, period, prev, next) = match view_kind {
        CalendarView::Week => {
            let m = monday(date).map_err(|e| AppError::BadRequest(format!("date: {e}")))?;
            let end = m
                .checked_add(6.days())
                .map_err(|e| AppError::BadRequest(format!("date: {e}")))?;
            (
                m,
                7,
                None,
                format!("{} – {}", m.strftime("%-d %b"), end.strftime("%-d %b %Y")),
                m.checked_sub(7.days()),
                m.checked_add(7.days()),
            )
        }
        CalendarView::Agenda => (
            date,
            14,
            None,
            format!(
                "{} – {}",
                date.strftime("%-d %b"),
                date.checked_add(13.days())
                    .map(|d| d.strftime("%-d %b %Y").to_string())
                    .unwrap_or_default()
            ),
            date.checked_sub(14.days()),
            date.checked_add(14.days()),
        ),
        CalendarView::Month => {
            let first_of = date.first_of_month();
            let m = monday(first_of).map_err(|e| AppError::BadRequest(format!("date: {e}")))?;
            let last = date.last_of_month();
            let span = (last - m).get_days() as i64 + 1;
            let weeks = (span + 6) / 7;
            (
                m,
                weeks * 7,
                Some(date.month()),
                first_of.strftime("%B %Y").to_string(),
                first_of.checked_sub(1.month()),
                first_of.checked_add(1.month()),
            )
        }
    };
    let window = day_window(first, count, &tz)?;
    let full = load(&state, &id, &window).await?;
    let names = user_names(&state).await?;
    let expanded = expand(&full.schedule, &window);
    let shifts: Vec<ShiftView> = expanded
        .iter()
        .map(|s| shift_view(s, &info, &names, &me.user.id, &tz))
        .collect();
    let days = days_of(&shifts, first, count, &tz, month, today)?;
    let mut hours: Vec<(String, String)> = coverage(&expanded)
        .hours
        .into_iter()
        .map(|(u, h)| {
            (
                names
                    .get(&u)
                    .cloned()
                    .unwrap_or_else(|| "(removed user)".into()),
                h,
            )
        })
        .collect::<Vec<(String, f64)>>()
        .into_iter()
        .map(|(n, h)| (n, format!("{h:.1} h")))
        .collect();
    hours.sort();
    let ical = ical_url(&state, "schedule", &info.ical_token);
    let now = now_view(
        &oncall::for_schedule(&state.store, &id, state.clock.now()).await?,
        &names,
        &tz,
        &Looker::of(&me),
    );
    let v = viewer(&me);
    let title = format!("{} · Firstline", info.name);
    let fmt = |d: Result<Date, jiff::Error>| d.map(|d| d.to_string()).unwrap_or_default();
    let (prev, next) = (fmt(prev), fmt(next));
    Ok(Html(render_document(
        &title,
        state.hydration(),
        None,
        move || {
            view! {
                <SchedulePage viewer=v schedule_id=info.id schedule_name=info.name zone=zone_name now=now
                    view_kind=view_kind period_label=period prev_date=prev next_date=next days=days
                hours=hours ical_url=ical/>
            }
        },
    )))
}

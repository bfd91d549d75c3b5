//! Schedule handlers: on-call now, calendars (week, month, agenda), my shifts, covering a shift
//! (override), swap requests, profile and the JSON API. Pages get their labels computed here in
//! the viewer's time zone.

use std::collections::HashMap;

use app::domain::permission::{self, Action, Cover, Refusal, Relation};
use app::domain::schedule::{
    coverage, expand, next_handoff, oncall_at, Override, Shift, ShiftSource, SwapRequest,
    SwapState, Window,
};
use app::domain::ValidationError;
use app::pages::render_document;
use app::pages::schedule::{
    CalendarView, DayView, MyShiftsPage, NowView, ProfilePage, SchedulePage, SchedulesPage,
    ShiftPage, ShiftView, SwapView, SwapsPage,
};
use app::ssr::store::{ScheduleFull, SessionInfo, StoreError};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::error::AppError;
use super::session::{actor, check_csrf, MaybeSession, Member, ValidForm};
use crate::format::now_ms;
use crate::state::AppState;

/// How far ahead coverage gaps are looked for.
pub const GAP_HORIZON_DAYS: i64 = 28;

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

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// "Tue 25 Nov, 09:00" in `tz`.
pub fn label(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%a %-d %b, %H:%M")
        .to_string()
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

fn now_ts() -> Result<Timestamp, AppError> {
    Timestamp::from_millisecond(now_ms()).map_err(|e| AppError::Internal(e.to_string()))
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
    info: &app::ssr::store::ScheduleInfo,
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

/// The "now" view of a schedule: who, until when, who next, gaps in the next 4 weeks.
pub async fn now_view(
    state: &AppState,
    schedule_id: &str,
    names: &HashMap<String, String>,
    tz: &TimeZone,
) -> Result<NowView, AppError> {
    let now =
        Timestamp::from_millisecond(now_ms()).map_err(|e| AppError::Internal(e.to_string()))?;
    let window = Window::new(
        now,
        now + jiff::SignedDuration::from_hours(24 * GAP_HORIZON_DAYS),
    )?;
    let full = load(state, schedule_id, &window).await?;
    let shifts = expand(&full.schedule, &window);
    let current = oncall_at(&shifts, now);
    let next = next_handoff(&shifts, now);
    let name = |u: &Option<String>| {
        u.as_ref().map(|u| {
            names
                .get(u)
                .cloned()
                .unwrap_or_else(|| "(removed user)".into())
        })
    };
    Ok(NowView {
        schedule_id: full.info.id.clone(),
        schedule_name: full.info.name.clone(),
        on_call: current.and_then(|s| name(&s.user)),
        until_ms: next.map(|n| n.start.as_millisecond()),
        until_label: next.map(|n| label(n.start, tz)),
        next: next.map(|n| name(&n.user).unwrap_or_else(|| "Nobody (gap)".into())),
        now_ms: now.as_millisecond(),
        gaps: gap_sentences(&shifts, tz),
    })
}

/// `GET /schedules`.
pub async fn index(
    State(state): State<AppState>,
    Member(me): Member,
) -> Result<Html<String>, AppError> {
    may_view(&me)?;
    let names = user_names(&state).await?;
    let tz = zone(&me.user.time_zone);
    let mut nows = Vec::new();
    for s in state.store.list_schedules().await? {
        nows.push(now_view(&state, &s.id, &names, &tz).await?);
    }
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
    let zone_name = me.user.time_zone.clone();
    let tz = zone(&zone_name);
    let today = Timestamp::from_millisecond(now_ms())
        .map_err(|e| AppError::Internal(e.to_string()))?
        .to_zoned(tz.clone())
        .date();
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
    let now = now_view(&state, &id, &names, &tz).await?;
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

/// Query naming one shift.
#[derive(Deserialize)]
pub struct ShiftQuery {
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    user: String,
}

fn parse_ms(field: &str, v: &str) -> Result<Timestamp, AppError> {
    v.trim()
        .parse::<i64>()
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .ok_or_else(|| ValidationError::new(field, "must be a time in Unix milliseconds").into())
}

/// `GET /schedules/{id}/shift`.
pub async fn shift_page(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    Query(q): Query<ShiftQuery>,
) -> Result<Html<String>, AppError> {
    may_view(&me)?;
    let info = state.store.schedule_info(&id).await?;
    let start = parse_ms("start", &q.start)?;
    let end = parse_ms("end", &q.end)?;
    let window = Window::new(start, end)?;
    let names = user_names(&state).await?;
    let tz = zone(&me.user.time_zone);
    let user = (!q.user.is_empty()).then(|| q.user.clone());
    let shift = Shift {
        start: window.start,
        end: window.end,
        user,
        source: None,
    };
    let sv = shift_view(&shift, &info, &names, &me.user.id, &tz);
    let mut members: Vec<(String, String)> = names
        .into_iter()
        .filter(|(id, _)| *id != me.user.id)
        .collect();
    members.sort_by(|a, b| a.1.cmp(&b.1));
    let v = viewer(&me);
    Ok(Html(render_document(
        "Shift · Firstline",
        None,
        None,
        move || {
            view! { <ShiftPage viewer=v schedule_id=id shift=sv members=members error=None/> }
        },
    )))
}

/// Form: cover a shift.
#[derive(Deserialize)]
pub struct OverrideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    replaces: String,
    #[serde(default)]
    user: String,
}

/// `POST /schedules/{id}/overrides`: "I cover this" (or, for admins, "Y covers this"). Who may,
/// for how long and whom `replaces` may name is decided by [`permission::check`].
pub async fn create_override(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<OverrideForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    let info = state.store.schedule_info(&id).await?;
    let start = parse_ms("start", &form.start)?;
    let end = parse_ms("end", &form.end)?;
    let user = match form.user.trim() {
        "" => me.user.id.clone(),
        u => u.to_string(),
    };
    let replaces = (!form.replaces.trim().is_empty()).then(|| form.replaces.trim().to_string());
    let names = user_names(&state).await?;
    let full = state.store.schedule_full(&id, start, end).await?;
    permission::check(
        Some(actor(&me)),
        Relation::of(&full.schedule, &me.user.id, now_ts()?),
        &Action::Cover(Cover {
            user: &user,
            user_known: names.contains_key(&user),
            replaces: replaces.as_deref(),
            replaces_known: replaces.as_ref().is_some_and(|r| names.contains_key(r)),
            start,
            end,
            schedule: &full.schedule,
        }),
    )?;
    let o = Override {
        id: app::ssr::store::new_id(),
        user: user.clone(),
        start,
        end,
        replaces: replaces.clone(),
    };
    o.validate()?;
    let now = now_ms();
    state
        .store
        .create_override(&id, &o, None, Some(&me.user.id), now)
        .await?;
    let tz = zone(&me.user.time_zone);
    let when = format!("{} → {}", label(start, &tz), label(end, &tz));
    let coverer = names.get(&user).cloned().unwrap_or_default();
    if let Some(r) = &replaces {
        state
            .store
            .add_notice(
                r,
                &format!("{coverer} covers your shift on {}: {when}", info.name),
                Some(&format!("/schedules/{id}")),
                now,
            )
            .await?;
    }
    if user != me.user.id {
        state
            .store
            .add_notice(
                &user,
                &format!("You cover a shift on {}: {when}", info.name),
                Some(&format!("/schedules/{id}")),
                now,
            )
            .await?;
    }
    tracing::info!(schedule = %info.name, by = %me.user.email, "override created");
    Ok(Redirect::to(&format!(
        "/schedules/{id}?view=agenda&date={}",
        start.to_zoned(tz).date()
    ))
    .into_response())
}

/// Form: ask someone to take my shift.
#[derive(Deserialize)]
pub struct SwapForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    note: String,
}

/// `POST /schedules/{id}/swaps`: open a swap request for (part of) my own shift.
pub async fn create_swap(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<SwapForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    let info = state.store.schedule_info(&id).await?;
    let start = parse_ms("start", &form.start)?;
    let end = parse_ms("end", &form.end)?;
    let full = state.store.schedule_full(&id, start, end).await?;
    let now = now_ms();
    let members = permission::members(&full.schedule, now_ts()?);
    permission::check(
        Some(actor(&me)),
        Relation {
            member: members.contains(me.user.id.as_str()),
        },
        &Action::OfferSwap {
            schedule: &full.schedule,
            start,
            end,
        },
    )?;
    let window = Window::new(start, end)?;
    let note = app::domain::validate::optional_text("note", &form.note, 300)?;
    let swap_id = state
        .store
        .create_swap(
            &id,
            &me.user.id,
            window.start,
            window.end,
            note.as_deref(),
            now,
        )
        .await?;
    let tz = zone(&me.user.time_zone);
    let when = format!("{} → {}", label(window.start, &tz), label(window.end, &tz));
    for member in members {
        if member != me.user.id {
            state
                .store
                .add_notice(
                    member,
                    &format!(
                        "{} asks someone to take {when} on {}",
                        me.user.name, info.name
                    ),
                    Some(&format!("/schedules/{id}/swaps")),
                    now,
                )
                .await?;
        }
    }
    tracing::info!(schedule = %info.name, swap = %swap_id, by = %me.user.email, "swap requested");
    Ok(Redirect::to(&format!("/schedules/{id}/swaps?done=asked")).into_response())
}

/// Query of the swaps page.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn swaps_page(
    state: &AppState,
    me: &SessionInfo,
    schedule: Option<String>,
    done: &str,
) -> Result<Html<String>, AppError> {
    let names = user_names(state).await?;
    let schedules: HashMap<String, String> = state
        .store
        .list_schedules()
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let tz = zone(&me.user.time_zone);
    let swaps = state
        .store
        .list_swaps(schedule.as_deref(), false)
        .await?
        .into_iter()
        .map(|r| {
            let who = |u: &str| {
                names
                    .get(u)
                    .cloned()
                    .unwrap_or_else(|| "(removed user)".into())
            };
            let req = &r.request;
            SwapView {
                id: req.id.clone(),
                schedule_id: r.schedule_id.clone(),
                schedule_name: schedules.get(&r.schedule_id).cloned().unwrap_or_default(),
                requester: who(&req.requester),
                mine: req.requester == me.user.id,
                when: format!("{} → {}", label(req.start, &tz), label(req.end, &tz)),
                note: r.note.clone(),
                state: match &req.state {
                    SwapState::Open => "Open: waiting for a teammate".into(),
                    SwapState::Accepted { by } => format!("Taken by {}", who(by)),
                    SwapState::Declined { by } => format!("Declined by {}", who(by)),
                    SwapState::Withdrawn => "Withdrawn".into(),
                },
                open: req.state == SwapState::Open,
            }
        })
        .collect::<Vec<_>>();
    let notice = match done {
        "asked" => {
            Some("Your teammates were asked. You stay on call until someone accepts.".to_string())
        }
        "accepted" => {
            Some("Thanks! The shift is yours now; the calendar shows the change.".to_string())
        }
        "declined" => Some("Declined.".to_string()),
        "withdrawn" => Some("Request withdrawn.".to_string()),
        _ => None,
    };
    let title = match &schedule {
        Some(s) => format!(
            "Swap requests: {}",
            schedules.get(s).cloned().unwrap_or_default()
        ),
        None => "Swap requests".to_string(),
    };
    let v = viewer(me);
    Ok(Html(render_document(
        "Swap requests · Firstline",
        None,
        None,
        move || {
            view! { <SwapsPage viewer=v title=title swaps=swaps notice=notice/> }
        },
    )))
}

/// `GET /swaps`.
pub async fn all_swaps(
    State(state): State<AppState>,
    Member(me): Member,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    may_view(&me)?;
    swaps_page(&state, &me, None, &q.done).await
}

/// `GET /schedules/{id}/swaps`.
pub async fn schedule_swaps(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    may_view(&me)?;
    state.store.schedule_info(&id).await?;
    swaps_page(&state, &me, Some(id), &q.done).await
}

/// A form with only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /schedules/{id}/swaps/{swap}/{action}`: accept, decline or withdraw.
pub async fn swap_action(
    State(state): State<AppState>,
    Member(me): Member,
    Path((id, swap_id, action)): Path<(String, String, String)>,
    ValidForm(form): ValidForm<CsrfForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    let record = state.store.swap(&swap_id).await?;
    if record.schedule_id != id {
        return Err(AppError::NotFound);
    }
    let info = state.store.schedule_info(&id).await?;
    let req: &SwapRequest = &record.request;
    let requester = req.requester.as_str();
    let asked = match action.as_str() {
        "accept" => Action::AcceptSwap { requester },
        "decline" => Action::DeclineSwap { requester },
        "withdraw" => Action::WithdrawSwap { requester },
        _ => return Err(AppError::NotFound),
    };
    let full = state.store.schedule_full(&id, req.start, req.end).await?;
    permission::check(
        Some(actor(&me)),
        Relation::of(&full.schedule, &me.user.id, now_ts()?),
        &asked,
    )?;
    let now = now_ms();
    let tz = zone(&me.user.time_zone);
    let when = format!("{} → {}", label(req.start, &tz), label(req.end, &tz));
    let result = match action.as_str() {
        "accept" => {
            let (next, o) = req.accept(&me.user.id)?;
            state
                .store
                .resolve_swap(&next, Some((&id, &o)), now)
                .await
                .map(|_| "accepted")
        }
        "decline" => {
            let next = req.decline(&me.user.id)?;
            state
                .store
                .resolve_swap(&next, None, now)
                .await
                .map(|_| "declined")
        }
        "withdraw" => {
            let next = req.withdraw()?;
            state
                .store
                .resolve_swap(&next, None, now)
                .await
                .map(|_| "withdrawn")
        }
        _ => return Err(AppError::NotFound),
    };
    let done = match result {
        Ok(d) => d,
        Err(StoreError::Conflict { .. }) => {
            return Err(AppError::Conflict(ValidationError::new(
                "state",
                "this request was already answered by someone else",
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if done == "accepted" {
        let link = format!("/schedules/{id}");
        state
            .store
            .add_notice(
                &req.requester,
                &format!("{} took your shift {when} on {}", me.user.name, info.name),
                Some(&link),
                now,
            )
            .await?;
        state
            .store
            .add_notice(
                &me.user.id,
                &format!("You took {when} on {}", info.name),
                Some(&link),
                now,
            )
            .await?;
    } else if done == "declined" {
        state
            .store
            .add_notice(
                &req.requester,
                &format!("{} can't take {when} on {}", me.user.name, info.name),
                Some(&format!("/schedules/{id}/swaps")),
                now,
            )
            .await?;
    }
    tracing::info!(swap = %swap_id, action = %done, by = %me.user.email, "swap answered");
    Ok(Redirect::to(&format!("/schedules/{id}/swaps?done={done}")).into_response())
}

fn ical_url(state: &AppState, kind: &str, token: &str) -> String {
    format!("{}/ical/{kind}/{token}.ics", state.config.base_url)
}

/// `GET /my/shifts`: the next 8 weeks across schedules.
pub async fn my_shifts(
    State(state): State<AppState>,
    Member(me): Member,
) -> Result<Html<String>, AppError> {
    let names = user_names(&state).await?;
    let tz = zone(&me.user.time_zone);
    let now =
        Timestamp::from_millisecond(now_ms()).map_err(|e| AppError::Internal(e.to_string()))?;
    let window = Window::new(now, now + jiff::SignedDuration::from_hours(24 * 56))?;
    let mut shifts = Vec::new();
    for info in state.store.list_schedules().await? {
        let full = load(&state, &info.id, &window).await?;
        shifts.extend(
            expand(&full.schedule, &window)
                .iter()
                .filter(|s| s.user.as_deref() == Some(me.user.id.as_str()))
                .map(|s| shift_view(s, &info, &names, &me.user.id, &tz)),
        );
    }
    shifts.sort_by_key(|s| s.start_ms);
    let url = ical_url(
        &state,
        "user",
        &state.store.user_ical_token(&me.user.id).await?,
    );
    let zone_name = me.user.time_zone.clone();
    let v = viewer(&me);
    Ok(Html(render_document(
        "My shifts · Firstline",
        None,
        None,
        move || {
            view! { <MyShiftsPage viewer=v zone=zone_name shifts=shifts ical_url=url/> }
        },
    )))
}

/// `GET /profile`.
pub async fn profile(
    State(state): State<AppState>,
    Member(me): Member,
    Query(q): Query<DoneQuery>,
) -> Result<Html<String>, AppError> {
    profile_page(
        &state,
        &me,
        &me.user.time_zone,
        match q.done.as_str() {
            "saved" => Some("Saved.".into()),
            "rotated" => {
                Some("The old link no longer works. Subscribe again with the new one.".into())
            }
            _ => None,
        },
        None,
    )
    .await
}

async fn profile_page(
    state: &AppState,
    me: &SessionInfo,
    tz: &str,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Html<String>, AppError> {
    let url = ical_url(
        state,
        "user",
        &state.store.user_ical_token(&me.user.id).await?,
    );
    let v = viewer(me);
    let tz = tz.to_string();
    Ok(Html(render_document(
        "Profile · Firstline",
        None,
        None,
        move || {
            view! { <ProfilePage viewer=v time_zone=tz ical_url=url notice=notice error=error/> }
        },
    )))
}

/// Form: profile.
#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    time_zone: String,
}

/// `POST /profile`: change the time zone.
pub async fn save_profile(
    State(state): State<AppState>,
    Member(me): Member,
    ValidForm(form): ValidForm<ProfileForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    let tz = form.time_zone.trim();
    if tz.is_empty() || tz.len() > 64 || TimeZone::get(tz).is_err() {
        let page = profile_page(
            &state,
            &me,
            tz,
            None,
            Some(format!(
                "time_zone: unknown time zone {tz:?}; use an IANA name like Europe/Berlin"
            )),
        )
        .await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    state.store.set_user_time_zone(&me.user.id, tz).await?;
    Ok(Redirect::to("/profile?done=saved").into_response())
}

/// `POST /schedules/{id}/ical/rotate`: revoke the schedule's feed URL (admins).
pub async fn rotate_schedule_ical(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<CsrfForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    permission::check(Some(actor(&me)), Relation::default(), &Action::RotateIcal)?;
    state.store.rotate_schedule_ical_token(&id).await?;
    Ok(Redirect::to(&format!("/schedules/{id}")).into_response())
}

/// `POST /profile/ical/rotate`: revoke the feed URL.
pub async fn rotate_ical(
    State(state): State<AppState>,
    Member(me): Member,
    ValidForm(form): ValidForm<CsrfForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    state.store.rotate_user_ical_token(&me.user.id).await?;
    Ok(Redirect::to("/profile?done=rotated").into_response())
}

// ---- JSON API ----

/// A JSON error: `{"error": "...", "field": "..."}` with the right status.
pub struct ApiError(AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError(e.into())
    }
}
impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError(r.into())
    }
}
impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let (message, field) = match &self.0 {
            AppError::Validation(v) | AppError::Conflict(v) => {
                (v.to_string(), Some(v.field.clone()))
            }
            AppError::Internal(d) => {
                tracing::error!(error = %d, "internal error");
                ("internal error".to_string(), None)
            }
            other => (other.to_string(), None),
        };
        (
            status,
            Json(serde_json::json!({ "error": message, "field": field })),
        )
            .into_response()
    }
}

/// One schedule's current on-call person, in the JSON API.
#[derive(Serialize)]
pub struct OnCallJson {
    schedule_id: String,
    schedule_name: String,
    user: Option<UserJson>,
    until: Option<String>,
    next: Option<UserJson>,
}

/// A user in the JSON API.
#[derive(Serialize, Clone)]
pub struct UserJson {
    id: String,
    name: String,
}

/// `GET /api/v1/oncall`: who is on call now, per schedule.
pub async fn api_oncall(
    State(state): State<AppState>,
    member: Result<Member, AppError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    may_view(&member?.0)?;
    let names = user_names(&state).await?;
    let now =
        Timestamp::from_millisecond(now_ms()).map_err(|e| AppError::Internal(e.to_string()))?;
    let window = Window::new(
        now,
        now + jiff::SignedDuration::from_hours(24 * GAP_HORIZON_DAYS),
    )?;
    let user = |u: &Option<String>| {
        u.as_ref().map(|id| UserJson {
            id: id.clone(),
            name: names.get(id).cloned().unwrap_or_default(),
        })
    };
    let mut out = Vec::new();
    for info in state.store.list_schedules().await? {
        let full = load(&state, &info.id, &window).await?;
        let shifts = expand(&full.schedule, &window);
        let cur = oncall_at(&shifts, now);
        let next = next_handoff(&shifts, now);
        out.push(OnCallJson {
            schedule_id: info.id,
            schedule_name: info.name,
            user: cur.and_then(|s| user(&s.user)),
            until: next.map(|n| n.start.to_string()),
            next: next.and_then(|n| user(&n.user)),
        });
    }
    Ok(Json(serde_json::json!({ "oncall": out })))
}

/// Query of the shifts API.
#[derive(Deserialize)]
pub struct ShiftsQuery {
    from: Option<String>,
    to: Option<String>,
}

fn parse_rfc3339(field: &str, v: Option<&str>) -> Result<Timestamp, ValidationError> {
    let v = v.ok_or_else(|| {
        ValidationError::new(field, "is required (RFC 3339, e.g. 2026-11-24T00:00:00Z)")
    })?;
    v.parse::<Timestamp>().map_err(|_| {
        ValidationError::new(field, "must be an RFC 3339 time like 2026-11-24T00:00:00Z")
    })
}

/// `GET /api/v1/schedules/{id}/shifts?from=&to=`: final shifts with their source.
pub async fn api_shifts(
    State(state): State<AppState>,
    member: Result<Member, AppError>,
    Path(id): Path<String>,
    Query(q): Query<ShiftsQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    may_view(&member?.0)?;
    let from = parse_rfc3339("from", q.from.as_deref())?;
    let to = parse_rfc3339("to", q.to.as_deref())?;
    let window = Window::new(from, to)?;
    let full = load(&state, &id, &window).await?;
    let names = user_names(&state).await?;
    let shifts: Vec<serde_json::Value> = expand(&full.schedule, &window)
        .into_iter()
        .map(|s| {
            serde_json::json!({
                "start": s.start.to_string(),
                "end": s.end.to_string(),
                "user": s.user.as_ref().map(|u| serde_json::json!({"id": u, "name": names.get(u)})),
                "source": match &s.source {
                    Some(ShiftSource::Layer { layer_id }) => serde_json::json!({"kind": "layer", "layer_id": layer_id}),
                    Some(ShiftSource::Override { override_id }) => serde_json::json!({"kind": "override", "override_id": override_id}),
                    None => serde_json::json!({"kind": "gap"}),
                },
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "schedule": {"id": full.info.id, "name": full.info.name, "time_zone": full.info.time_zone},
        "from": from.to_string(),
        "to": to.to_string(),
        "shifts": shifts,
    })))
}

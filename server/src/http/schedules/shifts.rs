//! One shift: its page, covering it (an override) and my shifts across schedules.

use crate::store::NoticeDraft;
use app::domain::notice::{NoticeKind, ShiftAbout};
use app::domain::permission::{self, Action, Cover, Relation};
use app::domain::schedule::{expand, Override, Shift, Window};
use app::pages::render_document;
use app::pages::schedule::{MyShiftsPage, ShiftPage};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;
use serde::Deserialize;

use super::{ical_url, label, may_view, parse_ms, shift_view, user_names, viewer, zone};
use crate::http::error::AppError;
use crate::http::session::{actor, check_csrf, Member, ValidForm};
use crate::state::AppState;

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
        Relation::of(&full.schedule, &me.user.id, state.clock.now()),
        &Action::Cover(Cover {
            user: &user,
            // Only an active person can take a shift.
            user_known: super::active_user_names(&state).await?.contains_key(&user),
            replaces: replaces.as_deref(),
            replaces_known: replaces.as_ref().is_some_and(|r| names.contains_key(r)),
            start,
            end,
            schedule: &full.schedule,
        }),
    )?;
    let o = Override {
        id: crate::store::new_id(),
        user: user.clone(),
        start,
        end,
        replaces: replaces.clone(),
    };
    o.validate()?;
    let tz = zone(&me.user.time_zone);
    let when = format!("{} → {}", label(start, &tz), label(end, &tz));
    let coverer = names.get(&user).cloned().unwrap_or_default();
    let link = Some(format!("/schedules/{id}"));
    let mut notices = Vec::new();
    if let Some(r) = &replaces {
        notices.push(NoticeDraft {
            user_id: r.clone(),
            message: format!("{coverer} covers your shift on {}: {when}", info.name),
            link: link.clone(),
            about: Some(ShiftAbout {
                kind: NoticeKind::Covered,
                schedule: info.name.clone(),
                by: Some(coverer.clone()),
                start_ms: start.as_millisecond(),
                end_ms: end.as_millisecond(),
                open: vec![],
                link: format!("/schedules/{id}"),
            }),
        });
    }
    if user != me.user.id {
        notices.push(NoticeDraft {
            user_id: user.clone(),
            message: format!("You cover a shift on {}: {when}", info.name),
            link,
            about: Some(ShiftAbout {
                kind: NoticeKind::Covering,
                schedule: info.name.clone(),
                by: Some(me.user.name.clone()),
                start_ms: start.as_millisecond(),
                end_ms: end.as_millisecond(),
                open: vec![],
                link: format!("/schedules/{id}"),
            }),
        });
    }
    // The override and its notices commit together.
    state
        .store
        .create_override_with_notices(
            &id,
            &o,
            None,
            Some(&me.user.id),
            &notices,
            state.clock.now_ms(),
        )
        .await?;
    tracing::info!(schedule = %info.name, by = %me.user.email, "override created");
    Ok(Redirect::to(&format!(
        "/schedules/{id}?view=agenda&date={}",
        start.to_zoned(tz).date()
    ))
    .into_response())
}

/// `GET /my/shifts`: the next 8 weeks across schedules.
pub async fn my_shifts(
    State(state): State<AppState>,
    Member(me): Member,
) -> Result<Html<String>, AppError> {
    let names = user_names(&state).await?;
    let tz = zone(&me.user.time_zone);
    let now = state.clock.now();
    let window = Window::new(now, now + jiff::SignedDuration::from_hours(24 * 56))?;
    let mut shifts = Vec::new();
    for full in state.store.schedules_full(window.start, window.end).await? {
        shifts.extend(
            expand(&full.schedule, &window)
                .iter()
                .filter(|s| s.user.as_deref() == Some(me.user.id.as_str()))
                .map(|s| shift_view(s, &full.info, &names, &me.user.id, &tz)),
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

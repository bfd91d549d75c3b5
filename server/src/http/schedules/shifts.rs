//! One shift: its page, covering it (an override) and my shifts across schedules.

use crate::store::NoticeDraft;
use app::domain::notice::{NoticeKind, ShiftAbout};
use app::domain::permission::{self, Action, Cover, Relation};
use app::domain::schedule::{expand, Override, Shift, ShiftSource, Window};
use app::domain::stretch::{self, Stretch};
use app::pages::render_document;
use app::pages::schedule::{
    AskConfirmPage, AskPart, MyShiftsPage, MyStretch, ShiftPage, ShiftView,
};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;
use serde::Deserialize;

use super::{
    hide_draft, ical_url, label, may_view, parse_ms, shift_view, user_names, viewer, zone,
};
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
    shift_view_page(&state, &me, &id, &q.start, &q.end, &q.user, None).await
}

/// One shift's page (`[start, end)` in Unix ms as given, `user` on call), with a refused
/// action's sentence.
async fn shift_view_page(
    state: &AppState,
    me: &crate::store::SessionInfo,
    id: &str,
    start: &str,
    end: &str,
    user: &str,
    error: Option<String>,
) -> Result<Html<String>, AppError> {
    let info = state.store.schedule_info(id).await?;
    if info.draft && !me.user.role.is_admin() {
        return Err(AppError::NotFound);
    }
    let start = parse_ms("start", start)?;
    let end = parse_ms("end", end)?;
    let window = Window::new(start, end)?;
    let names = user_names(state).await?;
    let tz = zone(&me.user.time_zone);
    let user = (!user.is_empty()).then(|| user.to_string());
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
    // An open request of the viewer's over this time: said, instead of offering to ask again.
    let asked = state
        .store
        .list_swaps(Some(id), true)
        .await?
        .into_iter()
        .find(|r| {
            r.request.requester == me.user.id
                && r.request.start < window.end
                && r.request.end > window.start
        })
        .map(|r| {
            format!(
                "You asked your teammates to take {} → {}. Waiting for someone to accept; you stay on call until then.",
                label(r.request.start, &tz),
                label(r.request.end, &tz)
            )
        });
    let zone_name = me.user.time_zone.clone();
    let v = viewer(me);
    let id = id.to_string();
    Ok(Html(render_document(
        "Shift · Firstline",
        None,
        None,
        move || {
            view! { <ShiftPage viewer=v schedule_id=id shift=sv members=members error=error zone=zone_name asked=asked/> }
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
    let (start, end, replaces) = (form.start.clone(), form.end.clone(), form.replaces.clone());
    match cover_checked(&state, &me, &id, form).await {
        Ok(r) => Ok(r),
        // A refusal is the shift page again with the sentence (no raw field name).
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_) | AppError::Forbidden(_))) => {
            let sentence = match &e {
                AppError::Validation(v) | AppError::Conflict(v) => match v.message.as_str() {
                    "no such user" => {
                        "That person is not known here or cannot take shifts; choose someone from the list."
                            .to_string()
                    }
                    // The rules' clauses ("an override cannot replace the same person") as sentences.
                    m => {
                        let mut c = m.chars();
                        let first = c.next().map(|f| f.to_uppercase().collect::<String>());
                        app::pages::fields::sentence("", &format!("{}{}", first.unwrap_or_default(), c.as_str()))
                    }
                },
                other => other.to_string(),
            };
            let page =
                shift_view_page(&state, &me, &id, &start, &end, &replaces, Some(sentence)).await?;
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e),
    }
}

async fn cover_checked(
    state: &AppState,
    me: &crate::store::SessionInfo,
    id: &str,
    form: OverrideForm,
) -> Result<Response, AppError> {
    let (state, id) = (state.clone(), id.to_string());
    let info = state.store.schedule_info(&id).await?;
    hide_draft(me, info.draft)?;
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
        Some(actor(me)),
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
    let zones = super::user_zones(&state).await?;
    let coverer = names.get(&user).cloned().unwrap_or_default();
    let link = Some(format!("/schedules/{id}"));
    // Each notice is worded in its recipient's zone.
    let draft = |to: &str, kind: NoticeKind, by: String| {
        let about = ShiftAbout {
            kind,
            schedule: info.name.clone(),
            by: Some(by),
            start_ms: start.as_millisecond(),
            end_ms: end.as_millisecond(),
            open: vec![],
            link: format!("/schedules/{id}"),
        };
        let zone = zones.get(to).map(String::as_str).unwrap_or("UTC");
        let message = match kind {
            NoticeKind::Covering => format!(
                "You cover a shift on {}: {}.",
                info.name,
                super::when_in(start, end, zone)
            ),
            _ => super::notice_sentence(&about, zone),
        };
        NoticeDraft {
            user_id: to.to_string(),
            message,
            link: link.clone(),
            about: Some(about),
        }
    };
    let mut notices = Vec::new();
    if let Some(r) = &replaces {
        notices.push(draft(r, NoticeKind::Covered, coverer.clone()));
    }
    if user != me.user.id {
        notices.push(draft(&user, NoticeKind::Covering, me.user.name.clone()));
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

/// `GET /my/shifts`: the next 8 weeks across schedules, back-to-back pieces of one schedule
/// as one stretch, each saying whether it already has an open request.
pub async fn my_shifts(
    State(state): State<AppState>,
    Member(me): Member,
) -> Result<Html<String>, AppError> {
    let tz = zone(&me.user.time_zone);
    let now = state.clock.now();
    let window = Window::new(now, now + jiff::SignedDuration::from_hours(24 * 56))?;
    let mut pieces = Vec::new();
    let mut infos = std::collections::HashMap::new();
    for full in state.store.schedules_full(window.start, window.end).await? {
        // A draft's shifts are not real yet.
        if full.info.draft {
            continue;
        }
        pieces.extend(
            expand(&full.schedule, &window)
                .iter()
                .filter(|s| s.user.as_deref() == Some(me.user.id.as_str()))
                .map(|s| Stretch {
                    key: full.info.id.clone(),
                    start: s.start.as_millisecond(),
                    end: s.end.as_millisecond(),
                    covering: matches!(s.source, Some(ShiftSource::Override { .. })),
                }),
        );
        infos.insert(full.info.id.clone(), full.info);
    }
    let open: Vec<_> = state
        .store
        .list_swaps(None, true)
        .await?
        .into_iter()
        .filter(|r| r.request.requester == me.user.id)
        .collect();
    let mut shifts = Vec::new();
    for st in stretch::merge(&pieces) {
        let Some(info) = infos.get(&st.key) else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            jiff::Timestamp::from_millisecond(st.start),
            jiff::Timestamp::from_millisecond(st.end),
        ) else {
            continue;
        };
        let requests: Vec<_> = open
            .iter()
            .filter(|r| r.schedule_id == st.key && r.request.start < end && r.request.end > start)
            .collect();
        let asked = requests
            .iter()
            .map(|r| {
                format!(
                    "You asked your teammates to take {} → {}. Waiting for someone to accept; you stay on call until then.",
                    label(r.request.start, &tz),
                    label(r.request.end, &tz)
                )
            })
            .collect();
        let taken: Vec<(i64, i64)> = requests
            .iter()
            .map(|r| {
                (
                    r.request.start.as_millisecond(),
                    r.request.end.as_millisecond(),
                )
            })
            .collect();
        let rest = stretch::uncovered(st.start, st.end, &taken)
            .into_iter()
            .filter_map(|(a, b)| {
                Some(AskPart {
                    start_ms: a,
                    end_ms: b,
                    start_label: label(jiff::Timestamp::from_millisecond(a).ok()?, &tz),
                    end_label: label(jiff::Timestamp::from_millisecond(b).ok()?, &tz),
                })
            })
            .collect();
        let view = ShiftView {
            schedule_id: info.id.clone(),
            schedule_name: info.name.clone(),
            user_id: Some(me.user.id.clone()),
            user_name: me.user.name.clone(),
            start_ms: st.start,
            end_ms: st.end,
            start_label: label(start, &tz),
            end_label: label(end, &tz),
            source: if st.covering { "override" } else { "layer" },
            mine: true,
        };
        shifts.push(MyStretch {
            shift: view,
            asked,
            rest,
        });
    }
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

/// Form: the first step of asking someone to take a stretch (from My shifts).
#[derive(Deserialize)]
pub struct AskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
}

/// `POST /schedules/{id}/swaps/ask`: the confirmation step ("Ask your teammates to take ...?"
/// with an optional note); nothing is asked until it is confirmed.
pub async fn ask_confirm(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<AskForm>,
) -> Result<Html<String>, AppError> {
    check_csrf(&me, &form.csrf)?;
    ask_page(
        &state,
        &me,
        &id,
        &form.start,
        &form.end,
        String::new(),
        None,
    )
    .await
}

/// The confirmation page of asking for `[start, end)` (Unix ms as typed), with the note kept
/// and the sentence of a refused attempt.
pub(super) async fn ask_page(
    state: &AppState,
    me: &crate::store::SessionInfo,
    id: &str,
    start: &str,
    end: &str,
    note: String,
    error: Option<String>,
) -> Result<Html<String>, AppError> {
    may_view(me)?;
    let info = state.store.schedule_info(id).await?;
    if info.draft {
        return Err(AppError::NotFound);
    }
    let start = parse_ms("start", start)?;
    let end = parse_ms("end", end)?;
    let window = Window::new(start, end)?;
    let names = user_names(state).await?;
    let tz = zone(&me.user.time_zone);
    let shift = Shift {
        start: window.start,
        end: window.end,
        user: Some(me.user.id.clone()),
        source: None,
    };
    let sv = shift_view(&shift, &info, &names, &me.user.id, &tz);
    let zone_name = me.user.time_zone.clone();
    let note: String = note.chars().take(300).collect();
    let v = viewer(me);
    Ok(Html(render_document(
        "Ask someone to take this · Firstline",
        None,
        None,
        move || {
            view! { <AskConfirmPage viewer=v shift=sv zone=zone_name note=note error=error/> }
        },
    )))
}

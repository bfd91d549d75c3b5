//! Swap requests: asking a teammate to take (part of) my shift, and answering the request.

use std::collections::HashMap;

use crate::store::{NoticeDraft, SessionInfo, StoreError};
use app::domain::notice::{NoticeKind, ShiftAbout};
use app::domain::permission::{self, Action, Relation};
use app::domain::schedule::{SwapRequest, SwapState, Window};
use app::domain::ValidationError;
use app::pages::render_document;
use app::pages::schedule::{SwapView, SwapsPage};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;
use serde::Deserialize;

use super::{hide_draft, label, may_view, parse_ms, user_names, viewer, zone, CsrfForm, DoneQuery};
use crate::http::error::AppError;
use crate::http::session::{actor, check_csrf, Member, ValidForm};
use crate::state::AppState;

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

/// `POST /schedules/{id}/swaps`: open a swap request for (part of) my own shift. A refusal
/// (a note too long, a time already asked for, a shift that is not the asker's) shows the
/// confirmation page again with the sentence and the note kept.
pub async fn create_swap(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<SwapForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    let (start, end, note) = (form.start.clone(), form.end.clone(), form.note.clone());
    match create_swap_checked(&state, &me, &id, form).await {
        Ok(r) => Ok(r),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_) | AppError::Forbidden(_))) => {
            let sentence = match &e {
                AppError::Validation(v) | AppError::Conflict(v) => {
                    let label = if v.field == "note" {
                        "The note"
                    } else {
                        "The time"
                    };
                    app::pages::fields::sentence(label, &v.message)
                }
                other => other.to_string(),
            };
            let page =
                super::shifts::ask_page(&state, &me, &id, &start, &end, note, Some(sentence))
                    .await?;
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(e),
    }
}

async fn create_swap_checked(
    state: &AppState,
    me: &SessionInfo,
    id: &str,
    form: SwapForm,
) -> Result<Response, AppError> {
    let (state, id) = (state.clone(), id.to_string());
    let info = state.store.schedule_info(&id).await?;
    // A draft's shifts are not real yet: nobody is asked to take them.
    if info.draft {
        return Err(AppError::NotFound);
    }
    let start = parse_ms("start", &form.start)?;
    let end = parse_ms("end", &form.end)?;
    let full = state.store.schedule_full(&id, start, end).await?;
    let now = state.clock.now_ms();
    let members = permission::members(&full.schedule, state.clock.now());
    permission::check(
        Some(actor(me)),
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
    let zones = super::user_zones(&state).await?;
    let notices: Vec<NoticeDraft> = members
        .into_iter()
        .filter(|m| *m != me.user.id)
        .map(|m| {
            let about = ShiftAbout {
                kind: NoticeKind::SwapAsked,
                schedule: info.name.clone(),
                by: Some(me.user.name.clone()),
                start_ms: window.start.as_millisecond(),
                end_ms: window.end.as_millisecond(),
                open: vec![],
                link: format!("/schedules/{id}/swaps"),
            };
            NoticeDraft {
                user_id: m.to_string(),
                message: super::notice_sentence(
                    &about,
                    zones.get(m).map(String::as_str).unwrap_or("UTC"),
                ),
                link: Some(format!("/schedules/{id}/swaps")),
                about: Some(about),
            }
        })
        .collect();
    // The request and the notices asking the teammates commit together, unless the person
    // already has an open request for this time (asking again would notify everyone twice).
    let swap_id = match state
        .store
        .create_swap_with_notices(
            &id,
            &me.user.id,
            window.start,
            window.end,
            note.as_deref(),
            &notices,
            now,
        )
        .await
    {
        Ok(swap_id) => swap_id,
        Err(StoreError::Conflict { field: "start" }) => {
            return Err(AppError::Conflict(ValidationError::new(
                "start",
                "You already asked your teammates to take this time; that request is still open.",
            )))
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(schedule = %info.name, swap = %swap_id, by = %me.user.email, "swap requested");
    Ok(Redirect::to(&format!("/schedules/{id}/swaps?done=asked")).into_response())
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
    let zone_name = me.user.time_zone.clone();
    Ok(Html(render_document(
        "Swap requests · Firstline",
        None,
        None,
        move || {
            view! { <SwapsPage viewer=v title=title swaps=swaps notice=notice zone=zone_name/> }
        },
    )))
}

/// The open swap requests `me` could take (on schedules whose rotation includes them, asked
/// by someone else, not over yet), and `me`'s own open requests, oldest first, times in
/// `me`'s zone: the dashboard's "For you" and "Your requests".
pub async fn open_requests(
    state: &AppState,
    me: &SessionInfo,
) -> Result<(Vec<SwapView>, Vec<SwapView>), AppError> {
    let names = user_names(state).await?;
    let now = state.clock.now();
    let tz = zone(&me.user.time_zone);
    let schedules = state
        .store
        .schedules_full(now, now + jiff::SignedDuration::from_hours(1))
        .await?;
    let mut takeable = Vec::new();
    let mut mine = Vec::new();
    let mut open = state.store.list_swaps(None, true).await?;
    open.reverse();
    for r in open {
        let req = &r.request;
        let Some(full) = schedules.iter().find(|f| f.info.id == r.schedule_id) else {
            continue;
        };
        if req.end <= now || full.info.draft {
            continue;
        }
        let view = SwapView {
            id: req.id.clone(),
            schedule_id: r.schedule_id.clone(),
            schedule_name: full.info.name.clone(),
            requester: names
                .get(&req.requester)
                .cloned()
                .unwrap_or_else(|| "(removed user)".into()),
            mine: req.requester == me.user.id,
            when: format!("{} → {}", label(req.start, &tz), label(req.end, &tz)),
            note: r.note.clone(),
            state: "Open: waiting for a teammate".into(),
            open: true,
        };
        if view.mine {
            mine.push(view);
        } else if permission::members(&full.schedule, now).contains(me.user.id.as_str()) {
            takeable.push(view);
        }
    }
    Ok((takeable, mine))
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
    hide_draft(&me, state.store.schedule_info(&id).await?.draft)?;
    swaps_page(&state, &me, Some(id), &q.done).await
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
        Relation::of(&full.schedule, &me.user.id, state.clock.now()),
        &asked,
    )?;
    let now = state.clock.now_ms();
    let zones = super::user_zones(&state).await?;
    let zone_of = |u: &str| zones.get(u).cloned().unwrap_or_else(|| "UTC".into());
    let about = |kind: NoticeKind, link: String| ShiftAbout {
        kind,
        schedule: info.name.clone(),
        by: Some(me.user.name.clone()),
        start_ms: req.start.as_millisecond(),
        end_ms: req.end.as_millisecond(),
        open: vec![],
        link,
    };
    let link = Some(format!("/schedules/{id}"));
    let swaps_link = Some(format!("/schedules/{id}/swaps"));
    // Each answer writes the request's new state, its override (when accepted) and its
    // notices in one transaction.
    let result = match action.as_str() {
        "accept" => {
            let (next, o) = req.accept(&me.user.id)?;
            let taken = about(NoticeKind::SwapTaken, format!("/schedules/{id}"));
            let notices = [
                NoticeDraft {
                    user_id: req.requester.clone(),
                    message: super::notice_sentence(&taken, &zone_of(&req.requester)),
                    link: link.clone(),
                    about: Some(taken),
                },
                NoticeDraft {
                    user_id: me.user.id.clone(),
                    message: format!(
                        "You took {} on {}.",
                        super::when_in(req.start, req.end, &zone_of(&me.user.id)),
                        info.name
                    ),
                    link,
                    about: None,
                },
            ];
            state
                .store
                .resolve_swap(&next, Some((&id, &o)), &notices, now)
                .await
                .map(|_| "accepted")
        }
        "decline" => {
            let next = req.decline(&me.user.id)?;
            let declined = about(NoticeKind::SwapDeclined, format!("/schedules/{id}/swaps"));
            let notice = NoticeDraft {
                user_id: req.requester.clone(),
                message: super::notice_sentence(&declined, &zone_of(&req.requester)),
                link: swaps_link,
                about: Some(declined),
            };
            state
                .store
                .resolve_swap(&next, None, &[notice], now)
                .await
                .map(|_| "declined")
        }
        "withdraw" => {
            let next = req.withdraw()?;
            state
                .store
                .resolve_swap(&next, None, &[], now)
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
    tracing::info!(swap = %swap_id, action = %done, by = %me.user.email, "swap answered");
    Ok(Redirect::to(&format!("/schedules/{id}/swaps?done={done}")).into_response())
}

//! The profile page: the viewer's time zone and personal iCal link.

use crate::store::SessionInfo;
use app::pages::render_document;
use app::pages::schedule::ProfilePage;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::tz::TimeZone;
use leptos::prelude::*;
use serde::Deserialize;

use super::{ical_url, viewer, DoneQuery};
use crate::http::error::AppError;
use crate::http::session::{check_csrf, Member, ValidForm};
use crate::state::AppState;

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

//! Revoking iCal feed links: a schedule's (admins) and one's own.

use app::domain::permission::{self, Action, Relation};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::CsrfForm;
use crate::http::error::AppError;
use crate::http::session::{actor, check_csrf, Member, ValidForm};
use crate::state::AppState;

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

//! Public and signed-in pages: `/`, `/status`, `/dashboard`.

use app::pages::dashboard::{DashboardPage, TeamSummary};
use app::pages::render_document;
use app::pages::status::StatusPage;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;

use super::error::AppError;
use super::session::{MaybeSession, Member};
use crate::state::AppState;

/// `/`: the status page for visitors, the dashboard for people who are logged in.
pub async fn home(state: State<AppState>, session: MaybeSession) -> Response {
    if session.0.is_some() {
        return Redirect::to("/dashboard").into_response();
    }
    status_page(state, session).await
}

/// `/status`: the public status page, complete without JavaScript; one island keeps it live.
pub async fn status_page(State(state): State<AppState>, session: MaybeSession) -> Response {
    let current = state.hub.current();
    let snapshot = (*current.snapshot).clone();
    let viewer = session.viewer();
    let page_name = state.page_name.clone();
    let title = format!("{} status: {}", page_name, snapshot.indicator.description());
    let description = format!("Current status of {page_name} services and incidents.");
    let html = render_document(&title, state.hydration(), Some(&description), move || {
        view! { <StatusPage viewer=viewer page_name=page_name snapshot=snapshot/> }
    });
    ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response()
}

/// `/dashboard`: the signed-in home page.
pub async fn dashboard(
    State(state): State<AppState>,
    member: Member,
) -> Result<Html<String>, AppError> {
    let teams = state
        .store
        .list_teams()
        .await?
        .into_iter()
        .map(|t| TeamSummary {
            name: t.name,
            members: t.members.into_iter().map(|u| u.name).collect(),
        })
        .collect::<Vec<_>>();
    let viewer = MaybeSession(Some(member.0)).viewer();
    let snapshot = (*state.hub.current().snapshot).clone();
    Ok(Html(render_document("Firstline", None, None, move || {
        view! { <DashboardPage viewer=viewer snapshot=snapshot teams=teams/> }
    })))
}

/// Any unknown path.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

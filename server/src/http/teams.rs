//! Teams (`/admin/teams`): create, rename, delete (only while it owns nothing) and set members.
//! Who may is decided by [`permission::check`] with [`Action::ManageTeams`].

use crate::store::{SessionInfo, StoreError};
use app::domain::people::team_name;
use app::domain::permission::{self, Action, Relation};
use app::domain::ValidationError;
use app::pages::people::{TeamView, TeamsPage};
use app::pages::{render_document, urlencode};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;
use serde::Deserialize;

use super::error::AppError;
use super::session::{actor, Admin, Member, ValidForm};
use crate::state::AppState;

/// The session, once [`permission::check`] lets it manage teams.
fn teams_admin(me: SessionInfo) -> Result<Admin, AppError> {
    permission::check(Some(actor(&me)), Relation::default(), &Action::ManageTeams)?;
    Ok(Admin(me))
}

async fn page(
    state: &AppState,
    admin: &Admin,
    new_name: String,
    error_on: String,
    error: Option<ValidationError>,
    notice: Option<String>,
) -> Result<Html<String>, AppError> {
    let teams: Vec<TeamView> = state
        .store
        .list_teams()
        .await?
        .into_iter()
        .map(|t| {
            // A deactivated member keeps the membership (back on reactivation) but is not shown.
            let active: Vec<_> = t.members.into_iter().filter(|m| m.is_active()).collect();
            TeamView {
                member_names: active
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                members: active.into_iter().map(|m| m.id).collect(),
                id: t.id,
                name: t.name,
                chat_url: String::new(),
                chat_flavor: String::new(),
            }
        })
        .collect();
    let mut teams = teams;
    for t in &mut teams {
        if let Some(c) = state.store.team_chat(&t.id).await? {
            t.chat_url = c.url;
            t.chat_flavor = c.flavor;
        }
    }
    let people: Vec<(String, String)> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.is_active())
        .map(|u| (u.id, u.name))
        .collect();
    let viewer = admin.viewer();
    Ok(Html(render_document(
        "Teams · Firstline",
        None,
        None,
        move || {
            view! {
                <TeamsPage viewer=viewer teams=teams people=people new_name=new_name error_on=error_on
                    error=error notice=notice/>
            }
        },
    )))
}

/// Query of the teams page.
#[derive(Deserialize, Default)]
pub struct TeamsQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    t: String,
}

/// `GET /admin/teams`.
pub async fn list(
    State(state): State<AppState>,
    Member(me): Member,
    Query(q): Query<TeamsQuery>,
) -> Result<Html<String>, AppError> {
    let admin = teams_admin(me)?;
    let name = match state.store.team(&q.t).await {
        Ok(t) => t.name,
        Err(_) => "The team".into(),
    };
    let notice = match q.done.as_str() {
        "created" => Some(format!("Added {name}.")),
        "renamed" => Some(format!("Renamed to {name}.")),
        "members" => Some(format!("Saved the members of {name}.")),
        "deleted" => Some("Team deleted.".to_string()),
        "chat" => Some(format!("Saved the chat channel of {name}.")),
        _ => None,
    };
    page(&state, &admin, String::new(), String::new(), None, notice).await
}

fn done(what: &str, id: &str) -> Response {
    Redirect::to(&format!("/admin/teams?done={what}&t={}", urlencode(id))).into_response()
}

/// A team name form post.
#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// The page again with the error on form `on` (`new` or a team id).
async fn refused(
    state: &AppState,
    admin: &Admin,
    status: StatusCode,
    new_name: String,
    on: &str,
    e: ValidationError,
) -> Result<Response, AppError> {
    let html = page(state, admin, new_name, on.to_string(), Some(e), None).await?;
    Ok((status, html).into_response())
}

fn taken(field: &str) -> ValidationError {
    ValidationError::new(field, "another team already has this name")
}

/// `POST /admin/teams`: create.
pub async fn create(
    State(state): State<AppState>,
    Member(me): Member,
    ValidForm(form): ValidForm<NameForm>,
) -> Result<Response, AppError> {
    let admin = teams_admin(me)?;
    admin.check_csrf(&form.csrf)?;
    let kept: String = form.name.chars().take(200).collect();
    let name = match team_name(&form.name) {
        Ok(n) => n,
        Err(e) => return refused(&state, &admin, StatusCode::BAD_REQUEST, kept, "new", e).await,
    };
    match state
        .store
        .create_team(&name, None, state.clock.now_ms())
        .await
    {
        Ok(id) => {
            tracing::info!(team = %name, by = %admin.0.user.email, "team created");
            Ok(done("created", &id))
        }
        Err(StoreError::Conflict { field }) => {
            refused(
                &state,
                &admin,
                StatusCode::CONFLICT,
                kept,
                "new",
                taken(field),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/teams/{id}`: rename.
pub async fn rename(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<NameForm>,
) -> Result<Response, AppError> {
    let admin = teams_admin(me)?;
    admin.check_csrf(&form.csrf)?;
    state.store.team(&id).await?;
    let name = match team_name(&form.name) {
        Ok(n) => n,
        Err(e) => {
            return refused(
                &state,
                &admin,
                StatusCode::BAD_REQUEST,
                String::new(),
                &id,
                e,
            )
            .await
        }
    };
    match state.store.rename_team(&id, &name).await {
        Ok(()) => Ok(done("renamed", &id)),
        Err(StoreError::Conflict { field }) => {
            refused(
                &state,
                &admin,
                StatusCode::CONFLICT,
                String::new(),
                &id,
                taken(field),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/teams/{id}/members`: the checked people become the members (repeated
/// `member` fields).
pub async fn set_members(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(pairs): ValidForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let admin = teams_admin(me)?;
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    admin.check_csrf(csrf)?;
    let members: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k == "member" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
        .collect();
    match state.store.set_team_members(&id, &members).await {
        Ok(()) => Ok(done("members", &id)),
        Err(StoreError::Invalid(e)) => {
            refused(
                &state,
                &admin,
                StatusCode::BAD_REQUEST,
                String::new(),
                &id,
                e,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// A form with only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/teams/{id}/delete`: only a team that owns nothing.
pub async fn delete(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<CsrfForm>,
) -> Result<Response, AppError> {
    let admin = teams_admin(me)?;
    admin.check_csrf(&form.csrf)?;
    match state.store.delete_team(&id).await {
        Ok(()) => {
            tracing::info!(team = %id, by = %admin.0.user.email, "team deleted");
            Ok(Redirect::to("/admin/teams?done=deleted").into_response())
        }
        Err(StoreError::Invalid(e)) => {
            refused(&state, &admin, StatusCode::CONFLICT, String::new(), &id, e).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Form: a team's chat channel.
#[derive(Deserialize)]
pub struct ChatForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    flavor: String,
}

/// `POST /admin/teams/{id}/chat`: set (or, empty, clear) the team's chat channel. The URL is
/// checked against the outbound policy here, and again at every post.
pub async fn set_chat(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<ChatForm>,
) -> Result<Response, AppError> {
    use app::domain::notify::ChatFlavor;
    let admin = teams_admin(me)?;
    admin.check_csrf(&form.csrf)?;
    state.store.team(&id).await?;
    let url = form.url.trim();
    if url.is_empty() {
        state.store.set_team_chat(&id, None).await?;
        return Ok(done("chat", &id));
    }
    let checked = if url.len() > 500 {
        Err(ValidationError::new(
            "url",
            "the URL is longer than 500 characters",
        ))
    } else if !(url.starts_with("https://") || url.starts_with("http://")) {
        Err(ValidationError::new(
            "url",
            "the URL starts with https:// (or http://)",
        ))
    } else {
        crate::outbound::check_url(url, state.outbound.policy())
            .map_err(|r| ValidationError::new("url", format!("Firstline may not call it: {r}")))
    };
    let flavor = match form.flavor.trim() {
        "" => Ok(ChatFlavor::guess(url).unwrap_or(ChatFlavor::Slack)),
        f => ChatFlavor::parse(f).ok_or_else(|| {
            ValidationError::new("flavor", "choose Slack, Mattermost, Discord or Zulip")
        }),
    };
    let flavor = match checked.and(flavor) {
        Ok(f) => f,
        Err(e) => {
            return refused(
                &state,
                &admin,
                StatusCode::BAD_REQUEST,
                String::new(),
                &id,
                e,
            )
            .await
        }
    };
    let chat = crate::store::TeamChat {
        team: String::new(),
        url: url.to_string(),
        flavor: flavor.as_str().to_string(),
    };
    state.store.set_team_chat(&id, Some(&chat)).await?;
    Ok(done("chat", &id))
}

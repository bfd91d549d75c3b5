//! Admin handlers for status-page components. Every change commits (its write announces the
//! status page to the live hub, so the next request and every open page see it), then
//! redirects (303).

use crate::store::Component;
use app::domain::status::{ComponentInput, ComponentStatus};
use app::domain::ValidationError;
use app::pages::admin::{AdminComponent, ComponentsPage, EditComponentPage};
use app::pages::{render_document, urlencode};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;
use serde::Deserialize;

use super::error::AppError;
use super::session::{Admin, ValidForm};
use crate::format::display_time;
use crate::state::AppState;

/// A component form post: the fields plus the CSRF token.
#[derive(Deserialize)]
pub struct ComponentForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: ComponentInput,
}

/// A status-only form post.
#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

/// A form with only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Query of the list page: which change to confirm.
#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    c: String,
}

fn input_of(c: &Component) -> ComponentInput {
    ComponentInput {
        name: c.name.clone(),
        description: c.description.clone().unwrap_or_default(),
        group: c.group_name.clone().unwrap_or_default(),
        position: c.position.to_string(),
        // The admin's own setting: what holds it (an incident, a monitor) is not theirs to save.
        status: c.manual_status.as_str().to_string(),
    }
}

async fn list_page(
    state: &AppState,
    admin: &Admin,
    form: ComponentInput,
    error: Option<ValidationError>,
    notice: Option<String>,
) -> Result<Html<String>, AppError> {
    let tz = admin.0.user.time_zone.clone();
    let components = state
        .store
        .list_components()
        .await?
        .into_iter()
        .map(|c| AdminComponent {
            id: c.id,
            name: c.name,
            group: c.group_name,
            status: c.status,
            updated: display_time(c.updated_at, &tz),
        })
        .collect::<Vec<_>>();
    let viewer = admin.viewer();
    Ok(Html(render_document(
        "Components · Firstline",
        None,
        None,
        move || {
            view! { <ComponentsPage viewer=viewer components=components form=form error=error notice=notice/> }
        },
    )))
}

/// `GET /admin/components`.
pub async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, AppError> {
    let notice = match q.done.as_str() {
        "deleted" => Some("Component deleted.".to_string()),
        "" => None,
        done => match state.store.component(&q.c).await {
            Ok(c) => Some(match done {
                "created" => format!("Added {}.", c.name),
                "status" => format!("{} is now: {}.", c.name, c.status.label()),
                _ => format!("Saved {}.", c.name),
            }),
            Err(_) => None,
        },
    };
    let form = ComponentInput {
        status: ComponentStatus::Operational.as_str().into(),
        ..Default::default()
    };
    list_page(&state, &admin, form, None, notice).await
}

fn redirect_done(done: &str, id: &str) -> Response {
    Redirect::to(&format!(
        "/admin/components?done={done}&c={}",
        urlencode(id)
    ))
    .into_response()
}

/// `POST /admin/components`: create.
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ValidForm(form): ValidForm<ComponentForm>,
) -> Result<Response, AppError> {
    admin.check_csrf(&form.csrf)?;
    let draft = match form.input.normalize() {
        Ok(d) => d,
        Err(e) => {
            let page = list_page(&state, &admin, form.input, Some(e), None).await?;
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
    };
    match state
        .store
        .create_component(&draft, Some(&admin.0.user.id), state.clock.now_ms())
        .await
    {
        Ok(c) => {
            tracing::info!(component = %c.name, by = %admin.0.user.email, "component created");
            Ok(redirect_done("created", &c.id))
        }
        Err(crate::store::StoreError::Conflict { field }) => {
            let e = ValidationError::new(field, "another component already has this name");
            let page = list_page(&state, &admin, form.input, Some(e), None).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

fn edit_page(
    admin: &Admin,
    id: String,
    form: ComponentInput,
    error: Option<ValidationError>,
) -> Html<String> {
    let viewer = admin.viewer();
    let title = format!("Edit {} · Firstline", form.name);
    Html(render_document(&title, None, None, move || {
        view! { <EditComponentPage viewer=viewer id=id form=form error=error/> }
    }))
}

/// `GET /admin/components/{id}`.
pub async fn edit_form(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let c = state.store.component(&id).await?;
    Ok(edit_page(&admin, id, input_of(&c), None))
}

/// `POST /admin/components/{id}`: save all fields.
pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<ComponentForm>,
) -> Result<Response, AppError> {
    admin.check_csrf(&form.csrf)?;
    // 404 before validation, so a bad id is not reported as a bad field.
    state.store.component(&id).await?;
    let draft = match form.input.normalize() {
        Ok(d) => d,
        Err(e) => {
            return Ok((
                StatusCode::BAD_REQUEST,
                edit_page(&admin, id, form.input, Some(e)),
            )
                .into_response())
        }
    };
    match state
        .store
        .update_component(&id, &draft, Some(&admin.0.user.id), state.clock.now_ms())
        .await
    {
        Ok(c) => {
            tracing::info!(component = %c.name, by = %admin.0.user.email, "component updated");
            Ok(redirect_done("updated", &c.id))
        }
        Err(crate::store::StoreError::Conflict { field }) => {
            let e = ValidationError::new(field, "another component already has this name");
            Ok((
                StatusCode::CONFLICT,
                edit_page(&admin, id, form.input, Some(e)),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/components/{id}/status`: change only the status.
pub async fn set_status(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<StatusForm>,
) -> Result<Response, AppError> {
    admin.check_csrf(&form.csrf)?;
    let status: ComponentStatus = form.status.trim().parse()?;
    let c = state
        .store
        .set_component_status(&id, status, Some(&admin.0.user.id), state.clock.now_ms())
        .await?;
    tracing::info!(component = %c.name, status = %status, by = %admin.0.user.email, "component status changed");
    Ok(redirect_done("status", &c.id))
}

/// `POST /admin/components/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<CsrfForm>,
) -> Result<Response, AppError> {
    admin.check_csrf(&form.csrf)?;
    state.store.delete_component(&id).await?;
    tracing::info!(component = %id, by = %admin.0.user.email, "component deleted");
    Ok(Redirect::to("/admin/components?done=deleted").into_response())
}

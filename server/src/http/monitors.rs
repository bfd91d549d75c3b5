//! Admin handlers for monitors (HTTP probes, heartbeats) with their alerts, and for
//! subscribers (webhooks added by an admin; email subscribers come from the public page).

use crate::store::StoreError;
use app::domain::monitor::{MonitorInput, MonitorKind};
use app::domain::subscription::{SubscribeInput, SubscriberKind};
use app::domain::ValidationError;
use app::pages::render_document;
use app::pages::status_admin::{
    AlertRow, MonitorRow, MonitorsPage, SubscriberRow, SubscribersPage,
};
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;

use super::error::AppError;
use super::incidents::{component_choices, field, Fields};
use super::session::{Admin, ValidForm};
use crate::format::display_time;
use crate::state::AppState;

/// The outbound policy's verdict on an admin-set URL, as a form error on `url`. Decides what it
/// can without DNS; probes and deliveries check resolved addresses again on every request.
fn check_outbound_url(state: &AppState, url: &str) -> Result<(), ValidationError> {
    crate::outbound::check_url(url, state.outbound.policy())
        .map_err(|r| ValidationError::new("url", r.to_string()))
}

async fn monitors_page(
    state: &AppState,
    admin: &Admin,
    form: MonitorInput,
    error: Option<ValidationError>,
) -> Result<Response, AppError> {
    let tz = admin.0.user.time_zone.clone();
    let components = component_choices(state).await?;
    let services: Vec<(String, String)> = state
        .store
        .services()
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let service_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| services.iter().find(|(sid, _)| sid == id))
            .map(|(_, n)| format!(" · pages {n}"))
            .unwrap_or_default()
    };
    let name_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| components.iter().find(|c| c.id == *id))
            .map(|c| c.name.clone())
    };
    let monitors = state
        .store
        .monitors()
        .await?
        .into_iter()
        .map(|m| {
            let last = match m.last_checked_at {
                Some(t) => format!(
                    "last {} {}{}",
                    if m.kind == MonitorKind::Heartbeat {
                        "event"
                    } else {
                        "check"
                    },
                    display_time(t, &tz),
                    m.last_latency_ms
                        .map(|l| format!(" ({l} ms)"))
                        .unwrap_or_default()
                ),
                None => "not checked yet".into(),
            };
            MonitorRow {
                target: match m.kind {
                    MonitorKind::Http => m.url.clone().unwrap_or_default(),
                    MonitorKind::Heartbeat => format!(
                        "{}/hooks/heartbeat/{}",
                        state.config.base_url,
                        m.token.clone().unwrap_or_default()
                    ),
                },
                detail: format!(
                    "{} every {} s · down after {} failures · {last}",
                    if m.kind == MonitorKind::Heartbeat {
                        "expects a ping"
                    } else {
                        "checks"
                    },
                    m.interval_s,
                    m.failure_threshold
                ) + &service_of(&m.service_id),
                component: name_of(&m.component_id),
                state: m.state.as_str().into(),
                error: m.last_error.clone(),
                id: m.id,
                name: m.name,
            }
        })
        .collect();
    let alerts = state
        .store
        .alerts(50)
        .await?
        .into_iter()
        .map(|a| AlertRow {
            summary: a.summary,
            status: a.status,
            when: display_time(a.created_at, &tz),
            details: a.details,
        })
        .collect();
    let viewer = admin.viewer();
    let code = super::error::form_status(&error);
    let html = render_document("Monitors · Firstline", None, None, move || {
        view! { <MonitorsPage viewer=viewer monitors=monitors alerts=alerts components=components services=services form=form error=error/> }
    });
    Ok((code, Html(html)).into_response())
}

/// `GET /admin/monitors`.
pub async fn list(State(state): State<AppState>, admin: Admin) -> Result<Response, AppError> {
    monitors_page(&state, &admin, MonitorInput::default(), None).await
}

/// `POST /admin/monitors`.
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    admin.check_csrf(&field(&fields, "csrf"))?;
    let input = MonitorInput {
        kind: field(&fields, "kind"),
        name: field(&fields, "name"),
        component: field(&fields, "component"),
        service: field(&fields, "service"),
        url: field(&fields, "url"),
        interval: field(&fields, "interval"),
        timeout: field(&fields, "timeout"),
        expect_status: field(&fields, "expect_status"),
        keyword: field(&fields, "keyword"),
        failures: field(&fields, "failures"),
    };
    let draft = match input
        .normalize(std::slice::from_ref(&state.config.base_url))
        .and_then(|d| match &d.url {
            Some(url) => check_outbound_url(&state, url).map(|()| d),
            None => Ok(d),
        }) {
        Ok(d) => d,
        Err(e) => return monitors_page(&state, &admin, input, Some(e)).await,
    };
    match state
        .store
        .create_monitor(&draft, state.clock.now_ms())
        .await
    {
        Ok(_) => {}
        Err(StoreError::Invalid(e)) => return monitors_page(&state, &admin, input, Some(e)).await,
        Err(StoreError::Conflict { field }) => {
            let e = ValidationError::new(field, "is already taken; choose another");
            return monitors_page(&state, &admin, input, Some(e)).await;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/admin/monitors").into_response())
}

/// `POST /admin/monitors/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    admin.check_csrf(&field(&fields, "csrf"))?;
    let token = state.store.monitor(&id).await?.token;
    state
        .store
        .delete_monitor(&id, state.clock.now_ms())
        .await?;
    // A ping just before would otherwise still be answered from memory for a few seconds.
    if let Some(t) = token {
        state.heartbeats.release(&t);
    }
    Ok(Redirect::to("/admin/monitors").into_response())
}

async fn subscribers_page(
    state: &AppState,
    admin: &Admin,
    error: Option<ValidationError>,
) -> Result<Response, AppError> {
    let components = state.store.list_components().await?;
    let subscribers = state
        .store
        .subscribers(false)
        .await?
        .into_iter()
        .map(|s| SubscriberRow {
            kind: s.kind.as_str().into(),
            target: s.target,
            state: if s.confirmed_at.is_some() {
                "confirmed".into()
            } else {
                "waiting for confirmation".into()
            },
            components: if s.components.is_empty() {
                "all components".into()
            } else {
                s.components
                    .iter()
                    .map(|id| {
                        components
                            .iter()
                            .find(|c| c.id == *id)
                            .map(|c| c.name.clone())
                            .unwrap_or_else(|| "(removed)".into())
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            id: s.id,
        })
        .collect();
    let backlog = state.store.job_backlog().await?;
    let viewer = admin.viewer();
    let code = super::error::form_status(&error);
    let html = render_document("Subscribers · Firstline", None, None, move || {
        view! { <SubscribersPage viewer=viewer subscribers=subscribers backlog=backlog error=error/> }
    });
    Ok((code, Html(html)).into_response())
}

/// `GET /admin/subscribers`.
pub async fn subscribers(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Response, AppError> {
    subscribers_page(&state, &admin, None).await
}

/// `POST /admin/subscribers`: add a webhook subscriber.
pub async fn add_webhook(
    State(state): State<AppState>,
    admin: Admin,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    admin.check_csrf(&field(&fields, "csrf"))?;
    let input = SubscribeInput {
        kind: SubscriberKind::Webhook.as_str().into(),
        target: field(&fields, "url"),
        components: Vec::new(),
    };
    let draft = match input
        .normalize()
        .and_then(|d| check_outbound_url(&state, &d.target).map(|()| d))
    {
        Ok(d) => d,
        Err(e) => return subscribers_page(&state, &admin, Some(e)).await,
    };
    state
        .store
        .subscribe(&draft, "admin", state.clock.now_ms())
        .await?;
    Ok(Redirect::to("/admin/subscribers").into_response())
}

/// `POST /admin/subscribers/{id}/delete`.
pub async fn delete_subscriber(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    admin.check_csrf(&field(&fields, "csrf"))?;
    state.store.delete_subscriber(&id).await?;
    Ok(Redirect::to("/admin/subscribers").into_response())
}

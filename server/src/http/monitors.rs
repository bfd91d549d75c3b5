//! Admin handlers for monitors (HTTP probes, heartbeats) with their alerts, and for
//! subscribers (webhooks added by an admin; email subscribers come from the public page).

use crate::store::StoreError;
use app::domain::monitor::{MonitorInput, MonitorKind};
use app::domain::subscription::{SubscribeInput, SubscriberKind};
use app::domain::ValidationError;
use app::pages::render_document;
use app::pages::status_admin::{
    count, AlertRow, MonitorEditPage, MonitorRow, MonitorsPage, SubscriberRow, SubscribersPage,
};
use axum::extract::{Path, Query, State};
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

/// Query of the list page: which change to confirm.
#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn services_of(state: &AppState) -> Result<Vec<(String, String)>, AppError> {
    Ok(state
        .store
        .services()
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

async fn monitors_page(
    state: &AppState,
    admin: &Admin,
    form: MonitorInput,
    error: Option<ValidationError>,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let tz = admin.0.user.time_zone.clone();
    let components = component_choices(state).await?;
    let services = services_of(state).await?;
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
                detail: if m.paused_at.is_some() {
                    format!(
                        "paused {} · not checked, opens no alerts",
                        display_time(m.paused_at.unwrap_or_default(), &tz)
                    )
                } else {
                    format!(
                        "{} every {} s · down after {} in a row · {last}",
                        if m.kind == MonitorKind::Heartbeat {
                            "expects a ping"
                        } else {
                            "checks"
                        },
                        m.interval_s,
                        count(m.failure_threshold, "failure", "failures")
                    )
                } + &service_of(&m.service_id),
                component: name_of(&m.component_id),
                paused: m.paused_at.is_some(),
                state: if m.paused_at.is_some() {
                    "paused".into()
                } else {
                    m.state.as_str().into()
                },
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
            details: readable_details(&a.details),
        })
        .collect();
    let viewer = admin.viewer();
    let code = super::error::form_status(&error);
    let html = render_document("Monitors · Firstline", None, None, move || {
        view! { <MonitorsPage viewer=viewer monitors=monitors alerts=alerts components=components services=services form=form error=error notice=notice/> }
    });
    Ok((code, Html(html)).into_response())
}

/// An alert's details as people read them: an Alertmanager-style JSON payload becomes its
/// description (or summary); anything else is shown as it came, cut to a line or two.
fn readable_details(details: &str) -> String {
    let text = serde_json::from_str::<serde_json::Value>(details)
        .ok()
        .and_then(|v| {
            let a = &v["annotations"];
            a["description"]
                .as_str()
                .or(a["summary"].as_str())
                .or(v["description"].as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| details.to_string());
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// `GET /admin/monitors`.
pub async fn list(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let notice = match q.done.as_str() {
        "added" => Some("Monitor added.".to_string()),
        "saved" => Some("Monitor saved. It is checked again from now on.".to_string()),
        "paused" => Some(
            "Monitor paused. It is not checked and opens no alerts until you resume it."
                .to_string(),
        ),
        "resumed" => Some("Monitor resumed. It is checked again from now on.".to_string()),
        "deleted" => Some("Monitor deleted.".to_string()),
        _ => None,
    };
    monitors_page(&state, &admin, MonitorInput::default(), None, notice).await
}

fn monitor_input(fields: &Fields) -> MonitorInput {
    MonitorInput {
        kind: field(fields, "kind"),
        name: field(fields, "name"),
        component: field(fields, "component"),
        service: field(fields, "service"),
        url: field(fields, "url"),
        interval: field(fields, "interval"),
        timeout: field(fields, "timeout"),
        expect_status: field(fields, "expect_status"),
        keyword: field(fields, "keyword"),
        failures: field(fields, "failures"),
    }
}

fn monitor_draft(
    state: &AppState,
    input: &MonitorInput,
) -> Result<app::domain::monitor::MonitorDraft, ValidationError> {
    input
        .normalize(std::slice::from_ref(&state.config.base_url))
        .and_then(|d| match &d.url {
            Some(url) => check_outbound_url(state, url).map(|()| d),
            None => Ok(d),
        })
}

async fn edit_page(
    state: &AppState,
    admin: &Admin,
    id: &str,
    form: Option<MonitorInput>,
    error: Option<ValidationError>,
) -> Result<Response, AppError> {
    let m = state.store.monitor(id).await?;
    let mut form = form.unwrap_or_else(|| m.input());
    // The kind is fixed once created, whatever a refused post said.
    form.kind = m.kind.as_str().to_string();
    let components = component_choices(state).await?;
    let services = services_of(state).await?;
    let viewer = admin.viewer();
    let code = super::error::form_status(&error);
    let id = id.to_string();
    let paused = m.paused_at.is_some();
    let html = render_document("Edit monitor · Firstline", None, None, move || {
        view! { <MonitorEditPage viewer=viewer id=id form=form error=error components=components services=services paused=paused/> }
    });
    Ok((code, Html(html)).into_response())
}

/// `GET /admin/monitors/{id}`: the edit form.
pub async fn edit_form(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    edit_page(&state, &admin, &id, None, None).await
}

/// `POST /admin/monitors/{id}`: save changed settings.
pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    admin.check_csrf(&field(&fields, "csrf"))?;
    let input = monitor_input(&fields);
    let draft = match monitor_draft(&state, &input) {
        Ok(d) => d,
        Err(e) => return edit_page(&state, &admin, &id, Some(input), Some(e)).await,
    };
    let before = state.store.monitor(&id).await?;
    match state
        .store
        .update_monitor(&id, &draft, state.clock.now_ms())
        .await
    {
        Ok(_) => {}
        Err(StoreError::Invalid(e)) => {
            return edit_page(&state, &admin, &id, Some(input), Some(e)).await
        }
        Err(StoreError::Conflict { field }) => {
            let e = ValidationError::new(field, "is already taken; choose another");
            return edit_page(&state, &admin, &id, Some(input), Some(e)).await;
        }
        Err(e) => return Err(e.into()),
    }
    if let Some(t) = before.token {
        state.heartbeats.release(&t);
    }
    Ok(Redirect::to("/admin/monitors?done=saved").into_response())
}

/// `POST /admin/monitors/{id}/pause`.
pub async fn pause(
    state: State<AppState>,
    admin: Admin,
    id: Path<String>,
    form: ValidForm<Fields>,
) -> Result<Response, AppError> {
    set_paused(state, admin, id, form, true).await
}

/// `POST /admin/monitors/{id}/resume`.
pub async fn resume(
    state: State<AppState>,
    admin: Admin,
    id: Path<String>,
    form: ValidForm<Fields>,
) -> Result<Response, AppError> {
    set_paused(state, admin, id, form, false).await
}

async fn set_paused(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
    paused: bool,
) -> Result<Response, AppError> {
    admin.check_csrf(&field(&fields, "csrf"))?;
    let m = state
        .store
        .set_monitor_paused(&id, paused, state.clock.now_ms())
        .await?;
    if let Some(t) = m.token {
        state.heartbeats.release(&t);
    }
    let done = if paused { "paused" } else { "resumed" };
    Ok(Redirect::to(&format!("/admin/monitors?done={done}")).into_response())
}

/// `POST /admin/monitors`.
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    admin.check_csrf(&field(&fields, "csrf"))?;
    let input = monitor_input(&fields);
    let draft = match monitor_draft(&state, &input) {
        Ok(d) => d,
        Err(e) => return monitors_page(&state, &admin, input, Some(e), None).await,
    };
    match state
        .store
        .create_monitor(&draft, state.clock.now_ms())
        .await
    {
        Ok(_) => {}
        Err(StoreError::Invalid(e)) => {
            return monitors_page(&state, &admin, input, Some(e), None).await
        }
        Err(StoreError::Conflict { field }) => {
            let e = ValidationError::new(field, "is already taken; choose another");
            return monitors_page(&state, &admin, input, Some(e), None).await;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/admin/monitors?done=added").into_response())
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
    Ok(Redirect::to("/admin/monitors?done=deleted").into_response())
}

async fn subscribers_page(
    state: &AppState,
    admin: &Admin,
    error: Option<ValidationError>,
    url: String,
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
    let email = state.services.mail.is_configured();
    let html = render_document("Subscribers · Firstline", None, None, move || {
        view! { <SubscribersPage viewer=viewer subscribers=subscribers backlog=backlog error=error email=email url=url/> }
    });
    Ok((code, Html(html)).into_response())
}

/// `GET /admin/subscribers`.
pub async fn subscribers(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Response, AppError> {
    subscribers_page(&state, &admin, None, String::new()).await
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
        Err(e) => return subscribers_page(&state, &admin, Some(e), field(&fields, "url")).await,
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

#[cfg(test)]
mod tests {
    use super::readable_details;

    #[test]
    fn alert_details_read_as_text() {
        let am = r#"{"annotations":{"description":"5.3% of index requests failed.","summary":"5xx"},"labels":{"a":"b"}}"#;
        assert_eq!(readable_details(am), "5.3% of index requests failed.");
        assert_eq!(
            readable_details(r#"{"annotations":{"summary":"5xx"}}"#),
            "5xx"
        );
        assert_eq!(readable_details("HTTP 500"), "HTTP 500");
        let long = "é".repeat(400);
        assert_eq!(readable_details(&long).chars().count(), 301);
    }
}

//! Responder handlers for incidents and maintenance: create, post updates (with component
//! statuses and postmortems), correct published text. Every change commits (queueing subscriber mail in the same
//! transaction), refreshes the live hub so the next request and every open page see it, then
//! redirects (303).

use crate::store::{Incident, IncidentFilter, NewIncident, NewUpdate, StoreError};
use app::domain::incident::{
    component_changes, Correction, IncidentInput, IncidentKind, IncidentStatus, MaintenanceInput,
    UpdateInput,
};
use app::domain::ValidationError;
use app::pages::render_document;
use app::pages::status_admin::{
    ComponentChoice, CorrectionRow, IncidentAdminPage, IncidentRow, IncidentsAdminPage,
};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;

use super::error::AppError;
use super::session::{Admin, Responder, ValidForm};
use crate::format::display_time;
use crate::state::AppState;

/// A raw form: every `name=value` pair in order (component fields are dynamic).
pub type Fields = Vec<(String, String)>;

/// The first value of `name`, or empty.
pub fn field(fields: &Fields, name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The component fields as typed (`component.{id}`, value), for a refused form.
fn picked(fields: &Fields) -> Vec<(String, String)> {
    fields
        .iter()
        .filter(|(k, _)| k.starts_with("component."))
        .cloned()
        .collect()
}

fn checked(fields: &Fields, name: &str) -> bool {
    fields.iter().any(|(k, v)| k == name && v == "true")
}

/// Components with their statuses, for the forms.
pub async fn component_choices(state: &AppState) -> Result<Vec<ComponentChoice>, AppError> {
    Ok(state
        .store
        .list_components()
        .await?
        .into_iter()
        .map(|c| ComponentChoice {
            id: c.id,
            name: c.name,
            status: c.status,
        })
        .collect())
}

fn row(i: &Incident, tz: &str) -> IncidentRow {
    IncidentRow {
        id: i.id.clone(),
        name: i.name.clone(),
        kind: match i.kind {
            IncidentKind::Incident => "Incident".into(),
            IncidentKind::Maintenance => "Maintenance".into(),
        },
        status: i.status.label().into(),
        impact: i.impact_str().into(),
        when: match (i.scheduled_for, i.scheduled_until) {
            (Some(s), Some(e)) => format!("{} to {}", display_time(s, tz), display_time(e, tz)),
            _ => format!("started {}", display_time(i.started_at, tz)),
        },
    }
}

async fn list_page(
    state: &AppState,
    who: &Responder,
    incident_form: IncidentInput,
    maintenance_form: MaintenanceInput,
    error: Option<(ValidationError, &'static str)>,
    picked: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let tz = who.0.user.time_zone.clone();
    let open = state
        .store
        .incidents(IncidentFilter {
            open_only: true,
            limit: 100,
            ..Default::default()
        })
        .await?;
    let recent = state
        .store
        .incidents(IncidentFilter {
            limit: 30,
            ..Default::default()
        })
        .await?;
    let open_rows = open.iter().map(|i| row(i, &tz)).collect();
    let recent_rows = recent
        .iter()
        .filter(|i| !i.status.is_open())
        .map(|i| row(i, &tz))
        .collect();
    let components = component_choices(state).await?;
    let viewer = who.viewer();
    let is_admin = viewer.is_admin;
    let status = super::error::form_status(&error);
    let (error, error_form) = match error {
        Some((e, f)) => (Some(e), f.to_string()),
        None => (None, String::new()),
    };
    let mut maintenance_form = maintenance_form;
    if maintenance_form.time_zone.is_empty() {
        maintenance_form.time_zone = tz;
    }
    let html = render_document("Incidents · Firstline", None, None, move || {
        view! {
            <IncidentsAdminPage viewer=viewer open=open_rows recent=recent_rows components=components
                incident_form=incident_form maintenance_form=maintenance_form error=error
                error_form=error_form is_admin=is_admin picked=picked/>
        }
    });
    Ok((status, Html(html)).into_response())
}

/// `GET /admin/incidents`.
pub async fn list(State(state): State<AppState>, who: Responder) -> Result<Response, AppError> {
    list_page(
        &state,
        &who,
        IncidentInput::default(),
        MaintenanceInput::default(),
        None,
        Vec::new(),
    )
    .await
}

fn store_validation(e: StoreError) -> Result<ValidationError, AppError> {
    match e {
        StoreError::Invalid(v) => Ok(v),
        other => Err(other.into()),
    }
}

/// `POST /admin/incidents`: publish a new incident.
pub async fn create(
    State(state): State<AppState>,
    who: Responder,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    who.check_csrf(&field(&fields, "csrf"))?;
    let input = IncidentInput {
        name: field(&fields, "name"),
        impact: field(&fields, "impact"),
        status: field(&fields, "status"),
        body: field(&fields, "body"),
        notify: checked(&fields, "notify"),
    };
    let fail = |e| {
        list_page(
            &state,
            &who,
            input.clone(),
            MaintenanceInput::default(),
            Some((e, "incident")),
            picked(&fields),
        )
    };
    let draft = match input.normalize() {
        Ok(d) => d,
        Err(e) => return fail(e).await,
    };
    let changes = match component_changes(&fields) {
        Ok(c) => c,
        Err(e) => return fail(e).await,
    };
    let new = NewIncident {
        kind: IncidentKind::Incident,
        name: draft.name,
        impact: draft.impact,
        status: draft.status,
        body: draft.body,
        components: changes,
        window: None,
        notify: draft.notify,
    };
    let id = match state
        .store
        .create_incident(&new, Some(&who.0.user.id), state.clock.now_ms())
        .await
    {
        Ok(id) => id,
        Err(e) => return fail(store_validation(e)?).await,
    };
    Ok(Redirect::to(&format!("/admin/incidents/{id}?done=published")).into_response())
}

/// `POST /admin/maintenance`: schedule a maintenance window.
pub async fn create_maintenance(
    State(state): State<AppState>,
    who: Responder,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    who.check_csrf(&field(&fields, "csrf"))?;
    let input = MaintenanceInput {
        name: field(&fields, "name"),
        body: field(&fields, "body"),
        starts: field(&fields, "starts"),
        ends: field(&fields, "ends"),
        time_zone: field(&fields, "time_zone"),
        notify: checked(&fields, "notify"),
    };
    let fail = |e| {
        list_page(
            &state,
            &who,
            IncidentInput::default(),
            input.clone(),
            Some((e, "maintenance")),
            picked(&fields),
        )
    };
    let draft = match input.normalize() {
        Ok(d) => d,
        Err(e) => return fail(e).await,
    };
    let changes = match component_changes(&fields) {
        Ok(c) => c,
        Err(e) => return fail(e).await,
    };
    let now = state.clock.now_ms();
    let new = NewIncident {
        kind: IncidentKind::Maintenance,
        name: draft.name,
        impact: app::domain::status::Impact::None,
        status: IncidentStatus::Scheduled,
        body: draft.body,
        components: changes,
        window: Some((draft.starts_at, draft.ends_at)),
        notify: draft.notify,
    };
    let id = match state
        .store
        .create_incident(&new, Some(&who.0.user.id), now)
        .await
    {
        Ok(id) => id,
        Err(e) => return fail(store_validation(e)?).await,
    };
    // A window that has already started moves on at once.
    if let Err(e) = state.store.advance_maintenance(now).await {
        tracing::warn!(error = %e, "advancing maintenance failed");
    }
    Ok(Redirect::to(&format!("/admin/incidents/{id}?done=scheduled")).into_response())
}

async fn detail_page(
    state: &AppState,
    who: &Responder,
    id: &str,
    error: Option<ValidationError>,
    body: String,
) -> Result<Response, AppError> {
    detail_page_with(state, who, id, error, body, None, Retry::default()).await
}

/// A refused update as typed, and what just happened, for the incident's admin page.
#[derive(Default)]
struct Retry {
    /// Status as chosen.
    status: Option<String>,
    /// Impact as chosen.
    impact: Option<String>,
    /// Component fields as chosen.
    picked: Vec<(String, String)>,
    /// `published`, `scheduled`, `updated`.
    done: String,
}

fn retry_of(fields: &Fields) -> Retry {
    Retry {
        status: Some(field(fields, "status")),
        impact: Some(field(fields, "impact")).filter(|i| !i.is_empty()),
        picked: picked(fields),
        done: String::new(),
    }
}

/// The incident's admin page; `typed` is a refused correction (`"title"` or the update id, and
/// the text as typed), shown open in its form so nothing typed is lost.
async fn detail_page_with(
    state: &AppState,
    who: &Responder,
    id: &str,
    error: Option<ValidationError>,
    body: String,
    typed: Option<(String, String)>,
    retry: Retry,
) -> Result<Response, AppError> {
    let inc = state.store.incident(id).await?;
    let tz = who.0.user.time_zone.clone();
    let mut card = crate::live::card(&inc, &tz);
    if let Some(i) = retry.impact {
        card.impact = i;
    }
    let statuses = match inc.kind {
        IncidentKind::Incident => IncidentStatus::INCIDENT.to_vec(),
        IncidentKind::Maintenance => IncidentStatus::MAINTENANCE.to_vec(),
    };
    let components = component_choices(state).await?;
    let viewer = who.viewer();
    let status_code = super::error::form_status(&error);
    let status = retry
        .status
        .unwrap_or_else(|| inc.status.as_str().to_string());
    let (done, picked) = (retry.done, retry.picked);
    let is_incident = inc.kind == IncidentKind::Incident;
    let title = format!("{} · Firstline", inc.name);
    let corrections: Vec<CorrectionRow> = inc
        .updates
        .iter()
        .map(|u| {
            let retry = typed.as_ref().filter(|(target, _)| *target == u.id);
            CorrectionRow {
                id: u.id.clone(),
                label: format!("{} · {}", u.status.label(), display_time(u.created_at, &tz)),
                body: retry.map_or_else(|| u.body.clone(), |(_, text)| text.clone()),
                open: retry.is_some(),
            }
        })
        .collect();
    let title_draft = typed
        .filter(|(target, _)| target == "title")
        .map(|(_, text)| text);
    let can_delete = who.0.user.role.is_admin() && inc.deletable();
    let oncall: Vec<(String, String)> = state
        .store
        .oncall_for_status_incident(id)
        .await?
        .into_iter()
        .map(|o| {
            (
                format!("/oncall/{}", o.id),
                format!("#{} {}", o.number, o.title),
            )
        })
        .collect();
    let html = render_document(&title, None, None, move || {
        view! {
            <IncidentAdminPage viewer=viewer card=card status=status statuses=statuses
                is_incident=is_incident components=components error=error body=body
                corrections=corrections title_draft=title_draft can_delete=can_delete oncall=oncall
                done=done picked=picked/>
        }
    });
    Ok((status_code, Html(html)).into_response())
}

/// `GET /admin/incidents/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    who: Responder,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let retry = Retry {
        done: q.done,
        ..Retry::default()
    };
    detail_page_with(&state, &who, &id, None, String::new(), None, retry).await
}

/// Query of the incident's admin page: which change to confirm.
#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// `POST /admin/incidents/{id}/title`: correct the title.
pub async fn correct_title(
    State(state): State<AppState>,
    who: Responder,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    who.check_csrf(&field(&fields, "csrf"))?;
    let name = field(&fields, "name");
    let correction = Correction::title(&name);
    correct(&state, &who, &id, correction, ("title".into(), name)).await
}

/// `POST /admin/incidents/{id}/updates/{update}/correct`: correct a published message.
pub async fn correct_message(
    State(state): State<AppState>,
    who: Responder,
    Path((id, update)): Path<(String, String)>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    who.check_csrf(&field(&fields, "csrf"))?;
    let body = field(&fields, "body");
    let correction = Correction::message(&update, &body);
    correct(&state, &who, &id, correction, (update, body)).await
}

/// `POST /admin/incidents/{id}/delete` (admins): deletes a closed incident or maintenance, or
/// cancels a maintenance that has not started. An open one gets 409 and the page again.
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    admin.check_csrf(&field(&fields, "csrf"))?;
    let who = Responder(admin.0);
    if !checked(&fields, "confirm") {
        let e = ValidationError::new("confirm", "tick the box to confirm the deletion");
        return detail_page(&state, &who, &id, Some(e), String::new()).await;
    }
    match state.store.delete_incident(&id, state.clock.now_ms()).await {
        Ok(()) => {}
        Err(StoreError::Invalid(e)) => {
            let mut page = detail_page(&state, &who, &id, Some(e), String::new()).await?;
            *page.status_mut() = axum::http::StatusCode::CONFLICT;
            return Ok(page);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/admin/incidents").into_response())
}

async fn correct(
    state: &AppState,
    who: &Responder,
    id: &str,
    correction: Result<Correction, ValidationError>,
    typed: (String, String),
) -> Result<Response, AppError> {
    let correction = match correction {
        Ok(c) => c,
        Err(e) => {
            return detail_page_with(
                state,
                who,
                id,
                Some(e),
                String::new(),
                Some(typed),
                Retry::default(),
            )
            .await
        }
    };
    state
        .store
        .correct_incident(id, &correction, state.clock.now_ms())
        .await?;
    Ok(Redirect::to(&format!("/admin/incidents/{id}")).into_response())
}

/// `POST /admin/incidents/{id}/updates`: post an update.
pub async fn post_update(
    State(state): State<AppState>,
    who: Responder,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    who.check_csrf(&field(&fields, "csrf"))?;
    let inc = state.store.incident(&id).await?;
    let input = UpdateInput {
        status: field(&fields, "status"),
        body: field(&fields, "body"),
        impact: field(&fields, "impact"),
        notify: checked(&fields, "notify"),
    };
    // One refusal path for every check: the page again, with the sentence and what was typed.
    let checked = input
        .normalize(inc.kind)
        .and_then(|draft| {
            if draft.status == IncidentStatus::Postmortem && inc.status.is_open() {
                Err(ValidationError::new(
                    "status",
                    "resolve the incident before publishing a postmortem",
                ))
            } else {
                Ok(draft)
            }
        })
        .and_then(|draft| Ok((draft, component_changes(&fields)?)));
    let (draft, changes) = match checked {
        Ok(c) => c,
        Err(e) => {
            return detail_page_with(
                &state,
                &who,
                &id,
                Some(e),
                input.body,
                None,
                retry_of(&fields),
            )
            .await
        }
    };
    let update = NewUpdate {
        status: draft.status,
        body: draft.body,
        impact: draft.impact,
        components: changes,
        notify: draft.notify,
    };
    if let Err(e) = state
        .store
        .add_update(
            &id,
            &update,
            None,
            Some(&who.0.user.id),
            state.clock.now_ms(),
        )
        .await
    {
        let v = store_validation(e)?;
        return detail_page_with(
            &state,
            &who,
            &id,
            Some(v),
            input.body,
            None,
            retry_of(&fields),
        )
        .await;
    }
    Ok(Redirect::to(&format!("/admin/incidents/{id}?done=updated")).into_response())
}

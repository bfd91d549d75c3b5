//! The profile page: the viewer's time zone, contact methods, the schedules involving them and
//! their personal iCal link.

use crate::store::{SessionInfo, StoreError};
use app::domain::escalation::Urgency;
use app::domain::notify;
use app::domain::people::ContactInput;
use app::domain::permission::{self, Action, Relation};
use app::domain::ValidationError;
use app::pages::contacts::{ContactForms, ContactView, ContactsPanel};
use app::pages::render_document;
use app::pages::schedule::ProfilePage;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::tz::TimeZone;
use leptos::prelude::*;
use serde::Deserialize;

use super::{ical_url, viewer, DoneQuery};
use crate::http::error::AppError;
use crate::http::session::{actor, check_csrf, Member, ValidForm};
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
            "contact_added" => Some("Email address added.".into()),
            "method_added" => {
                Some("Added. Send it a code and enter the code to start using it.".into())
            }
            "contact_removed" => Some("Contact method removed.".into()),
            "verified" => Some("Verified: pages can reach you there now.".into()),
            "rule_added" => Some("Rule added.".into()),
            "rule_removed" => Some("Rule removed.".into()),
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
    with_contacts(state, me, tz, notice, error, ContactsPanel::default()).await
}

/// The contact methods, rules and defaults of `me`, into `panel` (which holds the forms'
/// state and any message).
pub(crate) async fn fill_panel(
    state: &AppState,
    me: &SessionInfo,
    mut panel: ContactsPanel,
) -> Result<ContactsPanel, AppError> {
    let stored = state.store.contact_methods(&me.user.id).await?;
    let views: Vec<ContactView> = stored
        .iter()
        .map(|c| ContactView {
            id: c.id.clone(),
            kind: c.kind.clone(),
            target: c.target.clone(),
            label: c.label.clone(),
            verified: c.verified_at.is_some(),
            disabled_reason: c.disabled_reason.clone(),
        })
        .collect();
    let describe = |id: &str| {
        views
            .iter()
            .find(|v| v.id == id)
            .map(ContactView::describe)
            .unwrap_or_else(|| "a removed method".into())
    };
    let rules = state.store.notification_rules(&me.user.id).await?;
    panel.rules = rules
        .iter()
        .map(|r| app::pages::contacts::RuleView {
            id: r.id.clone(),
            urgency: r.urgency.clone(),
            method: describe(&r.contact_id),
            delay_min: r.delay_min,
        })
        .collect();
    let methods: Vec<_> = stored.iter().filter_map(|c| c.method()).collect();
    panel.defaults = [Urgency::High, Urgency::Low]
        .into_iter()
        .map(|u| {
            let steps: Vec<(String, i64)> = notify::plan(&[], &methods, u)
                .into_iter()
                .map(|r| (describe(&r.contact_id), r.delay_min))
                .collect();
            (
                u.as_str().to_string(),
                app::pages::contacts::plan_text(&steps),
            )
        })
        .collect();
    panel.methods = views;
    panel.sms_available = state.config.sms.is_some();
    Ok(panel)
}

async fn with_contacts(
    state: &AppState,
    me: &SessionInfo,
    tz: &str,
    notice: Option<String>,
    error: Option<String>,
    panel: ContactsPanel,
) -> Result<Html<String>, AppError> {
    let contacts = fill_panel(state, me, panel).await?;
    // In a current or planned roster (the rule that makes someone a member of a schedule).
    let now = state.clock.now();
    let schedules: Vec<(String, String)> = state
        .store
        .schedules_full(now, now + jiff::SignedDuration::from_hours(1))
        .await?
        .into_iter()
        .filter(|f| !f.info.draft)
        .filter(|f| permission::members(&f.schedule, now).contains(me.user.id.as_str()))
        .map(|f| (f.info.id, f.info.name))
        .collect();
    // Services owned by a team the person is in.
    let teams = state.store.list_teams().await?;
    let services: Vec<(String, String, String)> = state
        .store
        .services()
        .await?
        .into_iter()
        .filter_map(|s| {
            let team = teams.iter().find(|t| Some(&t.id) == s.team_id.as_ref())?;
            team.members
                .iter()
                .any(|m| m.id == me.user.id)
                .then(|| (s.id, s.name, team.name.clone()))
        })
        .collect();
    let url = ical_url(
        state,
        "user",
        &state.store.user_ical_token(&me.user.id).await?,
    );
    let v = viewer(me);
    let tz = tz.to_string();
    let own_zone = me.user.time_zone.clone();
    Ok(Html(render_document(
        "Profile · Firstline",
        None,
        None,
        move || {
            view! {
                <ProfilePage viewer=v time_zone=tz ical_url=url notice=notice error=error
                    contacts=contacts schedules=schedules services=services own_zone=own_zone/>
            }
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
        // The typed text is kept (cut to the field's length) with the sentence next to it.
        let typed: String = tz.chars().take(64).collect();
        let page = profile_page(
            &state,
            &me,
            &typed,
            None,
            Some(app::pages::fields::unknown_zone(tz)),
        )
        .await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    state.store.set_user_time_zone(&me.user.id, tz).await?;
    Ok(Redirect::to("/profile?done=saved").into_response())
}

/// Form: add an email contact method.
#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: ContactInput,
}

/// `POST /profile/contacts`: add an email address to be reached at.
pub async fn add_contact(
    State(state): State<AppState>,
    Member(me): Member,
    ValidForm(form): ValidForm<ContactForm>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    permission::check(
        Some(actor(&me)),
        Relation::default(),
        &Action::EditContacts { owner: &me.user.id },
    )?;
    let refuse = |status: StatusCode, e: ValidationError| {
        let state = state.clone();
        let me = me.clone();
        let panel = ContactsPanel {
            forms: ContactForms {
                email: form.input.email.chars().take(254).collect(),
                label: form.input.label.chars().take(60).collect(),
                ..Default::default()
            },
            at: "email".into(),
            error: Some(e),
            ..Default::default()
        };
        async move {
            let tz = me.user.time_zone.clone();
            let page = with_contacts(&state, &me, &tz, None, None, panel).await?;
            Ok::<_, AppError>((status, page).into_response())
        }
    };
    let contact = match form.input.normalize() {
        Ok(c) => c,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e).await,
    };
    match state
        .store
        .add_email_contact(&me.user.id, &contact, state.clock.now_ms())
        .await
    {
        Ok(_) => Ok(Redirect::to("/profile?done=contact_added").into_response()),
        Err(StoreError::Conflict { field }) => {
            refuse(
                StatusCode::CONFLICT,
                ValidationError::new(field, "you already have this address"),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// Form with only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /profile/contacts/{id}/delete`: remove one of one's own contact methods (not the last
/// email address).
pub async fn remove_contact(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<CsrfOnly>,
) -> Result<Response, AppError> {
    check_csrf(&me, &form.csrf)?;
    permission::check(
        Some(actor(&me)),
        Relation::default(),
        &Action::EditContacts { owner: &me.user.id },
    )?;
    match state.store.remove_contact(&me.user.id, &id).await {
        Ok(()) => Ok(Redirect::to("/profile?done=contact_removed").into_response()),
        Err(StoreError::Invalid(e)) => {
            let panel = ContactsPanel {
                at: id.clone(),
                error: Some(e),
                ..Default::default()
            };
            let tz = me.user.time_zone.clone();
            let page = with_contacts(&state, &me, &tz, None, None, panel).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The profile page with `panel`'s message, answered with `status`.
pub(super) async fn panel_page(
    state: &AppState,
    me: &SessionInfo,
    panel: ContactsPanel,
    status: StatusCode,
) -> Result<Response, AppError> {
    let tz = me.user.time_zone.clone();
    let page = with_contacts(state, me, &tz, None, None, panel).await?;
    Ok((status, page).into_response())
}

//! People: the admin list with invitations (`/admin/people`), revoking an invitation,
//! deactivating (with a confirm step that lists the on-call gaps it opens) and reactivating an
//! account, and joining through an invitation link (`/invite/{token}`). Who may do each is
//! decided by [`permission::check`].

use std::collections::HashMap;

use crate::store::{Invitation, NewSession, SessionInfo, StoreError};
use app::domain::account::User;
use app::domain::people::{
    invitation_expires_at, leave_rosters_at, new_gaps, parse_date, without_person, AcceptInput,
    InvitationState, InviteInput,
};
use app::domain::permission::{self, Action, Relation};
use app::domain::schedule::{coverage, expand, Window};
use app::domain::ValidationError;
use app::pages::people::{
    DeactivatePage, InvitationView, InviteForm, InviteGonePage, InvitePage, NewLink, PeoplePage,
    PersonView,
};
use app::pages::{render_document, urlencode};
use app::ssr::auth::{random_token, token_hash, SESSION_LIFETIME_MS};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::tz::TimeZone;
use jiff::SignedDuration;
use leptos::prelude::*;
use lettre::Message;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::AppError;
use super::schedules::{label, GAP_HORIZON_DAYS};
use super::session::{actor, cookie, Admin, Member, ValidForm};
use crate::format::display_time;
use crate::state::AppState;

/// The cookie that carries a just-made invitation link from the create redirect to the page
/// that shows it (once; five minutes at most; only sent to `/admin/people`).
const LINK_COOKIE: &str = "firstline_invite_link";
/// Invitations listed on the page.
const INVITATIONS_SHOWN: i64 = 50;

/// What the database keeps of an invitation token: its SHA-256, hex.
pub fn invitation_token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The session, once [`permission::check`] lets it manage people.
fn people_admin(me: SessionInfo) -> Result<Admin, AppError> {
    permission::check(Some(actor(&me)), Relation::default(), &Action::ManagePeople)?;
    Ok(Admin(me))
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// Query of the people page.
#[derive(Deserialize, Default)]
pub struct PeopleQuery {
    #[serde(default)]
    done: String,
    /// The invitation or person the notice is about.
    #[serde(default)]
    i: String,
}

async fn people_page(
    state: &AppState,
    admin: &Admin,
    form: InviteForm,
    error: Option<ValidationError>,
    notice: Option<String>,
    new_link: Option<NewLink>,
) -> Result<Html<String>, AppError> {
    let tz = admin.0.user.time_zone.clone();
    let teams = state.store.list_teams().await?;
    let team_name: HashMap<&str, &str> = teams
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str()))
        .collect();
    let mut teams_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for t in &teams {
        for m in &t.members {
            teams_of.entry(m.id.as_str()).or_default().push(&t.name);
        }
    }
    let people: Vec<PersonView> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| PersonView {
            teams: teams_of
                .get(u.id.as_str())
                .map(|v| v.join(", "))
                .unwrap_or_default(),
            role: u.role.as_str().to_string(),
            status: match u.deactivated_at {
                None => "active".to_string(),
                Some(at) => format!("deactivated {}", display_time(at, &tz)),
            },
            active: u.is_active(),
            is_me: u.id == admin.0.user.id,
            id: u.id,
            name: u.name,
            email: u.email,
            time_zone: u.time_zone,
        })
        .collect();
    let now = state.clock.now_ms();
    let invitations: Vec<InvitationView> = state
        .store
        .list_invitations(INVITATIONS_SHOWN)
        .await?
        .into_iter()
        .map(|i| InvitationView {
            state: i.state(now).label(),
            teams: i
                .team_ids
                .iter()
                .filter_map(|t| team_name.get(t.as_str()).copied())
                .collect::<Vec<_>>()
                .join(", "),
            role: i.role.as_str().to_string(),
            expires: display_time(i.expires_at, &tz),
            id: i.id,
            email: i.email,
        })
        .collect();
    let choices: Vec<(String, String)> = teams
        .iter()
        .map(|t| (t.id.clone(), t.name.clone()))
        .collect();
    let viewer = admin.viewer();
    Ok(Html(render_document(
        "People · Firstline",
        None,
        None,
        move || {
            view! {
                <PeoplePage viewer=viewer people=people invitations=invitations teams=choices
                    form=form error=error notice=notice new_link=new_link/>
            }
        },
    )))
}

fn cookie_header(state: &AppState, value: &str, max_age: i64) -> Result<HeaderValue, AppError> {
    HeaderValue::from_str(&format!(
        "{LINK_COOKIE}={value}; Path=/admin/people; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if state.config.secure_cookies() {
            "; Secure"
        } else {
            ""
        }
    ))
    .map_err(|e| AppError::Internal(e.to_string()))
}

/// `GET /admin/people`.
pub async fn list(
    State(state): State<AppState>,
    Member(me): Member,
    headers: HeaderMap,
    Query(q): Query<PeopleQuery>,
) -> Result<Response, AppError> {
    let admin = people_admin(me)?;
    let tz = admin.0.user.time_zone.clone();
    let mut new_link = None;
    let flash = cookie(&headers, LINK_COOKIE);
    if q.done == "invited" {
        // The link is shown only to the browser that made it, and only while it works.
        if let Some((id, token)) = flash.as_deref().and_then(|v| v.split_once('.')) {
            if id == q.i {
                if let Ok(inv) = state
                    .store
                    .invitation_by_token_hash(&invitation_token_hash(token))
                    .await
                {
                    if inv.id == id && inv.state(state.clock.now_ms()) == InvitationState::Pending {
                        new_link = Some(NewLink {
                            url: invite_url(&state, token),
                            expires: display_time(inv.expires_at, &tz),
                            mailed: state.services.mail.is_configured(),
                            email: inv.email,
                        });
                    }
                }
            }
        }
    }
    let notice = match q.done.as_str() {
        "invited" if new_link.is_none() => Some(
            "Invitation created. Its link is shown only once, right after it is made; revoke it and invite again if it was lost."
                .to_string(),
        ),
        "revoked" => Some("Invitation revoked: its link no longer works.".to_string()),
        "deactivated" => Some(match state.store.user(&q.i).await {
            Ok(u) => format!("{} is deactivated: logged out everywhere and off the rotations.", u.name),
            Err(_) => "Deactivated.".to_string(),
        }),
        "reactivated" => Some(match state.store.user(&q.i).await {
            Ok(u) => format!("{} can log in again. Add them back to schedules where needed.", u.name),
            Err(_) => "Reactivated.".to_string(),
        }),
        _ => None,
    };
    let form = InviteForm {
        role: "responder".into(),
        ..Default::default()
    };
    let page = people_page(&state, &admin, form, None, notice, new_link).await?;
    let mut resp = page.into_response();
    if flash.is_some() {
        resp.headers_mut()
            .insert(header::SET_COOKIE, cookie_header(&state, "", 0)?);
    }
    Ok(resp)
}

fn invite_url(state: &AppState, token: &str) -> String {
    format!("{}/invite/{token}", state.config.base_url)
}

/// `POST /admin/people/invitations`: the invitation is stored under its token's hash; the
/// link is shown once (through a short-lived cookie of this browser) and mailed when mail is
/// configured.
pub async fn invite(
    State(state): State<AppState>,
    Member(me): Member,
    ValidForm(pairs): ValidForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let admin = people_admin(me)?;
    let mut csrf = String::new();
    let mut input = InviteInput::default();
    for (k, v) in pairs {
        match k.as_str() {
            "csrf" => csrf = v,
            "email" => input.email = v,
            "role" => input.role = v,
            "teams" => input.teams.push(v),
            _ => {}
        }
    }
    admin.check_csrf(&csrf)?;
    let teams = state.store.list_teams().await?;
    let known: Vec<&str> = teams.iter().map(|t| t.id.as_str()).collect();
    let form = InviteForm {
        email: input.email.chars().take(254).collect(),
        role: input.role.clone(),
        teams: input.teams.clone(),
    };
    let invite = match input.normalize(&known) {
        Ok(i) => i,
        Err(e) => {
            let page = people_page(&state, &admin, form, Some(e), None, None).await?;
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
    };
    let token = random_token();
    let now = state.clock.now_ms();
    let expires_at = invitation_expires_at(now, state.config.invitation_expiry_days);
    let inv = match state
        .store
        .create_invitation(
            &invite,
            &invitation_token_hash(&token),
            &admin.0.user.id,
            now,
            expires_at,
        )
        .await
    {
        Ok(inv) => inv,
        Err(StoreError::Conflict { field }) => {
            let e = ValidationError::new(field, "someone with this email already has an account");
            let page = people_page(&state, &admin, form, Some(e), None, None).await?;
            return Ok((StatusCode::CONFLICT, page).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(invitation = %inv.id, email = %inv.email, role = %inv.role.as_str(), by = %admin.0.user.email, "invitation created");
    if state.services.mail.is_configured() {
        send_invitation(&state, &inv, &admin.0.user, invite_url(&state, &token));
    }
    let mut resp = Redirect::to(&format!(
        "/admin/people?done=invited&i={}",
        urlencode(&inv.id)
    ))
    .into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        cookie_header(&state, &format!("{}.{token}", inv.id), 300)?,
    );
    Ok(resp)
}

/// Mails the invitation link, in the background. It is not a queued job: a job's payload is
/// kept in the database, and the token must never be stored (only its hash is). A failed send
/// is logged; the admin has the link on screen to send it another way.
fn send_invitation(state: &AppState, inv: &Invitation, by: &User, url: String) {
    let text = format!(
        "{by} invited you to Firstline, where your team organises on-call shifts and incidents.\n\n\
         Join here (the link works once, until {until}):\n{url}\n\n\
         If you did not expect this, ignore this mail.\n",
        by = by.name,
        until = display_time(inv.expires_at, "UTC"),
    );
    let built = (|| -> anyhow::Result<Message> {
        Ok(Message::builder()
            .from(state.config.mail_from.parse()?)
            .to(inv.email.parse()?)
            .subject(format!("{} invited you to Firstline", by.name))
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(text)?)
    })();
    let state = state.clone();
    let id = inv.id.clone();
    tokio::spawn(async move {
        let sent = match built {
            Ok(msg) => state.services.mail.send(msg).await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(()) => tracing::info!(invitation = %id, "invitation mailed"),
            Err(e) => tracing::warn!(invitation = %id, error = %e, "invitation mail failed"),
        }
    });
}

/// A form with only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/people/invitations/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<CsrfForm>,
) -> Result<Response, AppError> {
    let admin = people_admin(me)?;
    admin.check_csrf(&form.csrf)?;
    state
        .store
        .revoke_invitation(&id, state.clock.now_ms())
        .await?;
    tracing::info!(invitation = %id, by = %admin.0.user.email, "invitation revoked");
    Ok(Redirect::to("/admin/people?done=revoked").into_response())
}

/// Query and form of the deactivation step.
#[derive(Deserialize, Default)]
pub struct DeactivateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    from: String,
}

/// The confirm page: which schedules the person leaves and the gaps that opens over the next
/// [`GAP_HORIZON_DAYS`] (the schedule's own coverage before and after, by the domain's
/// `expand` and `coverage`), or the date's error.
async fn deactivate_page(
    state: &AppState,
    admin: &Admin,
    person: &User,
    from_raw: &str,
) -> Result<(StatusCode, Html<String>), AppError> {
    let tz = zone(&admin.0.user.time_zone);
    let now = state.clock.now();
    let mut gaps = Vec::new();
    let mut schedules = Vec::new();
    let checked = parse_date("from", from_raw).and_then(|d| leave_rosters_at(d, &tz, now));
    let error = match checked {
        Ok(from) => {
            let window = Window::new(
                from,
                from + SignedDuration::from_hours(24 * GAP_HORIZON_DAYS),
            )?;
            for full in state.store.schedules_full(window.start, window.end).await? {
                let leaving = without_person(&full.schedule, &person.id, from);
                if leaving.is_empty() {
                    continue;
                }
                let after = leaving.after;
                schedules.push(full.info.name.clone());
                let before = coverage(&expand(&full.schedule, &window)).gaps;
                let opened = new_gaps(&before, &coverage(&expand(&after, &window)).gaps);
                for g in opened {
                    gaps.push(format!(
                        "{}: {} → {} ({} h)",
                        full.info.name,
                        label(g.start, &tz),
                        label(g.end, &tz),
                        g.end.duration_since(g.start).as_hours()
                    ));
                }
            }
            None
        }
        Err(e) => Some(e),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let viewer = admin.viewer();
    let (id, name, zone_name) = (
        person.id.clone(),
        person.name.clone(),
        admin.0.user.time_zone.clone(),
    );
    let from = from_raw.trim().to_string();
    let title = format!("Deactivate {} · Firstline", person.name);
    Ok((
        status,
        Html(render_document(&title, None, None, move || {
            view! {
                <DeactivatePage viewer=viewer person_id=id person_name=name from=from time_zone=zone_name
                    gaps=gaps schedules=schedules horizon_days=GAP_HORIZON_DAYS error=error/>
            }
        })),
    ))
}

/// `GET /admin/people/{id}/deactivate?from=YYYY-MM-DD` (default today): the confirm step.
pub async fn deactivate_form(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    Query(q): Query<DeactivateForm>,
) -> Result<Response, AppError> {
    let admin = people_admin(me)?;
    let person = state.store.user(&id).await?;
    if !person.is_active() {
        return Ok(Redirect::to("/admin/people").into_response());
    }
    let from = if q.from.trim().is_empty() {
        state
            .clock
            .now()
            .to_zoned(zone(&admin.0.user.time_zone))
            .date()
            .to_string()
    } else {
        q.from
    };
    Ok(deactivate_page(&state, &admin, &person, &from)
        .await?
        .into_response())
}

/// `POST /admin/people/{id}/deactivate`: ends their sessions, refuses their logins and takes
/// them off the rosters from the date, in one transaction that checks again that they are
/// not the admin themselves nor the last active admin.
pub async fn deactivate(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<DeactivateForm>,
) -> Result<Response, AppError> {
    let admin = people_admin(me)?;
    admin.check_csrf(&form.csrf)?;
    let person = state.store.user(&id).await?;
    let tz = zone(&admin.0.user.time_zone);
    let from = match parse_date("from", &form.from)
        .and_then(|d| leave_rosters_at(d, &tz, state.clock.now()))
    {
        Ok(f) => f,
        Err(_) => {
            return Ok(deactivate_page(&state, &admin, &person, &form.from)
                .await?
                .into_response())
        }
    };
    let outcome = state
        .store
        .deactivate_user(actor(&admin.0), &id, from, state.clock.now_ms())
        .await??;
    tracing::info!(person = %person.email, by = %admin.0.user.email, from = %from,
        sessions = outcome.sessions_ended, rosters = outcome.rosters_changed,
        overrides = outcome.overrides_changed, "account deactivated");
    Ok(Redirect::to(&format!(
        "/admin/people?done=deactivated&i={}",
        urlencode(&id)
    ))
    .into_response())
}

/// `POST /admin/people/{id}/reactivate`.
pub async fn reactivate(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(form): ValidForm<CsrfForm>,
) -> Result<Response, AppError> {
    let admin = people_admin(me)?;
    admin.check_csrf(&form.csrf)?;
    state.store.reactivate_user(&id).await?;
    tracing::info!(person = %id, by = %admin.0.user.email, "account reactivated");
    Ok(Redirect::to(&format!(
        "/admin/people?done=reactivated&i={}",
        urlencode(&id)
    ))
    .into_response())
}

// ---- joining through a link ----

fn gone(state: InvitationState) -> Response {
    let title = match state {
        InvitationState::Accepted => "This invitation has been used",
        InvitationState::Revoked => "This invitation was withdrawn",
        _ => "This invitation has expired",
    };
    let message = state.refusal().unwrap_or_default().to_string();
    let html = render_document(&format!("{title} · Firstline"), None, None, move || {
        view! { <InviteGonePage title=title.to_string() message=message/> }
    });
    (StatusCode::GONE, Html(html)).into_response()
}

fn unknown_link() -> Response {
    let html = render_document("Unknown invitation · Firstline", None, None, || {
        view! {
            <InviteGonePage title="Unknown invitation".to_string()
                message="This invitation link is not valid. Check that it was copied whole, or ask an admin for a new one.".to_string()/>
        }
    });
    (StatusCode::NOT_FOUND, Html(html)).into_response()
}

/// The invitation of a link, or the page saying why there is none.
async fn invitation_of(
    state: &AppState,
    token: &str,
) -> Result<Result<Invitation, Response>, AppError> {
    if token.len() > 100 {
        return Ok(Err(unknown_link()));
    }
    match state
        .store
        .invitation_by_token_hash(&invitation_token_hash(token))
        .await
    {
        Ok(inv) => match inv.state(state.clock.now_ms()) {
            InvitationState::Pending => Ok(Ok(inv)),
            other => Ok(Err(gone(other))),
        },
        Err(StoreError::NotFound) => Ok(Err(unknown_link())),
        Err(e) => Err(e.into()),
    }
}

fn zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    names.sort();
    names
}

fn join_page(
    inv: &Invitation,
    name: String,
    time_zone: String,
    error: Option<ValidationError>,
) -> Html<String> {
    let (email, role) = (inv.email.clone(), inv.role.as_str().to_string());
    // The suggested zone first, then UTC, then the rest.
    let zones = app::domain::zones::ordered(&time_zone, zone_names());
    Html(render_document(
        "Join · Firstline",
        None,
        None,
        move || {
            view! { <InvitePage email=email role=role name=name time_zone=time_zone zones=zones error=error/> }
        },
    ))
}

/// `GET /invite/{token}`: the form to join, with the inviting admin's time zone suggested.
pub async fn join_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let inv = match invitation_of(&state, &token).await? {
        Ok(inv) => inv,
        Err(page) => return Ok(page),
    };
    let tz = match &inv.invited_by {
        Some(by) => state
            .store
            .user(by)
            .await
            .map(|u| u.time_zone)
            .unwrap_or_else(|_| "UTC".into()),
        None => "UTC".into(),
    };
    Ok(join_page(&inv, String::new(), tz, None).into_response())
}

/// `POST /invite/{token}`: creates the account with the invited email, role and teams, marks
/// the invitation used and logs the person in, all in one transaction; then to the dashboard.
pub async fn join(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ValidForm(form): ValidForm<AcceptInput>,
) -> Result<Response, AppError> {
    let inv = match invitation_of(&state, &token).await? {
        Ok(inv) => inv,
        Err(page) => return Ok(page),
    };
    let keep = |e: ValidationError| {
        let name: String = form.name.chars().take(100).collect();
        let tz: String = form.time_zone.chars().take(64).collect();
        // A zone that is not one gets the sentence with a suggestion ("Berlin": Europe/Berlin).
        let e = if e.field == "time_zone" {
            ValidationError::new(
                "time_zone",
                app::pages::fields::unknown_zone(&form.time_zone),
            )
        } else {
            e
        };
        (StatusCode::BAD_REQUEST, join_page(&inv, name, tz, Some(e))).into_response()
    };
    let user = match form.normalize(&inv.email, inv.role) {
        Ok(u) => u,
        Err(e) => return Ok(keep(e)),
    };
    let password = form.password.clone();
    let hash = tokio::task::spawn_blocking(move || app::ssr::auth::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(format!("hashing: {e}")))?;
    let session_token = random_token();
    let session_hash = token_hash(&state.secret, &session_token);
    let csrf = random_token();
    let now = state.clock.now_ms();
    let session = NewSession {
        token_hash: &session_hash,
        csrf_token: &csrf,
        expires_at: now + SESSION_LIFETIME_MS,
    };
    let created = match state
        .store
        .accept_invitation(&invitation_token_hash(&token), &user, &hash, &session, now)
        .await
    {
        Ok(Ok(u)) => u,
        Ok(Err(s)) => return Ok(gone(s)),
        Err(StoreError::Conflict { field }) => {
            return Ok(keep(ValidationError::new(
                field,
                "an account with this email exists already; log in instead",
            )))
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user = %created.email, role = %created.role.as_str(), invitation = %inv.id, "invitation accepted");
    super::auth::with_session_cookie(
        &state,
        Redirect::to("/dashboard").into_response(),
        &session_token,
        SESSION_LIFETIME_MS / 1000,
    )
}

#[cfg(test)]
mod tests {
    use super::invitation_token_hash;

    #[test]
    fn the_stored_hash_is_plain_sha256_hex() {
        // FIPS 180-2 test vector.
        assert_eq!(
            invitation_token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let token = app::ssr::auth::random_token();
        assert_ne!(invitation_token_hash(&token), token);
        assert_eq!(invitation_token_hash(&token).len(), 64);
    }
}

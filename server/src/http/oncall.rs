//! Responders' handlers: on-call incidents (list, page, actions, status-page posts, live
//! fragments and streams, the JSON API) and services with their integration keys.
//!
//! Who may do what is [`permits`]: anyone signed in reads, responders and admins act, admins
//! configure services and keys.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use futures::stream::{self, StreamExt};
use leptos::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

use app::domain::account::Role;
use app::domain::incident::{
    component_changes, IncidentInput, IncidentKind, NewIncident, NewUpdate, UpdateInput,
};
use app::domain::live::Topic;
use app::domain::monitor::{MonitorInput, MonitorKind};
use app::domain::oncall::{permits, Act, OncallIncident, Permission, State as OnState};
use app::domain::service::{KeyKind, ServiceInput};
use app::domain::ValidationError;
use app::pages::oncall::{
    AlertCard, ChangeRow, IncidentHead, IncidentList, IncidentLive, IncidentPage, IncidentRow,
    IncidentsPage, KeyRow, ListFilter, MonitorView, ServicePage, ServicesPage, TimelineRow,
};
use app::pages::policies::PagingView;
use app::pages::render_document;

use super::error::AppError;
use super::incidents::{field, Fields};
use super::session::{check_csrf, Member, ValidForm};
use crate::format::display_time;
use crate::state::AppState;
use crate::store::{OncallFilter, SessionInfo, StoreError};

fn allow(me: &SessionInfo, what: Permission) -> Result<(), AppError> {
    if permits(Some(me.user.role), what) {
        return Ok(());
    }
    Err(AppError::Forbidden(
        match what {
            Permission::View => "Sign in to see incidents.",
            Permission::Act => {
                "Viewers can read incidents; only responders and admins can act on them."
            }
            Permission::Configure => "Only admins can change services and integration keys.",
        }
        .into(),
    ))
}

fn viewer(me: &SessionInfo) -> app::pages::Viewer {
    super::session::MaybeSession(Some(me.clone())).viewer()
}

async fn names(state: &AppState) -> Result<HashMap<String, String>, AppError> {
    Ok(state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect())
}

// ---- the list ----

/// `?state=&service=&team=`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    v: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> Result<OncallFilter, AppError> {
        let (state, open_only) = match self.state.as_str() {
            "" | "open" => (None, true),
            "all" => (None, false),
            s => (
                Some(s.parse::<OnState>().map_err(AppError::Validation)?),
                false,
            ),
        };
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        Ok(OncallFilter {
            state,
            open_only,
            service_id: some(&self.service),
            team_id: some(&self.team),
            limit: 200,
        })
    }
}

fn who_has(i: &OncallIncident, names: &HashMap<String, String>) -> Option<String> {
    let name = |id: &String| names.get(id).cloned().unwrap_or_else(|| "someone".into());
    match (i.state, &i.acknowledged_by, &i.assigned_to) {
        (_, _, Some(a)) => Some(format!("assigned to {}", name(a))),
        (OnState::Acknowledged, Some(by), None) => Some(format!("acknowledged by {}", name(by))),
        (OnState::Acknowledged, None, None) => Some("acknowledged by its source".into()),
        _ => None,
    }
}

async fn list_html(
    state: &AppState,
    me: &SessionInfo,
    q: &ListQuery,
) -> Result<(String, String), AppError> {
    let version = state.store.oncall_version(None).await?;
    let list = state.store.oncall_incidents(&q.filter()?).await?;
    let names = names(state).await?;
    let tz = me.user.time_zone.clone();
    let rows: Vec<IncidentRow> = list
        .iter()
        .map(|i| IncidentRow {
            id: i.id.clone(),
            number: i.number,
            title: i.title.clone(),
            service: i
                .service_name
                .clone()
                .unwrap_or_else(|| "No service".into()),
            state: i.state.as_str().into(),
            severity: i.severity.as_str().into(),
            opened: i.created_at,
            opened_abs: display_time(i.created_at, &tz),
            who: who_has(i, &names),
        })
        .collect();
    let now = state.clock.now_ms();
    let html = Owner::new().with(|| view! { <IncidentList rows=rows now=now/> }.to_html());
    Ok((html, version))
}

/// `GET /oncall`.
pub async fn list(
    State(state): State<AppState>,
    Member(me): Member,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    allow(&me, Permission::View)?;
    let (html, version) = list_html(&state, &me, &q).await?;
    let services = state.store.services().await?;
    let teams = state.store.list_teams().await?;
    let filter = ListFilter {
        state: if q.state.is_empty() {
            "open".into()
        } else {
            q.state.clone()
        },
        service: q.service.clone(),
        team: q.team.clone(),
    };
    let live = state.assets.has_live();
    let v = viewer(&me);
    let page = render_document("On-call incidents · Firstline", None, None, move || {
        view! {
            <IncidentsPage viewer=v list_html=html version=version filter=filter
                services=services.into_iter().map(|s| (s.id, s.name)).collect()
                teams=teams.into_iter().map(|t| (t.id, t.name)).collect()
                live=live/>
        }
    });
    Ok(Html(page).into_response())
}

/// A rendered live fragment with its version (the live module reads `X-Status-Version`).
fn fragment(html: String, version: String) -> Response {
    let mut resp = ([(header::CACHE_CONTROL, "private, no-store")], Html(html)).into_response();
    if let Ok(v) = HeaderValue::from_str(&version) {
        resp.headers_mut().insert("x-status-version", v);
    }
    resp
}

/// `GET /oncall/live`: the list's live fragment.
pub async fn list_live(
    State(state): State<AppState>,
    Member(me): Member,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    allow(&me, Permission::View)?;
    let (html, version) = list_html(&state, &me, &q).await?;
    Ok(fragment(html, version))
}

/// A stream of `version` events for `topic`: the current version first (unless `known` is
/// it), then each new one. Versions come from the database, so every instance agrees.
async fn versions(
    state: AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    topic: Topic,
    incident: Option<String>,
    known: Option<String>,
) -> Response {
    let Some(slot) = super::events::stream_slot(&state, peer, headers) else {
        return super::events::too_many_streams();
    };
    let rx = state.live.subscribe(&topic);
    let mut shutdown = state.shutdown.clone();
    let st = state.clone();
    let updates = stream::unfold(
        (rx, st, incident, known, true),
        |(mut rx, st, incident, last, first)| async move {
            loop {
                if !first {
                    match rx.recv().await {
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    }
                }
                let v = match st.store.oncall_version(incident.as_deref()).await {
                    Ok(v) => v,
                    Err(e) => {
                        // The database is away: wait before asking again, and say nothing.
                        tracing::warn!(error = %e, "reading a live version failed");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        if first {
                            return Some((String::new(), (rx, st, incident, last, false)));
                        }
                        continue;
                    }
                };
                if last.as_deref() != Some(v.as_str()) {
                    return Some((v.clone(), (rx, st, incident, Some(v), false)));
                }
                if first {
                    // Nothing new yet: wait for the next announcement.
                    return Some((String::new(), (rx, st, incident, last, false)));
                }
            }
        },
    )
    .filter(|v| std::future::ready(!v.is_empty()));
    let stream = updates
        .map(move |v: String| {
            let _ = &slot;
            Ok::<_, Infallible>(Event::default().event("version").data(v))
        })
        .take_until(async move {
            let _ = shutdown.wait_for(|down| *down).await;
        });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// `GET /events/oncall`: the list's versions.
pub async fn list_events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Member(me): Member,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    allow(&me, Permission::View)?;
    Ok(versions(state, peer, &headers, Topic::Oncall, None, q.v).await)
}

// ---- one incident ----

fn pretty(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(m) if m.is_empty() => String::new(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

async fn incident_head(
    state: &AppState,
    me: &SessionInfo,
    id: &str,
) -> Result<(OncallIncident, IncidentHead, String), AppError> {
    let version = state.store.oncall_version(Some(id)).await?;
    let inc = state.store.oncall_incident(id).await?;
    let names = names(state).await?;
    let tz = &me.user.time_zone;
    let name_of = |uid: &str| names.get(uid).cloned().unwrap_or_else(|| "someone".into());
    let alerts = state.store.incident_alerts(id).await?;
    let timeline = state.store.timeline(id).await?;
    let changes = match &inc.service_id {
        Some(sid) => {
            state
                .store
                .changes(
                    sid,
                    inc.created_at - 4 * 3_600_000,
                    inc.created_at + 3_600_000,
                )
                .await?
        }
        None => Vec::new(),
    };
    let standing = match inc.state {
        OnState::Acknowledged => Some(format!(
            "Acknowledged by {}, {}{}",
            inc.acknowledged_by
                .as_deref()
                .map(name_of)
                .unwrap_or_else(|| "its source".into()),
            display_time(inc.acknowledged_at.unwrap_or(inc.updated_at), tz),
            inc.snoozed_until
                .map(|u| format!(" · snoozed until {}", display_time(u, tz)))
                .unwrap_or_default()
        )),
        OnState::Resolved => Some(format!(
            "Resolved by {}, {}",
            inc.resolved_by
                .as_deref()
                .map(name_of)
                .unwrap_or_else(|| "its source".into()),
            display_time(inc.resolved_at.unwrap_or(inc.updated_at), tz)
        )),
        OnState::Triggered => inc
            .assigned_to
            .as_deref()
            .map(|a| format!("Assigned to {}", name_of(a))),
    };
    let status_post = match &inc.status_incident_id {
        Some(pid) => match state.store.incident(pid).await {
            Ok(p) => Some((format!("/admin/incidents/{pid}"), p.name)),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let escalation = app::domain::escalation::status_line(
        inc.state,
        &esc_of(&inc),
        policy_shape(state, &inc).await?,
        inc.esc_due_at.map(|d| display_time(d, tz)).as_deref(),
    );
    let head = IncidentHead {
        escalation,
        urgency: inc.urgency.as_str().into(),
        id: inc.id.clone(),
        number: inc.number,
        title: inc.title.clone(),
        service: inc
            .service_name
            .clone()
            .unwrap_or_else(|| "No service".into()),
        state: inc.state.as_str().into(),
        severity: inc.severity.as_str().into(),
        opened: inc.created_at,
        opened_abs: display_time(inc.created_at, tz),
        standing,
        status_post,
        alerts: alerts
            .into_iter()
            .map(|a| AlertCard {
                details: pretty(&a.details),
                links: a
                    .links
                    .into_iter()
                    .map(|l| (l.href.clone(), l.text.unwrap_or(l.href)))
                    .collect(),
                images: a
                    .images
                    .into_iter()
                    .map(|i| (i.src, i.href.unwrap_or_default(), i.alt.unwrap_or_default()))
                    .collect(),
                summary: a.summary,
                origin: a.origin,
                severity: a.severity.as_str().into(),
                state: a.state.as_str().into(),
                dedup_key: a.dedup_key,
                count: a.event_count,
            })
            .collect(),
        timeline: timeline
            .iter()
            .rev()
            .map(|e| TimelineRow {
                at: e.at,
                at_abs: display_time(e.at, tz),
                kind: e.kind.clone(),
                text: e.describe(e.actor_id.as_deref().map(name_of).as_deref(), name_of),
                note: match e.kind.as_str() {
                    "note" => e
                        .body
                        .get("text")
                        .and_then(|t| t.as_str())
                        .map(str::to_string),
                    "alert_repeated" => e.body.get("details").map(pretty).filter(|d| !d.is_empty()),
                    _ => None,
                },
            })
            .collect(),
        changes: changes
            .into_iter()
            .map(|c| ChangeRow {
                when: display_time(c.occurred_at, tz),
                link: c.links.first().map(|l| {
                    (
                        l.href.clone(),
                        l.text.clone().unwrap_or_else(|| l.href.clone()),
                    )
                }),
                summary: c.summary,
                source: c.source,
            })
            .collect(),
    };
    Ok((inc, head, version))
}

fn render_live(head: IncidentHead, me: &SessionInfo, now: i64) -> String {
    let csrf = me.csrf_token.clone();
    let may_act = permits(Some(me.user.role), Permission::Act);
    Owner::new()
        .with(|| view! { <IncidentLive head=head csrf=csrf now=now may_act=may_act/> }.to_html())
}

/// `?done=`: what the last action did.
#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    v: Option<String>,
}

fn done_message(done: &str) -> Option<String> {
    Some(
        match done {
            "acknowledged" => "Acknowledged: it pages nobody now. Everyone watching sees it.",
            "resolved" => "Resolved. Its alerts are closed.",
            "retriggered" => "Triggered again.",
            "reassigned" => "Reassigned.",
            "snoozed" => "Snoozed: it triggers again when the time is up.",
            "escalated" => "Escalated now.",
            "note" => "Note added to the timeline.",
            "posted" => "Posted to the public status page. Its link is at the top.",
            "unchanged" => "Nothing to do: someone else already did it.",
            _ => return None,
        }
        .to_string(),
    )
}

async fn incident_page(
    state: &AppState,
    me: &SessionInfo,
    id: &str,
    message: Option<String>,
    error: Option<ValidationError>,
    note: String,
) -> Result<Response, AppError> {
    let (inc, head, version) = incident_head(state, me, id).await?;
    let open = inc.state.is_open();
    let title = inc.title.clone();
    let has_status_post = match &inc.status_incident_id {
        Some(pid) => state
            .store
            .incident(pid)
            .await
            .is_ok_and(|p| p.status.is_open()),
        None => false,
    };
    let live_html = render_live(head, me, state.clock.now_ms());
    let people = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.role != Role::Viewer && u.is_active())
        .map(|u| (u.id, u.name))
        .collect();
    let components = state
        .store
        .list_components()
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let code = super::error::form_status(&error);
    let live = state.assets.has_live();
    let v = viewer(me);
    let may_act = permits(Some(me.user.role), Permission::Act);
    let id = id.to_string();
    let page_title = format!("#{} {} · Firstline", inc.number, inc.title);
    let html = render_document(&page_title, None, None, move || {
        view! {
            <IncidentPage viewer=v id=id title=title live_html=live_html version=version open=open
                may_act=may_act people=people components=components has_status_post=has_status_post
                message=message error=error note=note live=live/>
        }
    });
    Ok((code, Html(html)).into_response())
}

/// `GET /oncall/{id}`.
pub async fn detail(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    allow(&me, Permission::View)?;
    incident_page(&state, &me, &id, done_message(&q.done), None, String::new()).await
}

/// `GET /oncall/{id}/live`: the incident's live fragment.
pub async fn detail_live(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    allow(&me, Permission::View)?;
    let (_, head, version) = incident_head(&state, &me, &id).await?;
    Ok(fragment(
        render_live(head, &me, state.clock.now_ms()),
        version,
    ))
}

/// `GET /events/oncall/{id}`: the incident's versions.
pub async fn detail_events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Member(me): Member,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    allow(&me, Permission::View)?;
    state.store.oncall_incident(&id).await?;
    Ok(versions(
        state,
        peer,
        &headers,
        Topic::OncallIncident(id.clone()),
        Some(id),
        q.v,
    )
    .await)
}

/// Applies an action; `Ok(false)` when it had nothing to do.
async fn apply(
    state: &AppState,
    me: &SessionInfo,
    id: &str,
    act: &Act,
    channel: &str,
) -> Result<bool, AppError> {
    allow(me, Permission::Act)?;
    let t = state
        .store
        .act_on_incident(id, &me.user.id, channel, act, state.clock.now_ms())
        .await?;
    Ok(t.changed || matches!(act, Act::Note(_)))
}

/// `POST /oncall/{id}/act`: `action` = acknowledge, resolve, retrigger, reassign (`user`),
/// snooze (`minutes`), escalate, note (`text`).
pub async fn act(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    check_csrf(&me, &field(&fields, "csrf"))?;
    allow(&me, Permission::Act)?;
    let text = field(&fields, "text");
    let parsed = Act::parse(
        &field(&fields, "action"),
        &field(&fields, "user"),
        &field(&fields, "minutes"),
        &text,
    );
    let result = match &parsed {
        Ok(act) => apply(&state, &me, &id, act, "web").await,
        Err(e) => Err(AppError::Validation(e.clone())),
    };
    match result {
        Ok(changed) => {
            let done = match (&parsed, changed) {
                (Ok(a), true) => a.kind(),
                _ => "unchanged",
            };
            Ok(Redirect::to(&format!("/oncall/{id}?done={done}")).into_response())
        }
        Err(AppError::Validation(e)) => incident_page(&state, &me, &id, None, Some(e), text).await,
        Err(e) => Err(e),
    }
}

/// `POST /oncall/{id}/status`: open or update the public status-page incident.
pub async fn post_status(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    check_csrf(&me, &field(&fields, "csrf"))?;
    allow(&me, Permission::Act)?;
    let inc = state.store.oncall_incident(&id).await?;
    let name = match field(&fields, "name") {
        n if n.trim().is_empty() => inc.title.clone(),
        n => n,
    };
    let checked = || -> Result<(NewIncident, NewUpdate), ValidationError> {
        let components = component_changes(&fields)?;
        let impact = field(&fields, "impact");
        let status = field(&fields, "status");
        let body = field(&fields, "body");
        let update = UpdateInput {
            status: status.clone(),
            body: body.clone(),
            impact: impact.clone(),
            notify: true,
        }
        .normalize(IncidentKind::Incident)?;
        let new = IncidentInput {
            name: name.clone(),
            impact: if impact.is_empty() {
                "minor".into()
            } else {
                impact
            },
            status: if update.status.is_open() {
                status
            } else {
                "investigating".into()
            },
            body,
            notify: true,
        }
        .normalize()?;
        Ok((
            NewIncident {
                kind: IncidentKind::Incident,
                name: new.name,
                impact: new.impact,
                status: new.status,
                body: new.body,
                components: components.clone(),
                window: None,
                notify: true,
            },
            NewUpdate {
                status: update.status,
                body: update.body,
                impact: update.impact,
                components,
                notify: true,
            },
        ))
    };
    let (new, update) = match checked() {
        Ok(x) => x,
        Err(e) => return incident_page(&state, &me, &id, None, Some(e), String::new()).await,
    };
    match state
        .store
        .post_status_from_oncall(&id, &me.user.id, &new, &update, state.clock.now_ms())
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/oncall/{id}?done=posted")).into_response()),
        Err(StoreError::Invalid(e)) => {
            incident_page(&state, &me, &id, None, Some(e), String::new()).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- the JSON API ----

/// The escalation state an incident shows.
fn esc_of(i: &OncallIncident) -> app::domain::escalation::EscState {
    app::domain::escalation::EscState {
        gen: 0,
        pass: i.esc_pass,
        step: i.escalation_level,
        due_at: i.esc_due_at,
        wait: i.esc_wait,
    }
}

/// The shape (steps, repeats) of the policy escalating an incident now, if any.
async fn policy_shape(
    state: &AppState,
    i: &OncallIncident,
) -> Result<Option<(i64, i64)>, AppError> {
    let Some(sid) = &i.service_id else {
        return Ok(None);
    };
    let pid = match state.store.service_paging(sid).await {
        Ok(p) => p.policy_id,
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let Some(pid) = pid else { return Ok(None) };
    match state.store.policy(&pid).await {
        Ok(p) => Ok(Some((p.steps.len() as i64, p.repeats))),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn incident_json(i: &OncallIncident, shape: Option<(i64, i64)>) -> Value {
    let next = app::domain::escalation::upcoming(&esc_of(i), shape);
    json!({
        "id": i.id,
        "number": i.number,
        "title": i.title,
        "service": { "id": i.service_id, "name": i.service_name },
        "status": i.state.as_str(),
        "severity": i.severity.as_str(),
        "assigned_to": i.assigned_to,
        "acknowledged_at": i.acknowledged_at.map(iso),
        "acknowledged_by": i.acknowledged_by,
        "resolved_at": i.resolved_at.map(iso),
        "resolved_by": i.resolved_by,
        "snoozed_until": i.snoozed_until.map(iso),
        "urgency": i.urgency.as_str(),
        "escalation": {
            "next_step": next.0 + 1,
            "pass": next.1 + 1,
            "waiting_for": i.esc_wait,
            "due_at": i.esc_due_at.map(iso),
        },
        "escalation_level": i.escalation_level,
        "status_page_incident_id": i.status_incident_id,
        "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at),
        "html_url": format!("/oncall/{}", i.id),
    })
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// `GET /api/v1/incidents?state=&service=&team=`.
pub async fn api_list(
    State(state): State<AppState>,
    Member(me): Member,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, AppError> {
    allow(&me, Permission::View)?;
    let list = state.store.oncall_incidents(&q.filter()?).await?;
    // One policy lookup per service, not per incident.
    let mut shapes = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(list.len());
    for i in &list {
        let key = i.service_id.clone().unwrap_or_default();
        let shape = match shapes.get(&key) {
            Some(s) => *s,
            None => {
                let s = policy_shape(&state, i).await?;
                shapes.insert(key, s);
                s
            }
        };
        out.push(incident_json(i, shape));
    }
    Ok(Json(json!({ "incidents": out })))
}

/// `GET /api/v1/incidents/{id}`: the incident with its alerts and timeline.
pub async fn api_get(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    allow(&me, Permission::View)?;
    let inc = state.store.oncall_incident(&id).await?;
    let alerts = state.store.incident_alerts(&id).await?;
    let timeline = state.store.timeline(&id).await?;
    let mut out = incident_json(&inc, policy_shape(&state, &inc).await?);
    out["alerts"] = json!(alerts
        .iter()
        .map(|a| json!({
            "id": a.id, "dedup_key": a.dedup_key, "summary": a.summary, "source": a.origin,
            "severity": a.severity.as_str(), "status": a.state.as_str(), "details": a.details,
            "links": a.links, "images": a.images, "event_count": a.event_count,
            "created_at": iso(a.created_at), "resolved_at": a.resolved_at.map(iso),
        }))
        .collect::<Vec<_>>());
    out["timeline"] = json!(timeline
        .iter()
        .map(|e| json!({
            "id": e.id, "at": iso(e.at), "kind": e.kind, "actor_id": e.actor_id,
            "channel": e.channel, "alert_id": e.alert_id, "body": e.body,
        }))
        .collect::<Vec<_>>());
    Ok(Json(json!({ "incident": out })))
}

/// Body of `POST /api/v1/incidents/{id}/{action}`.
#[derive(Debug, Default, Deserialize)]
pub struct ApiAct {
    #[serde(default)]
    text: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    minutes: Option<Value>,
}

/// `POST /api/v1/incidents/{id}/{action}`: acknowledge, resolve, note (`{"text"}`), retrigger,
/// reassign (`{"user"}`), snooze (`{"minutes"}`), escalate. Same-origin requests with the
/// session cookie (browsers); the answer is the incident and whether anything changed.
pub async fn api_act(
    State(state): State<AppState>,
    Member(me): Member,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    allow(&me, Permission::Act)?;
    // A JSON body only: a cross-site HTML form cannot send one without a CORS preflight,
    // which is never granted (defence beside the same-origin check).
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(AppError::Validation(ValidationError::new(
            "content-type",
            "send the action as JSON (Content-Type: application/json)",
        )));
    }
    let input: ApiAct = if body.iter().all(u8::is_ascii_whitespace) {
        ApiAct::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            AppError::Validation(ValidationError::new(
                "body",
                format!("not valid JSON for this action ({e})"),
            ))
        })?
    };
    let minutes = match &input.minutes {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let act =
        Act::parse(&action, &input.user, &minutes, &input.text).map_err(AppError::Validation)?;
    let changed = apply(&state, &me, &id, &act, "api").await?;
    let inc = state.store.oncall_incident(&id).await?;
    Ok(Json(
        json!({ "changed": changed, "incident": incident_json(&inc, policy_shape(&state, &inc).await?) }),
    ))
}

// ---- services ----

async fn services_page(
    state: &AppState,
    me: &SessionInfo,
    form: ServiceInput,
    error: Option<ValidationError>,
) -> Result<Response, AppError> {
    let teams = state.store.list_teams().await?;
    let team_name = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| teams.iter().find(|t| t.id == *id))
            .map(|t| t.name.clone())
            .unwrap_or_default()
    };
    let open = state
        .store
        .oncall_incidents(&OncallFilter {
            open_only: true,
            limit: 500,
            ..Default::default()
        })
        .await?;
    let services = state
        .store
        .services()
        .await?
        .into_iter()
        .map(|s| {
            let n = open
                .iter()
                .filter(|i| i.service_id.as_deref() == Some(&s.id))
                .count() as i64;
            (s.id, s.name, team_name(&s.team_id), n)
        })
        .collect();
    let teams: Vec<(String, String)> = teams
        .iter()
        .map(|t| (t.id.clone(), t.name.clone()))
        .collect();
    let code = super::error::form_status(&error);
    let v = viewer(me);
    let html = render_document("Services · Firstline", None, None, move || {
        view! { <ServicesPage viewer=v services=services teams=teams form=form error=error/> }
    });
    Ok((code, Html(html)).into_response())
}

/// `GET /services`.
pub async fn services(
    State(state): State<AppState>,
    Member(me): Member,
) -> Result<Response, AppError> {
    allow(&me, Permission::View)?;
    services_page(&state, &me, ServiceInput::default(), None).await
}

/// `POST /services`: create a service (admins).
pub async fn create_service(
    State(state): State<AppState>,
    Member(me): Member,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    check_csrf(&me, &field(&fields, "csrf"))?;
    allow(&me, Permission::Configure)?;
    let input = ServiceInput {
        name: field(&fields, "name"),
        description: field(&fields, "description"),
        team_id: field(&fields, "team_id"),
    };
    let fail = |e| services_page(&state, &me, input.clone(), Some(e));
    let clean = match input.normalize() {
        Ok(c) => c,
        Err(e) => return fail(e).await,
    };
    match state
        .store
        .create_service(&clean, state.clock.now_ms())
        .await
    {
        Ok(s) => Ok(Redirect::to(&format!("/services/{}?done=created", s.id)).into_response()),
        Err(StoreError::Invalid(e)) => fail(e).await,
        Err(StoreError::Conflict { field }) => {
            fail(ValidationError::new(field, "another service has this name")).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn service_page(
    state: &AppState,
    me: &SessionInfo,
    id: &str,
    message: Option<String>,
    error: Option<ValidationError>,
) -> Result<Response, AppError> {
    let code = super::error::form_status(&error);
    let paging = super::policies::paging_view(state, me, id, None, None, None).await?;
    render_service(state, me, id, message, error, paging, code).await
}

/// A service's page with its paging part as given (what was typed, with its error).
pub(crate) async fn service_page_with(
    state: &AppState,
    me: &SessionInfo,
    id: &str,
    message: Option<String>,
    paging: PagingView,
    code: StatusCode,
) -> Result<Response, AppError> {
    render_service(state, me, id, message, None, paging, code).await
}

async fn render_service(
    state: &AppState,
    me: &SessionInfo,
    id: &str,
    message: Option<String>,
    error: Option<ValidationError>,
    paging: PagingView,
    code: StatusCode,
) -> Result<Response, AppError> {
    let s = state.store.service(id).await?;
    let all_teams: Vec<(String, String)> = state
        .store
        .list_teams()
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let team_id = s.team_id.clone().unwrap_or_default();
    let team = all_teams
        .iter()
        .find(|(tid, _)| *tid == team_id)
        .map(|(_, n)| n.clone())
        .unwrap_or_default();
    let tz = &me.user.time_zone;
    let is_admin = permits(Some(me.user.role), Permission::Configure);
    let base = &state.config.base_url;
    let keys = state
        .store
        .keys(id)
        .await?
        .into_iter()
        .map(|k| {
            // Only admins see the secrets (anyone holding one can send alerts).
            let (url, snippet, key) = if is_admin {
                (
                    format!("{base}{}", k.kind.path(&k.key)),
                    k.kind.snippet(base, &k.key),
                    k.key.clone(),
                )
            } else {
                Default::default()
            };
            KeyRow {
                url,
                snippet,
                key,
                revoked: k.revoked_at.map(|r| display_time(r, tz)),
                id: k.id,
                name: k.name,
                kind: k.kind.label().into(),
            }
        })
        .collect();
    let monitors = state
        .store
        .monitors()
        .await?
        .into_iter()
        .filter(|m| m.service_id.as_deref() == Some(id))
        .map(|m| {
            let heartbeat = m.kind == MonitorKind::Heartbeat;
            MonitorView {
                detail: if heartbeat {
                    format!("heartbeat: expects a ping every {} s", m.interval_s)
                } else {
                    format!("probe of {} every {} s", m.url.clone().unwrap_or_default(), m.interval_s)
                },
                snippet: m.token.as_ref().filter(|_| heartbeat && is_admin).map(|t| {
                    let url = format!("{base}/hooks/heartbeat/{t}");
                    format!(
                        "# Ping at the end of the job; no ping within the interval opens an incident.\n\
                         curl -fsS --retry 3 {url}\n\n\
                         # crontab: nightly backup, then the ping\n\
                         30 2 * * * /usr/local/bin/backup && curl -fsS --retry 3 {url}\n"
                    )
                }),
                id: m.id,
                name: m.name,
                state: m.state.as_str().to_string(),
            }
        })
        .collect();
    let now = state.clock.now_ms();
    let changes = state
        .store
        .changes(id, now - 7 * 86_400_000, now)
        .await?
        .into_iter()
        .map(|c| ChangeRow {
            when: display_time(c.occurred_at, tz),
            link: None,
            summary: c.summary,
            source: c.source,
        })
        .collect();
    let v = viewer(me);
    let (sid, name, description) = (s.id, s.name, s.description);
    let html = render_document(
        &format!("{name} · Services · Firstline"),
        None,
        None,
        move || {
            view! {
                <ServicePage viewer=v id=sid name=name description=description team=team keys=keys
                    monitors=monitors changes=changes message=message error=error
                teams=all_teams team_id=team_id paging=paging/>
            }
        },
    );
    Ok((code, Html(html)).into_response())
}

/// `GET /services/{id}`.
pub async fn service(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    allow(&me, Permission::View)?;
    let message = match q.done.as_str() {
        "created" => Some("Service created. Add an integration key for each tool that sends alerts.".to_string()),
        "key" => Some("Key added. Paste its configuration into the tool; its first alert opens an incident here.".to_string()),
        "revoked" => Some("Key revoked: events with it are refused from now on.".to_string()),
        "saved" => Some("Saved.".to_string()),
        "paging" => Some("Paging settings saved.".to_string()),
        "maintenance" => Some("Maintenance set: alerts are recorded but nobody is paged while it lasts.".to_string()),
        "maintenance_ended" => Some("Maintenance ended: alerts page again.".to_string()),
        "heartbeat" => Some("Heartbeat added. Paste its line into the job; a missed ping opens an incident here.".to_string()),
        _ => None,
    };
    service_page(&state, &me, &id, message, None).await
}

/// `POST /services/{id}/keys`: add an integration key (admins).
pub async fn add_key(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    check_csrf(&me, &field(&fields, "csrf"))?;
    allow(&me, Permission::Configure)?;
    let checked = || -> Result<(KeyKind, String), ValidationError> {
        let kind: KeyKind = field(&fields, "kind").parse()?;
        let name = app::domain::validate::required_text("name", &field(&fields, "name"), 100)?;
        Ok((kind, name))
    };
    let (kind, name) = match checked() {
        Ok(x) => x,
        Err(e) => return service_page(&state, &me, &id, None, Some(e)).await,
    };
    state
        .store
        .create_key(&id, kind, &name, state.clock.now_ms())
        .await?;
    Ok(Redirect::to(&format!("/services/{id}?done=key")).into_response())
}

/// `POST /services/{id}/keys/{key}/revoke` (admins).
pub async fn revoke_key(
    State(state): State<AppState>,
    Member(me): Member,
    Path((id, key)): Path<(String, String)>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    check_csrf(&me, &field(&fields, "csrf"))?;
    allow(&me, Permission::Configure)?;
    state
        .store
        .revoke_key(&id, &key, state.clock.now_ms())
        .await?;
    Ok(Redirect::to(&format!("/services/{id}?done=revoked")).into_response())
}

/// `POST /services/{id}/heartbeats`: a heartbeat monitor on this service (admins).
pub async fn add_heartbeat(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    check_csrf(&me, &field(&fields, "csrf"))?;
    allow(&me, Permission::Configure)?;
    state.store.service(&id).await?;
    let draft = MonitorInput {
        kind: "heartbeat".into(),
        name: field(&fields, "name"),
        interval: field(&fields, "interval"),
        failures: "1".into(),
        service: id.clone(),
        ..Default::default()
    }
    .normalize(std::slice::from_ref(&state.config.base_url));
    let draft = match draft {
        Ok(d) => d,
        Err(e) => return service_page(&state, &me, &id, None, Some(e)).await,
    };
    match state
        .store
        .create_monitor(&draft, state.clock.now_ms())
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/services/{id}?done=heartbeat")).into_response()),
        Err(StoreError::Conflict { .. }) => {
            service_page(
                &state,
                &me,
                &id,
                None,
                Some(ValidationError::new(
                    "name",
                    "another monitor has this name",
                )),
            )
            .await
        }
        Err(StoreError::Invalid(e)) => service_page(&state, &me, &id, None, Some(e)).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /services/{id}`: rename a service, change its description or team (admins).
pub async fn update_service(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    check_csrf(&me, &field(&fields, "csrf"))?;
    allow(&me, Permission::Configure)?;
    let input = ServiceInput {
        name: field(&fields, "name"),
        description: field(&fields, "description"),
        team_id: field(&fields, "team_id"),
    }
    .normalize();
    let result = match input {
        Ok(clean) => state
            .store
            .update_service(&id, &clean, state.clock.now_ms())
            .await
            .map_err(|e| match e {
                StoreError::Conflict { field } => StoreError::Invalid(ValidationError::new(
                    field,
                    "another service has this name",
                )),
                other => other,
            }),
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/services/{id}?done=saved")).into_response()),
        Err(StoreError::Invalid(e)) => service_page(&state, &me, &id, None, Some(e)).await,
        Err(e) => Err(e.into()),
    }
}

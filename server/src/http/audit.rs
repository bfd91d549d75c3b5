//! The audit log: one middleware records every state-changing request, so a handler cannot
//! forget to; and the admin page that reads it (`GET /admin/audit`).
//!
//! [`record`] runs as a route layer around every route (so [`MatchedPath`] and the path
//! parameters are known). For a non-GET request it looks the route template up in [`ROUTES`]:
//!
//! - a redirect (3xx) by a signed-in user is a change: one row with actor, kind, action,
//!   target ids, route, client address, time and status. A 2xx answer to a form post is the
//!   form shown again (a validation error, a layer preview, a gap confirmation), not a change.
//! - 403 by a signed-in user is a refused attempt: the same row with outcome `denied`.
//! - anonymous requests are never recorded (every audited route needs a session, and a stranger
//!   must not be able to fill the disk); login is recorded when it succeeds, through the
//!   session it starts. Failed logins go to the server log only.
//!
//! Nothing from the body is read: no passwords, CSRF tokens or form fields are ever stored.
//! A test checks that every POST route of the router has an entry in [`ROUTES`].

use std::net::SocketAddr;

use crate::store::{AuditEntry, AuditFilter, SessionInfo};
use app::pages::audit::{AuditFilterView, AuditPage, AuditRow};
use app::pages::render_document;
use app::ssr::auth::token_hash;
use axum::extract::{
    ConnectInfo, FromRequestParts, MatchedPath, Query, RawPathParams, Request, State,
};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, Response};
use leptos::prelude::*;
use serde::Deserialize;

use super::error::AppError;
use super::session::{cookie, Admin};
use crate::format::display_time;
use crate::state::AppState;

/// What a route's action is called.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// Always this word.
    Is(&'static str),
    /// The value of this path parameter, if it is one of the words (else `other`).
    Param(&'static str, &'static [&'static str]),
}

/// Where a create's new id is found in its redirect (it is not in the request path).
#[derive(Debug, Clone, Copy)]
pub enum NewId {
    /// Not recorded.
    No,
    /// The path segment after this prefix of the `Location`, e.g. `/schedules/`.
    PathAfter(&'static str),
    /// This query parameter of the `Location`.
    Query(&'static str),
}

/// How a state-changing route is audited.
#[derive(Debug, Clone, Copy)]
pub enum Audit {
    /// Recorded: kind of thing, action, and where a new id is.
    Change(&'static str, Action, NewId),
    /// Not recorded, and why.
    Skip(&'static str),
}

use self::Action::{Is, Param};
use self::Audit::{Change, Skip};
use self::NewId::{No, PathAfter};

/// Every state-changing route: `(method, route template, audit)`.
pub const ROUTES: &[(&str, &str, Audit)] = &[
    ("POST", "/login", Change("session", Is("login"), No)),
    ("POST", "/logout", Change("session", Is("logout"), No)),
    (
        "POST",
        "/admin/components",
        Change("component", Is("create"), NewId::Query("c")),
    ),
    (
        "POST",
        "/admin/components/{id}",
        Change("component", Is("update"), No),
    ),
    (
        "POST",
        "/admin/components/{id}/status",
        Change("component", Is("status"), No),
    ),
    (
        "POST",
        "/admin/components/{id}/delete",
        Change("component", Is("delete"), No),
    ),
    (
        "POST",
        "/schedules",
        Change("schedule", Is("create"), PathAfter("/schedules/")),
    ),
    (
        "POST",
        "/schedules/{id}/overrides",
        Change("override", Is("create"), No),
    ),
    (
        "POST",
        "/schedules/{id}/swaps",
        Change("swap", Is("request"), No),
    ),
    (
        "POST",
        "/schedules/{id}/swaps/{swap}/{action}",
        Change(
            "swap",
            Param("action", &["accept", "decline", "withdraw"]),
            No,
        ),
    ),
    (
        "POST",
        "/schedules/{id}/swaps/ask",
        Skip("shows the confirmation step only; the request itself is audited when confirmed"),
    ),
    (
        "POST",
        "/schedules/{id}/publish",
        Change("schedule", Is("publish"), No),
    ),
    (
        "POST",
        "/schedules/{id}/ical/rotate",
        Change("schedule", Is("rotate_ical"), No),
    ),
    (
        "POST",
        "/schedules/{id}/layers",
        Change("layer", Is("create"), No),
    ),
    (
        "POST",
        "/schedules/{id}/layers/{layer}",
        Change("layer", Is("update"), No),
    ),
    (
        "POST",
        "/schedules/{id}/layers/{layer}/delete",
        Change("layer", Is("delete"), No),
    ),
    (
        "POST",
        "/admin/incidents",
        Change("incident", Is("create"), PathAfter("/admin/incidents/")),
    ),
    (
        "POST",
        "/admin/maintenance",
        Change("maintenance", Is("create"), PathAfter("/admin/incidents/")),
    ),
    (
        "POST",
        "/admin/incidents/{id}/updates",
        Change("incident", Is("post_update"), No),
    ),
    (
        "POST",
        "/admin/incidents/{id}/title",
        Change("incident", Is("correct_title"), No),
    ),
    (
        "POST",
        "/admin/incidents/{id}/delete",
        Change("incident", Is("delete"), No),
    ),
    (
        "POST",
        "/admin/incidents/{id}/updates/{update}/correct",
        Change("incident", Is("correct_update"), No),
    ),
    (
        "POST",
        "/admin/monitors",
        Change("monitor", Is("create"), No),
    ),
    (
        "POST",
        "/admin/monitors/{id}/delete",
        Change("monitor", Is("delete"), No),
    ),
    (
        "POST",
        "/admin/monitors/{id}",
        Change("monitor", Is("update"), No),
    ),
    (
        "POST",
        "/admin/monitors/{id}/pause",
        Change("monitor", Is("pause"), No),
    ),
    (
        "POST",
        "/admin/monitors/{id}/resume",
        Change("monitor", Is("resume"), No),
    ),
    (
        "POST",
        "/admin/branding",
        Change("branding", Is("update"), No),
    ),
    (
        "POST",
        "/admin/branding/logo",
        Change("branding", Is("upload_logo"), No),
    ),
    (
        "POST",
        "/admin/branding/logo/delete",
        Change("branding", Is("delete_logo"), No),
    ),
    (
        "POST",
        "/admin/subscribers",
        Change("subscriber", Is("create"), No),
    ),
    (
        "POST",
        "/admin/subscribers/{id}/delete",
        Change("subscriber", Is("delete"), No),
    ),
    ("POST", "/profile", Change("profile", Is("update"), No)),
    (
        "POST",
        "/profile/ical/rotate",
        Change("profile", Is("rotate_ical"), No),
    ),
    (
        "POST",
        "/profile/contacts",
        Change("profile", Is("add_contact"), No),
    ),
    (
        "POST",
        "/profile/contacts/{id}/delete",
        Change("profile", Is("remove_contact"), No),
    ),
    (
        "POST",
        "/profile/contacts/sms",
        Change("profile", Is("add_contact"), No),
    ),
    (
        "POST",
        "/profile/contacts/chat",
        Change("profile", Is("add_contact"), No),
    ),
    (
        "POST",
        "/profile/contacts/webhook",
        Change("profile", Is("add_contact"), No),
    ),
    (
        "POST",
        "/profile/contacts/{id}/code",
        Change("profile", Is("send_code"), No),
    ),
    (
        "POST",
        "/profile/contacts/{id}/verify",
        Change("profile", Is("verify_contact"), No),
    ),
    (
        "POST",
        "/profile/contacts/{id}/test",
        Change("profile", Is("test_contact"), No),
    ),
    (
        "POST",
        "/profile/rules",
        Change("profile", Is("add_rule"), No),
    ),
    (
        "POST",
        "/profile/rules/{id}/delete",
        Change("profile", Is("remove_rule"), No),
    ),
    (
        "POST",
        "/admin/people/invitations",
        Change("invitation", Is("create"), NewId::Query("i")),
    ),
    (
        "POST",
        "/admin/people/invitations/{id}/revoke",
        Change("invitation", Is("revoke"), No),
    ),
    (
        "POST",
        "/admin/people/{id}/deactivate",
        Change("person", Is("deactivate"), No),
    ),
    (
        "POST",
        "/admin/people/{id}/reactivate",
        Change("person", Is("reactivate"), No),
    ),
    (
        "POST",
        "/invite/{token}",
        Skip("public until it succeeds; the path holds a secret token; the invitations row records the acceptance"),
    ),
    (
        "POST",
        "/admin/teams",
        Change("team", Is("create"), NewId::Query("t")),
    ),
    ("POST", "/admin/teams/{id}", Change("team", Is("rename"), No)),
    (
        "POST",
        "/admin/teams/{id}/members",
        Change("team", Is("set_members"), No),
    ),
    (
        "POST",
        "/admin/teams/{id}/delete",
        Change("team", Is("delete"), No),
    ),
    (
        "POST",
        "/admin/teams/{id}/chat",
        Change("team", Is("set_chat"), No),
    ),
    (
        "POST",
        "/subscribe",
        Skip("public and anonymous; rate-limited, and the subscribers table keeps the row"),
    ),
    (
        "POST",
        "/subscribe/confirm/{token}",
        Skip("public and anonymous; the path holds a secret token"),
    ),
    (
        "POST",
        "/unsubscribe/{token}",
        Skip("public and anonymous; the path holds a secret token"),
    ),
    (
        "POST",
        "/a/{token}",
        Skip("a one-tap link: the path holds a signed token; the incident timeline records the action, who and through which channel"),
    ),
    (
        "POST",
        "/heartbeat/{token}",
        Skip("a monitor's check-in, not a change; the path holds a secret token"),
    ),
    (
        "POST",
        "/hooks/heartbeat/{token}",
        Skip("a monitor's check-in, not a change; the path holds a secret token"),
    ),
    (
        "POST",
        "/v2/enqueue",
        Skip("alerts from monitoring tools: a flood would drown the log; incident timelines record them"),
    ),
    (
        "POST",
        "/v2/change/enqueue",
        Skip("change events from tools; stored on their service"),
    ),
    (
        "POST",
        "/hooks/alertmanager/{key}",
        Skip("alerts from monitoring tools; the path holds a secret key"),
    ),
    (
        "POST",
        "/hooks/grafana/{key}",
        Skip("alerts from monitoring tools; the path holds a secret key"),
    ),
    (
        "POST",
        "/hooks/generic/{key}",
        Skip("alerts from monitoring tools; the path holds a secret key"),
    ),
    (
        "POST",
        "/webhooks/sms",
        Skip("signed by the SMS provider, not a session; an action it takes is on the incident's timeline"),
    ),
    (
        "POST",
        "/webhooks/sms/status",
        Skip("signed delivery reports from the SMS provider; recorded on the incidents' timelines"),
    ),
    (
        "POST",
        "/oncall/{id}/act",
        Change("oncall_incident", Is("act"), No),
    ),
    (
        "POST",
        "/oncall/{id}/status",
        Change("oncall_incident", Is("post_status"), No),
    ),
    (
        "POST",
        "/api/v1/incidents/{id}/{action}",
        Change(
            "oncall_incident",
            Param(
                "action",
                &["acknowledge", "resolve", "note", "retrigger", "reassign", "snooze", "escalate"],
            ),
            No,
        ),
    ),
    (
        "POST",
        "/services",
        Change("service", Is("create"), PathAfter("/services/")),
    ),
    (
        "POST",
        "/services/{id}/keys",
        Change("integration_key", Is("create"), No),
    ),
    (
        "POST",
        "/services/{id}",
        Change("service", Is("update"), No),
    ),
    (
        "POST",
        "/services/{id}/heartbeats",
        Change("monitor", Is("create"), No),
    ),
    (
        "POST",
        "/services/{id}/keys/{key}/revoke",
        Change("integration_key", Is("revoke"), No),
    ),    (
        "POST",
        "/policies",
        Change("policy", Is("create"), PathAfter("/policies/")),
    ),
    ("POST", "/policies/{id}", Change("policy", Is("update"), No)),
    (
        "POST",
        "/policies/{id}/delete",
        Change("policy", Is("delete"), No),
    ),
    (
        "POST",
        "/services/{id}/paging",
        Change("service", Is("set_paging"), No),
    ),
    (
        "POST",
        "/services/{id}/maintenance",
        Change("service_maintenance", Is("create"), No),
    ),
    (
        "POST",
        "/services/{id}/maintenance/{window}/end",
        Change("service_maintenance", Is("end"), No),
    ),
];

/// Kinds recorded outside the router (the command line).
const OTHER_KINDS: &[&str] = &["user"];

/// The audit rule of a route, if it has one.
pub fn rule(method: &str, route: &str) -> Option<Audit> {
    ROUTES
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, a)| *a)
}

/// Every kind that can appear in the log, sorted.
pub fn kinds() -> Vec<&'static str> {
    let mut k: Vec<&str> = ROUTES
        .iter()
        .filter_map(|(_, _, a)| match a {
            Change(kind, _, _) => Some(*kind),
            Skip(_) => None,
        })
        .chain(OTHER_KINDS.iter().copied())
        .collect();
    k.sort_unstable();
    k.dedup();
    k
}

/// The session named by a cookie value, if it is live.
/// Refused attempts are recorded once per person and route a minute, so a signed-in person
/// repeating a refused request cannot fill the append-only log.
const DENIAL_EVERY_MS: i64 = 60_000;
/// Remembered (person, route) pairs at most; the map starts over past it.
const DENIALS_REMEMBERED: usize = 10_000;

fn first_denial_in_a_while(user: &str, route: &str, now: i64) -> bool {
    static LAST: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<(String, String), i64>>,
    > = std::sync::OnceLock::new();
    let mut last = LAST
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let key = (user.to_string(), route.to_string());
    if last.get(&key).is_some_and(|t| now - t < DENIAL_EVERY_MS) {
        return false;
    }
    if last.len() >= DENIALS_REMEMBERED {
        last.retain(|_, t| now - *t < DENIAL_EVERY_MS);
        if last.len() >= DENIALS_REMEMBERED {
            last.clear();
        }
    }
    last.insert(key, now);
    true
}

async fn session_of(state: &AppState, token: &str) -> Option<SessionInfo> {
    if token.is_empty() || token.len() > 100 {
        return None;
    }
    let hash = token_hash(&state.secret, token);
    match state.store.session(&hash, state.clock.now_ms()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "audit: session lookup failed");
            None
        }
    }
}

/// The session cookie a response sets (login), if any.
fn new_session_token(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_string())
}

/// The new object's id from a create's redirect.
fn new_id(how: NewId, headers: &HeaderMap) -> Option<String> {
    let location = headers.get(header::LOCATION)?.to_str().ok()?;
    let (path, query) = location.split_once('?').unwrap_or((location, ""));
    let id = match how {
        No => return None,
        PathAfter(prefix) => path.strip_prefix(prefix)?.split('/').next()?.to_string(),
        NewId::Query(name) => {
            serde_urlencoded::from_str::<Vec<(String, String)>>(query)
                .ok()?
                .into_iter()
                .find(|(k, _)| k == name)?
                .1
        }
    };
    (!id.is_empty()).then_some(id)
}

/// The middleware: records changes and refused attempts of signed-in users (see the module
/// documentation). A failure to write the row is logged; the answer is returned either way,
/// since the change itself has already been made.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let method = parts.method.to_string();
    let audit = match rule(&method, &route) {
        Some(Skip(_)) => return next.run(Request::from_parts(parts, body)).await,
        Some(a) => a,
        None => {
            tracing::warn!(%method, %route, "audit: route has no entry in audit::ROUTES");
            Change("other", Is("other"), No)
        }
    };
    let params: Vec<(String, String)> = RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .map(|p| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = peer.map(|p| {
        super::client_ip::client_ip(p, &parts.headers, &state.config.trusted_proxies).to_string()
    });
    let before = match cookie(&parts.headers, state.session_cookie_name()) {
        Some(token) => session_of(&state, &token).await,
        None => None,
    };
    let resp = next.run(Request::from_parts(parts, body)).await;
    let status = resp.status();
    let outcome = if status.is_redirection() {
        "ok"
    } else if status == StatusCode::FORBIDDEN {
        "denied"
    } else {
        return resp;
    };
    let started = match new_session_token(resp.headers(), state.session_cookie_name()) {
        Some(token) if outcome == "ok" => session_of(&state, &token).await,
        _ => None,
    };
    let Some(actor) = started.or(before) else {
        return resp;
    };
    if outcome == "denied" && !first_denial_in_a_while(&actor.user.id, &route, state.clock.now_ms())
    {
        return resp;
    }
    let Change(kind, action, how) = audit else {
        return resp;
    };
    let action = match action {
        Is(a) => a.to_string(),
        Param(name, words) => params
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| words.iter().find(|w| **w == v.as_str()))
            .map_or_else(|| "other".to_string(), |w| w.to_string()),
    };
    let mut target: Vec<String> = params
        .iter()
        .filter(|(k, _)| !matches!(action_param(audit), Some(p) if p == k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if outcome == "ok" {
        if let Some(id) = new_id(how, resp.headers()) {
            target.push(format!("new={id}"));
        }
    }
    let entry = AuditEntry {
        actor_id: Some(actor.user.id),
        actor_email: Some(actor.user.email),
        actor_name: Some(actor.user.name),
        kind: kind.to_string(),
        action,
        outcome: outcome.to_string(),
        target: (!target.is_empty()).then(|| target.join(", ")),
        route,
        method,
        ip,
        status: i64::from(status.as_u16()),
        created_at: state.clock.now_ms(),
    };
    if let Err(e) = state.store.record_audit(&entry).await {
        tracing::error!(error = %e, kind = %entry.kind, action = %entry.action, "audit: could not record");
    }
    resp
}

/// Records a change made from the command line (`firstline user ...`): no actor, no address.
pub async fn record_cli(
    store: &crate::store::Store,
    kind: &str,
    action: &str,
    route: &str,
    target: String,
    now: i64,
) -> Result<(), crate::store::StoreError> {
    store
        .record_audit(&AuditEntry {
            kind: kind.into(),
            action: action.into(),
            outcome: "ok".into(),
            target: Some(target),
            route: route.into(),
            method: "CLI".into(),
            created_at: now,
            ..Default::default()
        })
        .await
}

fn action_param(a: Audit) -> Option<&'static str> {
    match a {
        Change(_, Param(p, _), _) => Some(p),
        _ => None,
    }
}

/// Rows per page.
pub const PAGE: i64 = 100;

/// Query of `GET /admin/audit`.
#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    before: String,
}

fn link(actor: &str, kind: &str, before: Option<i64>) -> String {
    let before = before.map(|b| b.to_string());
    let pairs: Vec<(&str, &str)> = [
        ("actor", actor),
        ("kind", kind),
        ("before", before.as_deref().unwrap_or("")),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    match serde_urlencoded::to_string(&pairs) {
        Ok(q) if !q.is_empty() => format!("/admin/audit?{q}"),
        _ => "/admin/audit".to_string(),
    }
}

/// `GET /admin/audit`: the log, newest first, filtered by person and kind (admins only).
pub async fn page(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<AuditQuery>,
) -> Result<Html<String>, AppError> {
    let kinds = kinds();
    let kind = q.kind.trim().to_string();
    if !kind.is_empty() && !kinds.contains(&kind.as_str()) {
        return Err(AppError::BadRequest(format!(
            "kind: unknown kind {kind:?}; use one of {}",
            kinds.join(", ")
        )));
    }
    let actor = q.actor.trim().to_string();
    if actor.len() > 100 {
        return Err(AppError::BadRequest("actor: not a user id".into()));
    }
    let before =
        match q.before.trim() {
            "" => None,
            b => Some(b.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                AppError::BadRequest("before: must be a positive row number".into())
            })?),
        };
    let mut records = state
        .store
        .audit_entries(&AuditFilter {
            actor_id: (!actor.is_empty()).then(|| actor.clone()),
            kind: (!kind.is_empty()).then(|| kind.clone()),
            before,
            limit: PAGE + 1,
        })
        .await?;
    let more = records.len() as i64 > PAGE;
    records.truncate(PAGE as usize);
    let older = more
        .then(|| records.last().map(|r| link(&actor, &kind, Some(r.id))))
        .flatten();
    let newest = before.map(|_| link(&actor, &kind, None));
    let zone = admin.0.user.time_zone.clone();
    let rows: Vec<AuditRow> = records
        .into_iter()
        .map(|r| {
            let e = r.entry;
            AuditRow {
                when: display_time(e.created_at, &zone),
                who: match (e.actor_name, e.actor_email) {
                    (Some(n), Some(m)) => format!("{n} <{m}>"),
                    (Some(x), None) | (None, Some(x)) => x,
                    (None, None) if e.method == "CLI" => "command line".into(),
                    (None, None) => "anonymous".into(),
                },
                kind: e.kind,
                action: e.action,
                outcome: e.outcome,
                target: e.target.unwrap_or_default(),
                route: format!("{} {}", e.method, e.route),
                ip: e.ip.unwrap_or_default(),
                status: if e.status == 0 {
                    String::new()
                } else {
                    e.status.to_string()
                },
            }
        })
        .collect();
    let people = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, format!("{} <{}>", u.name, u.email)))
        .collect();
    let kinds = kinds.into_iter().map(String::from).collect();
    let viewer = admin.viewer();
    let filter = AuditFilterView { actor, kind };
    Ok(Html(render_document(
        "Audit log · Firstline",
        None,
        None,
        move || {
            view! {
                <AuditPage viewer=viewer rows=rows people=people kinds=kinds filter=filter
                    older=older newest=newest zone=zone/>
            }
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_attempts_are_recorded_once_a_minute_per_person_and_route() {
        let t = 1_000_000_000;
        assert!(first_denial_in_a_while("u-denial", "/admin/x", t));
        for i in 1..100 {
            assert!(!first_denial_in_a_while(
                "u-denial",
                "/admin/x",
                t + i * 100
            ));
        }
        assert!(first_denial_in_a_while("u-denial", "/admin/y", t + 1));
        assert!(first_denial_in_a_while("u-other", "/admin/x", t + 1));
        assert!(first_denial_in_a_while(
            "u-denial",
            "/admin/x",
            t + DENIAL_EVERY_MS
        ));
    }

    /// `(method, path)` of every route registered in `router()`, read from its source, so a
    /// route added there without an audit entry fails this test.
    fn router_routes() -> Vec<(String, String)> {
        let src = include_str!("mod.rs");
        let mut out = Vec::new();
        let mut rest = src;
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            // The call's text, up to its closing parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(j, _)| j)
                .expect("closing parenthesis");
            let call = &rest[..end];
            let path = call
                .split('"')
                .nth(1)
                .expect("route path literal")
                .to_string();
            for (method, marker) in [
                ("POST", "post("),
                ("PUT", "put("),
                ("PATCH", "patch("),
                ("DELETE", "delete("),
            ] {
                // `post(` as a method router, not as part of a handler's name.
                let n = call.match_indices(marker).filter(|(k, _)| {
                    call[..*k]
                        .chars()
                        .last()
                        .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
                });
                if n.count() > 0 {
                    out.push((method.to_string(), path.clone()));
                }
            }
            rest = &rest[end..];
        }
        out
    }

    #[test]
    fn every_state_changing_route_has_an_audit_entry() {
        let routes = router_routes();
        assert!(
            routes.len() >= 25,
            "the router source parser found too few routes: {routes:?}"
        );
        for (method, path) in &routes {
            assert!(
                rule(method, path).is_some(),
                "{method} {path} has no entry in audit::ROUTES: add one (Change or Skip)"
            );
        }
        // And no stale entries.
        for (method, path, _) in ROUTES {
            assert!(
                routes.iter().any(|(m, p)| m == method && p == path),
                "audit::ROUTES lists {method} {path}, which the router does not have"
            );
        }
    }

    #[test]
    fn recorded_routes_carry_no_secrets_in_their_targets() {
        for (method, path, a) in ROUTES {
            if let Change(..) = a {
                assert!(
                    !path.contains("{token}") && !path.contains("{file}"),
                    "{method} {path} would record a secret path parameter"
                );
            }
        }
    }

    #[test]
    fn new_ids_come_from_the_redirect() {
        let mut h = HeaderMap::new();
        h.insert(header::LOCATION, "/schedules/abc123/edit".parse().unwrap());
        assert_eq!(
            new_id(PathAfter("/schedules/"), &h).as_deref(),
            Some("abc123")
        );
        assert_eq!(new_id(PathAfter("/admin/incidents/"), &h), None);
        h.insert(
            header::LOCATION,
            "/admin/components?done=created&c=x%2Fy".parse().unwrap(),
        );
        assert_eq!(new_id(NewId::Query("c"), &h).as_deref(), Some("x/y"));
        assert_eq!(new_id(No, &h), None);
    }

    #[test]
    fn the_session_a_response_starts() {
        let mut h = HeaderMap::new();
        h.append(header::SET_COOKIE, "other=1; Path=/".parse().unwrap());
        h.append(
            header::SET_COOKIE,
            "firstline_session=tok; Path=/; HttpOnly".parse().unwrap(),
        );
        assert_eq!(
            new_session_token(&h, "firstline_session").as_deref(),
            Some("tok")
        );
        let mut cleared = HeaderMap::new();
        cleared.insert(
            header::SET_COOKIE,
            "firstline_session=; Path=/; Max-Age=0".parse().unwrap(),
        );
        assert_eq!(new_session_token(&cleared, "firstline_session"), None);
    }
}

//! One-tap links, `/a/{token}`: `GET` shows a phone-sized confirmation page with one button and
//! changes nothing (mail scanners and link previews fetch URLs); `POST` (that button, or the
//! service worker's notification action with an empty body) checks the signature, the expiry,
//! that the person may still act, spends the link (once) and acts as them through the channel
//! that carried it. Answers are HTML, or `{ok, message}` JSON for `Accept: application/json`.
//! The token is in the URL: answers are never cached and send no referrer.

use std::net::SocketAddr;

use app::domain::oncall::{permits, OncallIncident, Permission};
use app::domain::onetap::{self, LinkAction};
use app::pages::onetap::{LinkIncident, OneTapPage};
use app::pages::render_document;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use leptos::prelude::*;

use crate::notify::links::{verify, LinkClaims, LinkError};
use crate::state::AppState;
use crate::store::{LinkUse, StoreError};

/// Taps (POSTs) one client address may make per [`RATE_WINDOW_MS`].
pub const POSTS_PER_WINDOW: i64 = 30;
/// The rate limit's window.
pub const RATE_WINDOW_MS: i64 = 10 * 60_000;

/// One answer: status, headline, sentences, the incident, a button.
struct Answer {
    code: StatusCode,
    title: String,
    lines: Vec<String>,
    incident: Option<LinkIncident>,
    button: Option<String>,
}

impl Answer {
    fn refused(code: StatusCode, title: &str, line: &str) -> Answer {
        Answer {
            code,
            title: title.to_string(),
            lines: vec![line.to_string()],
            incident: None,
            button: None,
        }
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// Renders an answer as HTML or JSON, with the headers every answer here carries.
fn respond(token: &str, json: bool, a: Answer) -> Response {
    let mut resp = if json {
        let message = std::iter::once(a.title.clone())
            .chain(a.lines.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ");
        let ok = a.code.is_success();
        (
            a.code,
            axum::Json(serde_json::json!({ "ok": ok, "message": message })),
        )
            .into_response()
    } else {
        let code = (!a.code.is_success()).then_some(a.code.as_u16());
        let doc_title = format!("{} · Firstline", a.title);
        let action = format!("/a/{token}");
        let Answer {
            title,
            lines,
            incident,
            button,
            ..
        } = a;
        let html = render_document(&doc_title, None, None, move || {
            view! { <OneTapPage title=title lines=lines incident=incident button=button action=action code=code/> }
        });
        (a.code, Html(html)).into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// What a refused link says.
fn link_refused(e: LinkError) -> Answer {
    match e {
        LinkError::Tampered => Answer::refused(
            StatusCode::BAD_REQUEST,
            "This link does not work",
            "It is not a link this Firstline sent, or it was changed on the way (a mail program may have cut it). Open the incident from the on-call list instead.",
        ),
        LinkError::Expired => Answer::refused(
            StatusCode::GONE,
            "This link has expired",
            "One-tap links work for 24 hours. Log in and act on the incident from the on-call list.",
        ),
    }
}

fn used() -> Answer {
    Answer::refused(
        StatusCode::CONFLICT,
        "This link was already used",
        "Each link works once. Log in to see where the incident stands now.",
    )
}

/// Checks the link and its person; returns the claims, the action and the person.
async fn check(
    state: &AppState,
    token: &str,
) -> Result<(LinkClaims, LinkAction, app::domain::account::User), Answer> {
    let now = state.clock.now_ms();
    let claims = verify(&state.secret, token, now).map_err(link_refused)?;
    let action =
        LinkAction::parse(&claims.action).ok_or_else(|| link_refused(LinkError::Tampered))?;
    let gone = || {
        Answer::refused(
            StatusCode::FORBIDDEN,
            "This link no longer works",
            "The account it was sent to can no longer act on incidents. Ask an admin, or log in with your own account.",
        )
    };
    let user = match state.store.user(&claims.user_id).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Err(gone()),
        Err(e) => return Err(server_error(e)),
    };
    if !user.is_active() || !permits(Some(user.role), Permission::Act) {
        return Err(gone());
    }
    Ok((claims, action, user))
}

fn server_error(e: StoreError) -> Answer {
    tracing::error!(error = %e, "a one-tap link failed");
    Answer::refused(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Nothing was changed. Try again in a moment, or log in and act from the on-call list.",
    )
}

fn deleted() -> Answer {
    Answer::refused(
        StatusCode::NOT_FOUND,
        "This incident is gone",
        "It was deleted. Nothing to do.",
    )
}

async fn incident(state: &AppState, id: &str) -> Result<OncallIncident, Answer> {
    match state.store.oncall_incident(id).await {
        Ok(i) => Ok(i),
        Err(StoreError::NotFound) => Err(deleted()),
        Err(e) => Err(server_error(e)),
    }
}

type Names = std::collections::HashMap<String, String>;

fn shown(
    names: &Names,
    inc: &OncallIncident,
    user: &app::domain::account::User,
    now: i64,
) -> LinkIncident {
    let name_of = |u: &str| name(names, u);
    LinkIncident {
        heading: format!("#{} {}", inc.number, inc.title),
        service: inc.service_name.clone(),
        state: inc.state.as_str().to_string(),
        state_label: match inc.state {
            app::domain::oncall::State::Triggered => "Triggered",
            app::domain::oncall::State::Acknowledged => "Acknowledged",
            app::domain::oncall::State::Resolved => "Resolved",
        }
        .to_string(),
        state_line: onetap::state_line(inc, &user.id, name_of, &user.time_zone, now),
        url: format!("/oncall/{}", inc.id),
    }
}

fn name(names: &Names, id: &str) -> String {
    names
        .get(id)
        .cloned()
        .unwrap_or_else(|| "(removed user)".into())
}

async fn name_map(state: &AppState) -> Names {
    state
        .store
        .list_users()
        .await
        .map(|l| l.into_iter().map(|u| (u.id, u.name)).collect())
        .unwrap_or_default()
}

/// `GET /a/{token}`: the confirmation page. Changes nothing.
pub async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let json = wants_json(&headers);
    let answer = async {
        let (claims, action, user) = check(&state, &token).await?;
        match state.store.link_used(&claims.nonce).await {
            Ok(true) => return Err(used()),
            Ok(false) => {}
            Err(e) => return Err(server_error(e)),
        }
        let inc = incident(&state, &claims.incident_id).await?;
        let now = state.clock.now_ms();
        let names = name_map(&state).await;
        let shown = shown(&names, &inc, &user, now);
        if onetap::would_act(action, &inc, now) {
            Ok(Answer {
                code: StatusCode::OK,
                title: onetap::question(action, &inc),
                lines: vec![format!(
                    "The button acts as {}, signed in or not.",
                    user.name
                )],
                incident: Some(shown),
                button: Some(action.verb().to_string()),
            })
        } else {
            let name_of = |u: &str| name(&names, u);
            Ok(Answer {
                code: StatusCode::OK,
                title: format!("#{} needs nothing more", inc.number),
                lines: vec![onetap::outcome(
                    action,
                    false,
                    &inc,
                    &user.id,
                    name_of,
                    &user.time_zone,
                    now,
                )],
                incident: Some(shown),
                button: None,
            })
        }
    }
    .await;
    respond(&token, json, answer.unwrap_or_else(|a| a))
}

/// `POST /a/{token}`: does what the link says, once.
pub async fn act(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let json = wants_json(&headers);
    let answer = async {
        let now = state.clock.now_ms();
        let ip = super::status_public::rate_key(super::client_ip::client_ip(
            peer.ip(),
            &headers,
            &state.config.trusted_proxies,
        ));
        match state
            .store
            .rate_limit_hit(&format!("link-ip:{ip}"), RATE_WINDOW_MS, now)
            .await
        {
            Ok(n) if n > POSTS_PER_WINDOW => {
                return Err(Answer::refused(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many taps",
                    "Too many one-tap actions from your network. Wait a few minutes, or log in and act from the on-call list.",
                ))
            }
            Ok(_) => {}
            Err(e) => return Err(server_error(e)),
        }
        let (claims, action, user) = check(&state, &token).await?;
        let done = state
            .store
            .act_by_link(
                &claims.nonce,
                claims.expires_at,
                &claims.incident_id,
                &user.id,
                &claims.channel,
                &action.act(),
                now,
            )
            .await;
        let (acted, inc) = match done {
            Ok(LinkUse::Used) => return Err(used()),
            Ok(LinkUse::Acted(inc)) => (true, inc),
            Ok(LinkUse::Unchanged(inc)) => (false, inc),
            Err(StoreError::NotFound) => return Err(deleted()),
            Err(e) => return Err(server_error(e)),
        };
        tracing::info!(incident = %inc.id, user = %user.email, action = action.verb(), channel = %claims.channel, acted, "one-tap link used");
        let names = name_map(&state).await;
        let name_of = |u: &str| name(&names, u);
        let line = onetap::outcome(action, acted, &inc, &user.id, name_of, &user.time_zone, now);
        let shown = shown(&names, &inc, &user, now);
        Ok(Answer {
            code: StatusCode::OK,
            title: if acted {
                format!("{} #{}", action.done(), inc.number)
            } else {
                format!("#{} needs nothing more", inc.number)
            },
            lines: vec![line],
            incident: Some(shown),
            button: None,
        })
    }
    .await;
    respond(&token, json, answer.unwrap_or_else(|a| a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_chosen_by_accept() {
        let mut h = HeaderMap::new();
        assert!(!wants_json(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
        assert!(!wants_json(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, */*"),
        );
        assert!(wants_json(&h));
    }
}

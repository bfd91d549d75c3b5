//! Public status-page routes besides `/status`: incident permalinks, monthly history, the email
//! subscription flow (double opt-in, rate-limited per address and per IP, one-click
//! unsubscribe), and heartbeat pings.

use std::net::SocketAddr;

use crate::store::{Confirm, IncidentFilter, JobSpec, StoreError};
use app::domain::subscription::SubscribeInput;
use app::domain::ValidationError;
use app::pages::render_document;
use app::pages::status::{HistoryPage, HistoryView, IncidentPage};
use app::pages::status_admin::MessagePage;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use jiff::civil::Date;
use leptos::prelude::*;

use super::error::AppError;
use super::incidents::{field, Fields};
use super::session::{MaybeSession, ValidForm};
use crate::state::AppState;

/// Subscription requests allowed per address per hour.
pub const PER_ADDRESS_PER_HOUR: i64 = 3;
/// Subscription requests allowed per IP per hour.
pub const PER_IP_PER_HOUR: i64 = 10;

/// `GET /incidents/{id}`: the permalink of an incident or maintenance.
pub async fn incident(
    State(state): State<AppState>,
    session: MaybeSession,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    if id.len() > 40 {
        return Err(AppError::NotFound);
    }
    let inc = state.store.incident(&id).await?;
    let tz = state.hub.page().time_zone.clone();
    let card = crate::live::card(&inc, &tz);
    let viewer = session.viewer();
    let brand = (*state.hub.current().brand).clone();
    let title = format!("{} · {} status", inc.name, brand.name);
    let live = state.assets.has_live();
    let html = render_document(&title, None, Some(&title), move || {
        view! { <IncidentPage viewer=viewer brand=brand card=card live=live/> }
    });
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-cache")],
        Html(html),
    )
        .into_response())
}

/// `GET /history`: this month.
pub async fn history_now(
    state: State<AppState>,
    session: MaybeSession,
) -> Result<Response, AppError> {
    let tz =
        jiff::tz::TimeZone::get(&state.hub.page().time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let today = state.clock.now().to_zoned(tz).date();
    history_of(state, session, today.first_of_month()).await
}

/// `GET /history/{yyyy-mm}`.
pub async fn history_month(
    state: State<AppState>,
    session: MaybeSession,
    Path(month): Path<String>,
) -> Result<Response, AppError> {
    let first: Date = format!("{month}-01")
        .parse()
        .ok()
        .filter(|_| month.len() == 7)
        .ok_or_else(|| {
            AppError::Validation(app::domain::ValidationError::new(
                "month",
                "must be a year and month like 2026-11",
            ))
        })?;
    history_of(state, session, first).await
}

async fn history_of(
    State(state): State<AppState>,
    session: MaybeSession,
    first: Date,
) -> Result<Response, AppError> {
    let tz_name = state.hub.page().time_zone.clone();
    let tz = jiff::tz::TimeZone::get(&tz_name).unwrap_or(jiff::tz::TimeZone::UTC);
    let bad = || AppError::BadRequest("month: out of range".into());
    let next = first
        .checked_add(jiff::Span::new().months(1))
        .map_err(|_| bad())?;
    let prev = first
        .checked_sub(jiff::Span::new().months(1))
        .map_err(|_| bad())?;
    let ms = |d: Date| {
        d.to_zoned(tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|_| bad())
    };
    let items = state
        .store
        .incidents(IncidentFilter {
            since: Some(ms(first)?),
            until: Some(ms(next)?),
            limit: 500,
            ..Default::default()
        })
        .await?;
    let now_month = state
        .clock
        .now()
        .to_zoned(tz.clone())
        .date()
        .first_of_month();
    let view = HistoryView {
        month: first.strftime("%B %Y").to_string(),
        prev: format!("/history/{}", prev.strftime("%Y-%m")),
        next: (next <= now_month).then(|| format!("/history/{}", next.strftime("%Y-%m"))),
        items: items
            .iter()
            .map(|i| crate::live::card(i, &tz_name))
            .collect(),
    };
    let viewer = session.viewer();
    let brand = (*state.hub.current().brand).clone();
    let title = format!("{} incident history: {}", brand.name, view.month);
    let live = state.assets.has_live();
    let html = render_document(&title, None, Some(&title), move || {
        view! { <HistoryPage viewer=viewer brand=brand view=view live=live/> }
    });
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-cache")],
        Html(html),
    )
        .into_response())
}

fn message(
    state: &AppState,
    code: StatusCode,
    title: &str,
    text: &str,
    action: Option<(String, String)>,
) -> Response {
    let (title, text) = (title.to_string(), text.to_string());
    let doc_title = format!("{title} · {} status", state.hub.current().brand.name);
    let html = render_document(&doc_title, None, None, move || {
        view! { <MessagePage viewer=Default::default() title=title message=text action=action/> }
    });
    (code, Html(html)).into_response()
}

/// `POST /subscribe`: email subscription, step one (the confirmation mail goes through the
/// queue). The answer is the same whether or not the address was subscribed before.
pub async fn subscribe(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    if !state.services.mail.is_configured() {
        return Err(AppError::BadRequest(
            "Email subscriptions are not set up on this status page. Follow it with the RSS or Atom feed instead.".into(),
        ));
    }
    let input = SubscribeInput {
        kind: "email".into(),
        target: field(&fields, "email"),
        components: fields
            .iter()
            .filter(|(k, _)| k == "components")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let draft = input.normalize()?;
    let known = state.store.list_components().await?;
    if let Some(bad) = draft
        .components
        .iter()
        .find(|c| !known.iter().any(|k| k.id == **c))
    {
        return Err(AppError::Validation(app::domain::ValidationError::new(
            "components",
            format!("unknown component {bad:?}"),
        )));
    }
    let now = state.clock.now_ms();
    let ip = rate_key(super::client_ip::client_ip(
        peer.ip(),
        &headers,
        &state.config.trusted_proxies,
    ));
    let by_ip = state
        .store
        .rate_limit_hit(&format!("sub-ip:{ip}"), 3_600_000, now)
        .await?;
    if by_ip > PER_IP_PER_HOUR {
        return Err(AppError::TooMany(
            "Too many subscription requests from your network. Try again in an hour.".into(),
        ));
    }
    let by_addr = state
        .store
        .rate_limit_hit(&format!("sub-email:{}", draft.target), 3_600_000, now)
        .await?;
    if by_addr > PER_ADDRESS_PER_HOUR {
        return Err(AppError::TooMany(
            "Too many subscription requests for this email address. Check your inbox, or try again in an hour.".into(),
        ));
    }
    let (sub, _new) = state.store.subscribe(&draft, &ip, now).await?;
    if sub.confirmed_at.is_none() {
        let job = Confirm {
            subscriber_id: sub.id.clone(),
        };
        state.store.enqueue(&job, now).await?;
        state
            .store
            .wakes()
            .wake(crate::store::Work::Queue(Confirm::QUEUE));
    }
    Ok(message(
        &state,
        StatusCode::OK,
        "Check your inbox",
        &format!(
            "If {} can receive mail, a message with a confirmation link is on its way. Updates start after you confirm.",
            draft.target
        ),
        None,
    ))
}

/// The rate-limit bucket of a client address: the address for IPv4, its /64 for IPv6 (one
/// household or server gets a whole /64, so single addresses would be free to rotate).
pub fn rate_key(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        v4 => v4.to_string(),
    }
}

/// The answer to a confirmation link whose subscriber is gone (or a store failure).
fn unknown_confirmation(state: &AppState, e: StoreError) -> Result<Response, AppError> {
    match e {
        StoreError::NotFound => Ok(message(
            state,
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This confirmation link is unknown or the subscription was removed. Subscribe again from the status page.",
            None,
        )),
        e => Err(e.into()),
    }
}

/// `GET /subscribe/confirm/{token}`: a page with a button, so mail scanners that open links do
/// not confirm for the reader.
pub async fn confirm_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match state.store.subscriber_by_token(&token).await {
        Ok(s) if s.confirmed_at.is_some() => Ok(message(
            &state,
            StatusCode::OK,
            "Subscription confirmed",
            &format!("{} already gets status emails.", s.target),
            None,
        )),
        Ok(s) => Ok(message(
            &state,
            StatusCode::OK,
            "Confirm your subscription",
            &format!(
                "Send status emails for {} to {}?",
                state.hub.current().brand.name,
                s.target
            ),
            Some((
                format!("/subscribe/confirm/{token}"),
                "Confirm subscription".into(),
            )),
        )),
        Err(e) => unknown_confirmation(&state, e),
    }
}

/// `POST /subscribe/confirm/{token}`.
pub async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match state
        .store
        .confirm_subscriber(&token, state.clock.now_ms())
        .await
    {
        Ok(s) => Ok(message(
            &state,
            StatusCode::OK,
            "Subscription confirmed",
            &format!(
                "{} will get an email when an incident is posted or updated.",
                s.target
            ),
            None,
        )),
        Err(e) => unknown_confirmation(&state, e),
    }
}

/// `GET /unsubscribe/{token}`: a page with a button (link scanners must not unsubscribe anyone).
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match state.store.subscriber_by_token(&token).await {
        Ok(s) => Ok(message(
            &state,
            StatusCode::OK,
            "Unsubscribe",
            &format!("Stop status emails to {}?", s.target),
            Some((format!("/unsubscribe/{token}"), "Unsubscribe".into())),
        )),
        Err(StoreError::NotFound) => Ok(message(
            &state,
            StatusCode::NOT_FOUND,
            "Already unsubscribed",
            "This address gets no status emails.",
            None,
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /unsubscribe/{token}`: also the RFC 8058 one-click target of `List-Unsubscribe-Post`.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match state.store.unsubscribe(&token).await {
        Ok(()) | Err(StoreError::NotFound) => Ok(message(
            &state,
            StatusCode::OK,
            "Unsubscribed",
            "You will get no more status emails.",
            None,
        )),
        Err(e) => Err(e.into()),
    }
}

/// `GET|POST /heartbeat/{token}`: a cron job says it ran.
///
/// Pings are coalesced per token: one is stored, and further pings within the coalescing
/// window (a fifth of the monitor's interval, 1 to 10 s) are answered `200` with
/// `"recorded": false` without touching the database. A 429 would make `curl -fsS` in a cron
/// job fail and mail its owner, although the job did run and a ping was recorded moments ago.
/// The window is shorter than the interval, so a ping after a missed deadline is always stored.
pub async fn heartbeat(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let coalesced = |name: &str| {
        Json(serde_json::json!({ "ok": true, "monitor": name, "recorded": false })).into_response()
    };
    if let Some(name) = state.heartbeats.recent(&token, state.clock.now_ms()) {
        return Ok(coalesced(&name));
    }
    let monitor = match state.store.monitor_by_token(&token).await {
        Ok(m) => m,
        Err(StoreError::NotFound) => {
            return Err(AppError::Unknown(ValidationError::new(
                "token",
                "no heartbeat monitor has this token",
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if monitor.paused_at.is_some() {
        // Accepted (the cron job did run), but a paused monitor records nothing.
        return Ok(Json(
            serde_json::json!({ "ok": true, "monitor": monitor.name, "recorded": false, "paused": true }),
        )
        .into_response());
    }
    let window = std::time::Duration::from_secs((monitor.interval_s / 5).clamp(1, 10) as u64);
    if !state
        .heartbeats
        .claim(&token, &monitor.name, window, state.clock.now_ms())
    {
        // Another ping for this token got in first, while this one looked the token up.
        return Ok(coalesced(&monitor.name));
    }
    // A recovery's new status reaches the page with the write itself.
    if let Err(e) = state
        .store
        .record_check(&monitor.id, true, None, None, state.clock.now_ms())
        .await
    {
        state.heartbeats.release(&token);
        return Err(e.into());
    }
    Ok(
        Json(serde_json::json!({ "ok": true, "monitor": monitor.name, "recorded": true }))
            .into_response(),
    )
}

/// Most tokens remembered at once by [`Heartbeats`] (only real tokens are remembered, each for
/// at most 10 s).
pub const HEARTBEAT_MEMORY: usize = 10_000;

/// The last stored ping per heartbeat token, for coalescing.
#[derive(Debug, Default)]
pub struct Heartbeats {
    /// Token to (stored at, window, monitor name); times in the application clock's ms.
    last: std::sync::Mutex<std::collections::HashMap<String, (i64, i64, String)>>,
}

impl Heartbeats {
    /// The monitor's name if a ping for `token` was stored within its window before `now`.
    pub fn recent(&self, token: &str, now: i64) -> Option<String> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.get(token)
            .filter(|(at, window, _)| now - at < *window)
            .map(|(_, _, name)| name.clone())
    }

    /// Claims the right to store a ping for `token` now; false when one was stored within the
    /// window. When the memory is full of live entries the ping is stored without a claim.
    pub fn claim(&self, token: &str, name: &str, window: std::time::Duration, now: i64) -> bool {
        let window = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, w, _)) = last.get(token) {
            if now - at < *w {
                return false;
            }
        }
        if last.len() >= HEARTBEAT_MEMORY && !last.contains_key(token) {
            last.retain(|_, (at, w, _)| now - *at < *w);
            if last.len() >= HEARTBEAT_MEMORY {
                return true;
            }
        }
        last.insert(token.to_string(), (now, window, name.to_string()));
        true
    }

    /// Forgets a claim whose ping could not be stored.
    pub fn release(&self, token: &str) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }

    /// Tokens remembered now.
    pub fn len(&self) -> usize {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when no token is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::rate_key;
    use super::{Heartbeats, HEARTBEAT_MEMORY};
    use std::time::Duration;

    #[test]
    fn heartbeats_coalesce_within_the_window_and_memory_is_capped() {
        let h = Heartbeats::default();
        let w = Duration::from_secs(10);
        let t0 = 1_800_000_000_000;
        assert!(h.claim("t", "Job", w, t0));
        assert!(!h.claim("t", "Job", w, t0 + 9_999));
        assert_eq!(h.recent("t", t0 + 9_999).as_deref(), Some("Job"));
        assert!(h.recent("t", t0 + 10_000).is_none(), "the window is over");
        h.release("t");
        assert!(h.recent("t", t0).is_none());
        assert!(h.claim("t", "Job", Duration::ZERO, t0));
        assert!(
            h.recent("t", t0).is_none(),
            "an expired claim does not coalesce"
        );
        for i in 0..HEARTBEAT_MEMORY + 50 {
            assert!(h.claim(&format!("k{i}"), "Job", w, t0));
        }
        assert!(h.len() <= HEARTBEAT_MEMORY);
    }

    #[test]
    fn rate_keys_group_ipv6_by_64() {
        let k = |s: &str| rate_key(s.parse().unwrap());
        assert_eq!(k("203.0.113.7"), "203.0.113.7");
        assert_eq!(k("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(k("2001:db8:1:2:aaaa::1"), k("2001:db8:1:2:bbbb::2"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
    }
}

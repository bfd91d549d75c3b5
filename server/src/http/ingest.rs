//! Alerts in: the endpoints monitoring tools send to, in the formats they already speak
//! (PagerDuty Events v2 and change events, Alertmanager and Grafana webhooks, a generic webhook,
//! heartbeats). A `2xx` means the events are committed.
//!
//! Status codes follow what senders do with them: input a retry cannot fix (malformed body,
//! unknown or revoked key) is a `4xx`, which Alertmanager drops and PagerDuty clients do not
//! retry; a busy or failing database is a `503`, which they retry; a key over its rate gets
//! `429` with `Retry-After`. Nothing is stored for any of them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use app::domain::ingest::{
    parse_alertmanager, parse_change, parse_generic, parse_pagerduty, Action, Signal,
};
use app::domain::service::{IntegrationKey, KeyKind};

use crate::ingest::{IngestError, KeyLimiter};
use crate::state::AppState;
use crate::store::{Ingest, IngestOutcome};

/// Largest accepted event body (PagerDuty's limit).
pub const EVENT_BODY_LIMIT: usize = 512 * 1024;

/// The PagerDuty-shaped refusal of an event.
fn pd_invalid(errors: Vec<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "status": "invalid event", "message": "Event object is invalid", "errors": errors })),
    )
        .into_response()
}

/// Firstline's own JSON error for the webhook endpoints (`status`, `error`, `field`).
fn hook_error(status: StatusCode, field: Option<&str>, error: String) -> Response {
    (
        status,
        Json(json!({ "status": status.as_u16(), "error": error, "field": field })),
    )
        .into_response()
}

/// Why an event was refused before anything was stored.
enum Refusal {
    /// The key is unknown, revoked, or of another kind (never retried).
    Key(String),
    /// Over the key's rate (retried after `Retry-After`).
    Throttled(i64),
    /// Busy or failing: retry (503).
    Retry(String),
}

impl Refusal {
    fn pagerduty(self) -> Response {
        match self {
            Refusal::Key(m) => pd_invalid(vec![format!("routing_key: {m}")]),
            Refusal::Throttled(after) => (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, after.to_string())],
                Json(json!({ "status": "throttle event", "message": "Requests for this service are arriving too quickly. Please retry later." })),
            )
                .into_response(),
            Refusal::Retry(m) => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "5".to_string())],
                Json(json!({ "status": "unavailable", "message": m })),
            )
                .into_response(),
        }
    }

    fn hook(self) -> Response {
        match self {
            Refusal::Key(m) => hook_error(StatusCode::NOT_FOUND, Some("key"), m),
            Refusal::Throttled(after) => {
                let mut r = hook_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    Some("key"),
                    "too many events for this key; retry later".into(),
                );
                if let Ok(v) = after.to_string().parse() {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            Refusal::Retry(m) => {
                let mut r = hook_error(StatusCode::SERVICE_UNAVAILABLE, None, m);
                r.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
                r
            }
        }
    }
}

/// Finds the key, checks its kind and its rate.
async fn admit(
    state: &AppState,
    secret: &str,
    kinds: &[KeyKind],
) -> Result<IntegrationKey, Refusal> {
    let key = state
        .store
        .key_by_secret(secret)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "checking an integration key failed");
            Refusal::Retry("the key could not be checked; retry shortly".into())
        })?
        .ok_or_else(|| Refusal::Key("no integration key has this value".into()))?;
    if key.revoked_at.is_some() {
        return Err(Refusal::Key("this integration key was revoked".into()));
    }
    if !kinds.contains(&key.kind) {
        return Err(Refusal::Key(format!(
            "this is a {} key; send to {}",
            key.kind.label(),
            key.kind.path("KEY")
        )));
    }
    let now = state.clock.now_ms();
    if !state
        .ingest_limits
        .allow(&key.id, state.config.ingest_rate_per_min, now)
    {
        return Err(Refusal::Throttled(KeyLimiter::retry_after(now)));
    }
    Ok(key)
}

/// Commits the events; `Err` when a retry can succeed.
async fn store(state: &AppState, events: Vec<Ingest>) -> Result<Vec<IngestOutcome>, Refusal> {
    let out = state.ingestor.submit(events).await.map_err(|e| match e {
        IngestError::Busy => Refusal::Retry(e.to_string()),
        // The database's own words stay in the log (the ingestor logged them).
        IngestError::Store(_) => {
            Refusal::Retry("the events could not be stored; retry shortly".into())
        }
    })?;
    if out.contains(&IngestOutcome::KeyGone) {
        return Err(Refusal::Key("this integration key was revoked".into()));
    }
    Ok(out)
}

fn signals(key: &IntegrationKey, signals: Vec<Signal>, truncated: u64) -> Vec<Ingest> {
    // Noted once, with the group's last firing alert (which always has an incident to note it
    // on; a resolved one for an alert never opened has none), else with its last alert.
    let with = signals
        .iter()
        .rposition(|s| s.action == Action::Trigger)
        .unwrap_or(signals.len().saturating_sub(1));
    signals
        .into_iter()
        .enumerate()
        .map(|(i, signal)| Ingest::Signal {
            key_id: key.id.clone(),
            signal,
            truncated: if i == with { truncated } else { 0 },
        })
        .collect()
}

/// `POST /v2/enqueue`: a PagerDuty Events v2 event.
pub async fn pagerduty(State(state): State<AppState>, body: Bytes) -> Response {
    let event = match parse_pagerduty(&body) {
        Ok(e) => e,
        Err(errors) => return pd_invalid(errors),
    };
    let key = match admit(&state, &event.routing_key, &[KeyKind::Pagerduty]).await {
        Ok(k) => k,
        Err(r) => return r.pagerduty(),
    };
    // The key the sender gave, or the one made for it: answered even when nothing was open.
    let mut signal = event.signal;
    let dedup_key = signal
        .dedup_key
        .get_or_insert_with(crate::store::generated_dedup_key)
        .clone();
    match store(&state, signals(&key, vec![signal], 0)).await {
        Ok(_) => (
            StatusCode::ACCEPTED,
            Json(json!({ "status": "success", "message": "Event processed", "dedup_key": dedup_key })),
        )
            .into_response(),
        Err(r) => r.pagerduty(),
    }
}

/// `POST /v2/change/enqueue`: a change event (deploy, configuration change).
pub async fn pagerduty_change(State(state): State<AppState>, body: Bytes) -> Response {
    let change = match parse_change(&body) {
        Ok(c) => c,
        Err(errors) => return pd_invalid(errors),
    };
    let key = match admit(&state, &change.routing_key, &[KeyKind::Pagerduty]).await {
        Ok(k) => k,
        Err(r) => return r.pagerduty(),
    };
    let event = Ingest::Change {
        key_id: key.id,
        summary: change.summary,
        source: change.source,
        occurred_at: change.occurred_at,
        details: change.details,
        links: change.links,
    };
    match store(&state, vec![event]).await {
        Ok(_) => (
            StatusCode::ACCEPTED,
            Json(json!({ "status": "success", "message": "Change event processed" })),
        )
            .into_response(),
        Err(r) => r.pagerduty(),
    }
}

/// The answer to an accepted webhook.
fn accepted(outcomes: &[IngestOutcome]) -> Response {
    let keys: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| match o {
            IngestOutcome::Accepted(Some(a)) => Some(a.dedup_key.as_str()),
            _ => None,
        })
        .collect();
    (
        StatusCode::ACCEPTED,
        Json(json!({ "status": "accepted", "alerts": keys.len(), "dedup_keys": keys })),
    )
        .into_response()
}

/// A body the sender must fix: 400 naming the first bad field, listing them all.
fn bad_body(errors: &[String]) -> Response {
    let field = errors.first().and_then(|e| e.split(':').next());
    hook_error(StatusCode::BAD_REQUEST, field, errors.join("; "))
}

/// `POST /hooks/alertmanager/{key}` and `/hooks/grafana/{key}`: one alert per fingerprint.
pub async fn alertmanager(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    body: Bytes,
) -> Response {
    // The key first: a stranger without one costs a lookup, not a parse of 512 KB.
    let key = match admit(&state, &secret, &[KeyKind::Alertmanager, KeyKind::Grafana]).await {
        Ok(k) => k,
        // Alertmanager retries 5xx only: a throttled group must come again, not be dropped.
        Err(Refusal::Throttled(after)) => {
            return Refusal::Retry(format!("too many events for this key; retry in {after} s"))
                .hook()
        }
        Err(r) => return r.hook(),
    };
    let (list, truncated) = match parse_alertmanager(&body) {
        Ok(x) => x,
        Err(errors) => return bad_body(&errors),
    };
    match store(&state, signals(&key, list, truncated)).await {
        Ok(out) => accepted(&out),
        Err(r) => r.hook(),
    }
}

/// `POST /hooks/generic/{key}`: JSON object or form fields `summary`, `details`, `dedup`,
/// `action` (`trigger` by default, `ack`, `resolve`), and optionally `severity`, `source`.
pub async fn generic(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = match admit(&state, &secret, &[KeyKind::Generic]).await {
        Ok(k) => k,
        Err(r) => return r.hook(),
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    let fields: Result<Map<String, Value>, String> = if is_json {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err("body: must be a JSON object".into()),
            Err(e) => Err(format!("body: not valid JSON ({e})")),
        }
    } else {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect()
            })
            .map_err(|e| format!("body: not a valid form ({e})"))
    };
    let signal = match fields.map_err(|e| vec![e]).and_then(|f| parse_generic(&f)) {
        Ok(s) => s,
        Err(errors) => return bad_body(&errors),
    };
    let mut signal = signal;
    signal
        .dedup_key
        .get_or_insert_with(crate::store::generated_dedup_key);
    match store(&state, signals(&key, vec![signal], 0)).await {
        Ok(out) => accepted(&out),
        Err(r) => r.hook(),
    }
}

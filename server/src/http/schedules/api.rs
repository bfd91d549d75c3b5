//! The JSON API: who is on call now, and a schedule's final shifts over a window. Errors are
//! [`AppError`]s, answered in JSON by [`crate::http::error::json_for_api`].

use app::domain::schedule::{expand, ShiftSource, Window};
use app::domain::ValidationError;
use axum::extract::{Path, Query, State};
use axum::Json;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{hide_draft, load, may_view, user_names};
use crate::http::error::AppError;
use crate::http::session::Member;
use crate::oncall;
use crate::state::AppState;

/// One schedule's current on-call person, in the JSON API.
#[derive(Serialize)]
pub struct OnCallJson {
    schedule_id: String,
    schedule_name: String,
    user: Option<UserJson>,
    until: Option<String>,
    next: Option<UserJson>,
}

/// A user in the JSON API.
#[derive(Serialize, Clone)]
pub struct UserJson {
    id: String,
    name: String,
}

/// `GET /api/v1/oncall`: who is on call now, per schedule.
pub async fn api_oncall(
    State(state): State<AppState>,
    Member(me): Member,
) -> Result<Json<serde_json::Value>, AppError> {
    may_view(&me)?;
    let names = user_names(&state).await?;
    let user = |u: &Option<String>| {
        u.as_ref().map(|id| UserJson {
            id: id.clone(),
            name: names.get(id).cloned().unwrap_or_default(),
        })
    };
    let out: Vec<OnCallJson> = oncall::for_all(&state.store, state.clock.now())
        .await?
        .into_iter()
        // Drafts are being built: nobody is on call through them yet.
        .filter(|on| !on.schedule.draft)
        .map(|on| OnCallJson {
            user: on.current.as_ref().and_then(|s| user(&s.user)),
            until: on.next.as_ref().map(|n| n.start.to_string()),
            next: on.next.as_ref().and_then(|n| user(&n.user)),
            schedule_id: on.schedule.id,
            schedule_name: on.schedule.name,
        })
        .collect();
    Ok(Json(serde_json::json!({ "oncall": out })))
}

/// Query of the shifts API.
#[derive(Deserialize)]
pub struct ShiftsQuery {
    from: Option<String>,
    to: Option<String>,
}

fn parse_rfc3339(field: &str, v: Option<&str>) -> Result<Timestamp, ValidationError> {
    let v = v.ok_or_else(|| {
        ValidationError::new(field, "is required (RFC 3339, e.g. 2026-11-24T00:00:00Z)")
    })?;
    v.parse::<Timestamp>().map_err(|_| {
        ValidationError::new(field, "must be an RFC 3339 time like 2026-11-24T00:00:00Z")
    })
}

/// `GET /api/v1/schedules/{id}/shifts?from=&to=`: final shifts with their source.
pub async fn api_shifts(
    State(state): State<AppState>,
    Member(me): Member,
    Path(id): Path<String>,
    Query(q): Query<ShiftsQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    may_view(&me)?;
    let from = parse_rfc3339("from", q.from.as_deref())?;
    let to = parse_rfc3339("to", q.to.as_deref())?;
    let window = Window::new(from, to)?;
    let full = load(&state, &id, &window).await?;
    hide_draft(&me, full.info.draft)?;
    let names = user_names(&state).await?;
    let shifts: Vec<serde_json::Value> = expand(&full.schedule, &window)
        .into_iter()
        .map(|s| {
            serde_json::json!({
                "start": s.start.to_string(),
                "end": s.end.to_string(),
                "user": s.user.as_ref().map(|u| serde_json::json!({"id": u, "name": names.get(u)})),
                "source": match &s.source {
                    Some(ShiftSource::Layer { layer_id }) => serde_json::json!({"kind": "layer", "layer_id": layer_id}),
                    Some(ShiftSource::Override { override_id }) => serde_json::json!({"kind": "override", "override_id": override_id}),
                    None => serde_json::json!({"kind": "gap"}),
                },
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "schedule": {"id": full.info.id, "name": full.info.name, "time_zone": full.info.time_zone},
        "from": from.to_string(),
        "to": to.to_string(),
        "shifts": shifts,
    })))
}

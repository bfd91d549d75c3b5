//! Server-sent events: `/events/status` announces each new version of the status page's live
//! body. The bytes themselves are fetched from `/status/live`, compressed and from memory, so a
//! change costs every open page one small event and one compressed request.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::Response;
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::state::AppState;

/// `?v=`: the version the page was rendered with.
#[derive(Debug, Default, Deserialize)]
pub struct Known {
    v: Option<String>,
}

/// `GET /events/status`: the current version first, unless the client already shows it (from
/// `?v=` or, on the browser's own reconnect, `Last-Event-ID`), then every new version.
pub async fn status(
    State(state): State<AppState>,
    Query(known): Query<Known>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.hub.subscribe();
    let shown = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(known.v);
    let current = state.hub.current().version();
    let first = (shown.as_deref() != Some(&*current)).then_some(current);
    let hub_state = state.clone();
    let updates = stream::unfold((rx, hub_state), |(mut rx, st)| async move {
        let version = match rx.recv().await {
            Ok(v) => v,
            // Fell behind: the newest version is all a page needs.
            Err(RecvError::Lagged(_)) => st.hub.current().version(),
            Err(RecvError::Closed) => return None,
        };
        Some((version, (rx, st)))
    });
    let mut shutdown = state.shutdown.clone();
    let stream = stream::iter(first)
        .chain(updates)
        .map(|v: Arc<str>| Ok(Event::default().id(&*v).data(&*v)))
        .take_until(async move {
            let _ = shutdown.wait_for(|down| *down).await;
        });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// `GET /status/live`: the live body (HTML fragment) of the current version, compressed, with
/// its version as the ETag.
pub async fn live_body(State(state): State<AppState>, headers: HeaderMap) -> Response {
    state.hub.current().body.respond(&headers, "no-cache")
}

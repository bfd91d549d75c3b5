//! Server-sent events: `/events/status` sends the page's live body (HTML) on connect and on every change.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::state::AppState;

/// `GET /events/status`.
pub async fn status(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.hub.subscribe();
    let first = state.hub.current().body;
    let hub_state = state.clone();
    let updates = stream::unfold((rx, hub_state), |(mut rx, st)| async move {
        let json = match rx.recv().await {
            Ok(json) => json,
            // Fell behind: skip to the newest snapshot, which is complete by itself.
            Err(RecvError::Lagged(_)) => st.hub.current().body,
            Err(RecvError::Closed) => return None,
        };
        Some((json, (rx, st)))
    });
    let mut shutdown = state.shutdown.clone();
    let stream = stream::once(async move { first })
        .chain(updates)
        .map(|json| Ok(Event::default().event("message").data(&*json)))
        .take_until(async move {
            let _ = shutdown.wait_for(|down| *down).await;
        });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

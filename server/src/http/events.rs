//! Server-sent events: `/events/status` announces each new version of the status page's live
//! body. The bytes themselves are fetched from `/status/live`, compressed and from memory, so a
//! change costs every open page one small event and one compressed request.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::domain::live::Topic;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::state::AppState;

/// `?v=`: the version the page was rendered with.
#[derive(Debug, Default, Deserialize)]
pub struct Known {
    v: Option<String>,
}

/// `GET /events/status`: `version` events. The current version comes first unless `?v=` says
/// the page already shows it, then every new version. The events are named (`version`, not the
/// default `message`) so that pages still running an older module ignore them, and carry no
/// `id`: the browser's automatic reconnect reuses the URL's `?v=`, which is never newer than
/// what the page shows, so at worst it hears one version it already has.
///
/// A client (address, or /64 for IPv6) may hold `max_streams_per_ip` streams open at once; one
/// more gets 429 with `Retry-After`, which the page's script treats like any failed connect.
pub async fn status(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(known): Query<Known>,
) -> Response {
    let Some(slot) = stream_slot(&state, peer, &headers) else {
        return too_many_streams();
    };
    let rx = state.live.subscribe(&Topic::StatusPage);
    let current = state.hub.current().version;
    let first = (known.v.as_deref() != Some(&*current)).then_some(current);
    let hub_state = state.clone();
    let updates = stream::unfold((rx, hub_state), |(mut rx, st)| async move {
        let version = match rx.recv().await {
            Ok(v) => v,
            // Fell behind: the newest version is all a page needs.
            Err(RecvError::Lagged(_)) => st.hub.current().version,
            Err(RecvError::Closed) => return None,
        };
        Some((version, (rx, st)))
    });
    let mut shutdown = state.shutdown.clone();
    let stream = stream::iter(first)
        .chain(updates)
        .map(move |v: Arc<str>| {
            // The slot is freed when the stream is dropped (client gone or shutdown).
            let _ = &slot;
            Ok::<_, Infallible>(Event::default().event("version").data(&*v))
        })
        .take_until(async move {
            let _ = shutdown.wait_for(|down| *down).await;
        });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// One of the client's live-stream slots (address, or /64 for IPv6); `None` when the client
/// holds `max_streams_per_ip` already ([`too_many_streams`] is the answer). The slot is freed
/// when it is dropped.
pub fn stream_slot(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Option<crate::conn::StreamSlot> {
    let client = super::status_public::rate_key(super::client_ip::client_ip(
        peer.ip(),
        headers,
        &state.config.trusted_proxies,
    ));
    state
        .live_streams
        .try_open(client, state.config.conn.max_streams_per_ip)
}

/// The 429 for a client over its live streams.
pub fn too_many_streams() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, "30")],
        "Too many live streams from your network.",
    )
        .into_response()
}

/// `GET /status/live`: the live body (HTML fragment) of the current version, compressed, with
/// its version as the ETag and, in case a proxy weakens or drops the ETag, in `X-Status-Version`.
pub async fn live_body(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let current = state.hub.current();
    let mut resp = current.body.respond(&headers, "no-cache");
    if let Ok(v) = HeaderValue::from_str(&current.version) {
        resp.headers_mut().insert("x-status-version", v);
    }
    resp
}

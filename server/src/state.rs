//! Shared application state: one pool, the configuration, the live hub, the embedded assets.

use std::sync::Arc;

use crate::store::Store;
use leptos::config::LeptosOptions;
use tokio::sync::watch;

use crate::assets::Assets;
use crate::config::Config;
use crate::live::StatusHub;

/// Cheap to clone; everything inside is shared.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The state's contents.
pub struct Inner {
    /// The database.
    pub store: Store,
    /// Wall-clock time: the only source of "now".
    pub clock: crate::clock::Clock,
    /// The clock time of the engine's last finished round of clock-driven work.
    pub ticked: tokio::sync::watch::Sender<i64>,
    /// Settings.
    pub config: Config,
    /// Key for session token hashing.
    pub secret: Vec<u8>,
    /// The public status page's current state.
    pub hub: StatusHub,
    /// Open live streams by topic.
    pub live: crate::hub::LiveHub,
    /// Web assets.
    pub assets: Assets,
    /// Leptos options for the hydration scripts (versioned pkg path).
    pub leptos: LeptosOptions,
    /// The public page's name, e.g. "crates.io".
    pub page_name: String,
    /// Flips to true when the server is shutting down; long-lived streams end on it.
    pub shutdown: watch::Receiver<bool>,
    /// Wakes the background engine's queue workers early (a new job).
    pub engine_wake: crate::engine::Wake,
    /// Outgoing HTTP under the outbound address policy (its policy checks URLs when saved).
    pub outbound: crate::outbound::Outbound,
    /// Mail, webhooks and probes: the real ones, or recording fakes in tests.
    pub services: crate::services::Services,
    /// Password hashing pool and failed-login throttle.
    pub login: crate::http::login_guard::LoginGuard,
    /// Open live streams per client, for `max_streams_per_ip`.
    pub live_streams: crate::conn::StreamLimiter,
    /// Recently stored heartbeat pings, for coalescing.
    pub heartbeats: crate::http::status_public::Heartbeats,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Wraps the parts.
    pub fn new(inner: Inner) -> AppState {
        let state = AppState(Arc::new(inner));
        // The store's commits announce their topics to this state's live hub.
        state
            .store
            .set_announcer(Arc::new(crate::hub::Announcer(Arc::downgrade(&state.0))));
        state
    }

    /// Leptos options when the page should hydrate islands (only if the wasm was built).
    pub fn hydration(&self) -> Option<LeptosOptions> {
        self.assets.has_wasm().then(|| self.leptos.clone())
    }

    /// Name of the session cookie (`__Host-` prefixed when served over https).
    pub fn session_cookie_name(&self) -> &'static str {
        if self.config.secure_cookies() {
            "__Host-firstline_session"
        } else {
            "firstline_session"
        }
    }
}

//! Shared application state: one pool, the configuration, the clock, the live hub, the embedded
//! assets; and the wiring by which committed writes' topics reach the live hub, here and on the
//! other instances.

use std::sync::Arc;

use crate::store::Store;
use leptos::config::LeptosOptions;
use tokio::sync::watch;

use crate::assets::Assets;
use crate::config::Config;
use crate::live::StatusHub;
use crate::store::{Announce, LIVE_CHANNEL};
use app::domain::live::Topic;
use std::future::Future;
use std::pin::Pin;
use std::sync::Weak;
use std::time::Duration;

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
    /// Accepted events on their way to the database (group commit).
    pub ingestor: crate::ingest::Ingestor,
    /// Events per integration key per minute.
    pub ingest_limits: crate::ingest::KeyLimiter,
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
            .set_announcer(Arc::new(Announcer(Arc::downgrade(&state.0))));
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

// ---- how committed topics reach the live hub ----

/// Brings what `topics` show up to date on this instance and tells the streams watching them.
pub async fn refresh_topics(state: &Inner, topics: &[Topic]) {
    for topic in topics {
        match topic {
            Topic::StatusPage => match state.hub.refresh(&state.store).await {
                Ok(Some(version)) => state.live.publish(topic, version),
                Ok(None) => {}
                // The periodic refresh catches up; the write itself is committed.
                Err(e) => tracing::error!(error = %e, "status refresh after a change failed"),
            },
            Topic::Oncall => {
                match state.store.open_oncall_count().await {
                    Ok(n) => app::pages::set_open_oncall(n),
                    Err(e) => tracing::warn!(error = %e, "counting open incidents failed"),
                }
                let version = state.live.next_version();
                state.live.publish(topic, version);
            }
            // Pages that follow these fetch what they show from the database, with its version.
            Topic::Incident(_) | Topic::OncallIncident(_) => {
                let version = state.live.next_version();
                state.live.publish(topic, version);
            }
        }
    }
}

/// Hears this instance's commits. Holds the state weakly: the store lives inside it.
pub struct Announcer(pub Weak<Inner>);

impl Announce for Announcer {
    fn announce<'a>(
        &'a self,
        topics: &'a [Topic],
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            if let Some(state) = self.0.upgrade() {
                refresh_topics(&state, topics).await;
            }
        })
    }
}

/// Follows the other instances' commits (PostgreSQL `LISTEN`), and refreshes the status page
/// every 30 seconds as a safety net (today's share of the uptime bars moves on by the hour, and
/// a lost notification is caught up). On SQLite there is one instance, so it only does the latter.
pub async fn follow_peers(state: AppState) {
    let mut listener = match state.store.listener(LIVE_CHANNEL).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "LISTEN failed; falling back to periodic refresh");
            None
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        let heard = match listener.as_mut() {
            Some(l) => tokio::select! {
                r = l.recv() => r.map(|n| state.store.read_live_message(n.payload())).map_err(|e| e.to_string()),
                _ = tick.tick() => Ok(vec![Topic::StatusPage]),
            },
            None => {
                tick.tick().await;
                Ok(vec![Topic::StatusPage])
            }
        };
        match heard {
            Ok(topics) if !topics.is_empty() => refresh_topics(&state, &topics).await,
            // Our own commit (already heard), only wakes, or not one of ours.
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection lost; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

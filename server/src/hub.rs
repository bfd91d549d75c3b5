//! The live hub, keyed by topic: who is watching what (SSE streams of open pages), and how a
//! committed write's topics reach them. Writes announce their topics themselves (the store's
//! transaction carries them, see `crate::store::Announce`), so no handler has to remember to
//! refresh anything: this instance hears them before the write returns, and the other instances
//! through the PostgreSQL `NOTIFY` that the commit sent.
//!
//! Today's protocol is kept: a stream announces a version, and the page fetches the rendered
//! fragment for it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::store::{Announce, LIVE_CHANNEL};
use app::domain::live::Topic;
use tokio::sync::broadcast;

use crate::state::{AppState, Inner};

/// Open streams, per topic.
#[derive(Debug, Default)]
pub struct LiveHub {
    topics: Mutex<HashMap<Topic, broadcast::Sender<Arc<str>>>>,
}

impl LiveHub {
    /// A receiver of the versions `topic` will be published at.
    pub fn subscribe(&self, topic: &Topic) -> broadcast::Receiver<Arc<str>> {
        let mut map = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(topic.clone())
            .or_insert_with(|| broadcast::channel(64).0)
            .subscribe()
    }

    /// Tells everyone watching `topic` about `version`. Topics nobody watches any more are
    /// forgotten, so the map holds only what open pages show.
    pub fn publish(&self, topic: &Topic, version: Arc<str>) {
        let mut map = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(topic) {
            if tx.send(version).is_err() {
                map.remove(topic);
            }
        }
    }

    /// How many streams watch `topic` right now.
    pub fn watchers(&self, topic: &Topic) -> usize {
        let map = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        map.get(topic).map_or(0, broadcast::Sender::receiver_count)
    }
}

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
            Topic::Incident(_) => {
                let version: Arc<str> = state.clock.now_ms().to_string().into();
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
                _ = tick.tick() => Ok(Some(Topic::StatusPage)),
            },
            None => {
                tick.tick().await;
                Ok(Some(Topic::StatusPage))
            }
        };
        match heard {
            Ok(Some(topic)) => refresh_topics(&state, &[topic]).await,
            // Our own commit (already heard), or not one of ours.
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection lost; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

//! The live hub, keyed by topic: who is watching what (SSE streams of open pages), and how a
//! committed write's topics reach them. Writes announce their topics themselves (the store's
//! transaction carries them, see `crate::store::Announce`), so no handler has to remember to
//! refresh anything: this instance hears them before the write returns, and the other instances
//! through the PostgreSQL `NOTIFY` that the commit sent (the wiring is in `crate::state`).
//!
//! Today's protocol is kept: a stream announces a version, and the page fetches the rendered
//! fragment for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::domain::live::Topic;
use tokio::sync::broadcast;

/// Open streams, per topic.
#[derive(Debug, Default)]
pub struct LiveHub {
    topics: Mutex<HashMap<Topic, broadcast::Sender<Arc<str>>>>,
    seq: std::sync::atomic::AtomicU64,
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

    /// A new version for a topic whose watchers fetch what they show themselves (an incident's
    /// timeline): distinct on every call, unlike a clock reading.
    pub fn next_version(&self) -> Arc<str> {
        let n = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        n.to_string().into()
    }
}

//! The live status hub: the current public snapshot, serialised once per change, and a broadcast
//! channel that the SSE endpoint fans out to every open status page.

use std::sync::{Arc, OnceLock, RwLock};

use app::domain::status::{build_snapshot, ComponentRowView, PublicComponent, StatusSnapshot};
use app::ssr::store::{Store, StoreError};
use tokio::sync::broadcast;

use crate::assets::Asset;
use crate::format::display_time;
use crate::statuspage::{PageInfo, PublicDocs};

/// The current snapshot, both as a value and as the JSON sent to islands.
#[derive(Debug, Clone)]
pub struct Current {
    /// For server-side rendering.
    pub snapshot: Arc<StatusSnapshot>,
    /// The same, as JSON, for SSE.
    pub json: Arc<str>,
    /// The Statuspage-compatible JSON documents.
    pub docs: Arc<PublicDocs>,
    /// The anonymous status page, rendered on first request after the change.
    pub page_html: Arc<OnceLock<Asset>>,
}

/// Holds the snapshot and notifies subscribers when it changes.
#[derive(Debug)]
pub struct StatusHub {
    page: PageInfo,
    current: RwLock<Current>,
    tx: broadcast::Sender<Arc<str>>,
    refresh_lock: tokio::sync::Mutex<()>,
}

impl StatusHub {
    /// Builds the hub from the database.
    pub async fn load(store: &Store, base_url: &str) -> Result<StatusHub, StoreError> {
        let page = PageInfo::load(store, base_url).await?;
        let current = Self::compute(store, &page).await?;
        let (tx, _) = broadcast::channel(64);
        Ok(StatusHub {
            page,
            current: RwLock::new(current),
            tx,
            refresh_lock: tokio::sync::Mutex::new(()),
        })
    }

    async fn compute(store: &Store, page: &PageInfo) -> Result<Current, StoreError> {
        let components = store.list_components().await?;
        let groups = store.list_component_groups().await?;
        let docs = Arc::new(crate::statuspage::build(page, &components, &groups));
        let updated = components.iter().map(|c| c.updated_at).max().unwrap_or(0);
        let rows = components
            .into_iter()
            .map(|c| ComponentRowView {
                component: PublicComponent {
                    id: c.id,
                    name: c.name,
                    description: c.description,
                    status: c.status,
                },
                group: c.group_name,
                group_position: c.group_position,
                position: c.position,
            })
            .collect();
        let snapshot = build_snapshot(rows, display_time(updated, "UTC"));
        let json: Arc<str> = serde_json::to_string(&snapshot)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .into();
        Ok(Current {
            snapshot: Arc::new(snapshot),
            json,
            docs,
            page_html: Arc::new(OnceLock::new()),
        })
    }

    /// Re-reads the database and, if anything changed, tells every subscriber.
    /// Called after each committed change, so the next request already sees it.
    pub async fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        let _guard = self.refresh_lock.lock().await;
        let next = Self::compute(store, &self.page).await?;
        let changed = {
            let mut cur = self.current.write().unwrap_or_else(|p| p.into_inner());
            let changed =
                cur.json != next.json || cur.docs.components.etag() != next.docs.components.etag();
            if changed {
                *cur = next.clone();
            }
            changed
        };
        if changed {
            // No receivers is fine: nobody is watching.
            let _ = self.tx.send(next.json);
        }
        Ok(())
    }

    /// The current snapshot.
    pub fn current(&self) -> Current {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A receiver of future snapshots (JSON).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.tx.subscribe()
    }

    /// How many live pages are connected right now.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// The PostgreSQL channel that carries "status changed" between instances.
pub const STATUS_CHANNEL: &str = "firstline_status";

/// Tells other instances to refresh; failures are logged, never fatal (each instance also
/// refreshes on its own schedule).
pub async fn notify_peers(store: &Store) {
    if let Err(e) = store.notify(STATUS_CHANNEL).await {
        tracing::warn!(error = %e, "could not notify other instances");
    }
}

/// On PostgreSQL, refreshes the hub whenever another instance changes the status, and every
/// 30 seconds as a safety net. On SQLite there is one instance, so it only does the latter.
pub async fn follow_peers(state: crate::state::AppState) {
    let store = state.store.clone();
    let hub = &state.hub;
    let mut listener = match store.listener(STATUS_CHANNEL).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "LISTEN failed; falling back to periodic refresh");
            None
        }
    };
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        let woke = match listener.as_mut() {
            Some(l) => tokio::select! {
                r = l.recv() => r.map(|_| ()).map_err(|e| e.to_string()),
                _ = tick.tick() => Ok(()),
            },
            None => {
                tick.tick().await;
                Ok(())
            }
        };
        if let Err(e) = woke {
            tracing::warn!(error = %e, "LISTEN connection lost; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        if let Err(e) = hub.refresh(&store).await {
            tracing::warn!(error = %e, "status refresh failed");
        }
    }
}

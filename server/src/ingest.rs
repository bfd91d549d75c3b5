//! Accepted events on their way to the database: group commit and per-key rate limits.
//!
//! Every accepted event must be durable before its sender hears `2xx`. One commit (one fsync
//! on SQLite) per event would cap the rate at the disk's sync rate, so events that arrive
//! while a commit is in flight wait in a queue and the next commit takes all of them at once
//! (up to [`BATCH_MAX`]); each sender is answered after the commit that holds its event. A
//! request's events (an Alertmanager group) commit together. If a batch fails, each of its
//! requests is tried again alone, so one bad request cannot fail the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::store::{Ingest, IngestOutcome, Store};

/// Most events one commit takes.
pub const BATCH_MAX: usize = 512;
/// Requests that may wait for a commit before new ones are refused with 503 (retryable).
pub const QUEUE_MAX: usize = 8192;

type Reply = oneshot::Sender<Result<Vec<IngestOutcome>, String>>;

/// Why a request's events were not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Too many requests are waiting: the sender should retry (503).
    #[error("Firstline is busy; retry shortly")]
    Busy,
    /// The database failed: the sender should retry (503).
    #[error("the events could not be stored ({0}); retry shortly")]
    Store(String),
}

/// The queue in front of the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Ingestor {
    tx: mpsc::Sender<(Vec<Ingest>, Reply)>,
}

impl Ingestor {
    /// Starts `workers` committers on `store` (one suits SQLite, whose writes are serial; a
    /// few let PostgreSQL overlap commits).
    pub fn start(store: Store, clock: Clock, workers: usize) -> Ingestor {
        let (tx, rx) = mpsc::channel::<(Vec<Ingest>, Reply)>(QUEUE_MAX);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..workers.max(1) {
            let (rx, store, clock) = (rx.clone(), store.clone(), clock.clone());
            // A committer that panics is replaced: ingestion must not stop until a restart.
            // (Its batch's senders get 503 and retry.)
            tokio::spawn(async move {
                loop {
                    let run = tokio::spawn(committer(rx.clone(), store.clone(), clock.clone()));
                    match run.await {
                        Ok(()) => return,
                        Err(e) => {
                            tracing::error!(error = %e, "an ingestion committer stopped; starting another")
                        }
                    }
                }
            });
        }
        Ingestor { tx }
    }

    /// Stores one request's events; returns once they are durable, with what became of each.
    pub async fn submit(&self, events: Vec<Ingest>) -> Result<Vec<IngestOutcome>, IngestError> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .try_send((events, reply))
            .map_err(|_| IngestError::Busy)?;
        wait.await
            .map_err(|_| IngestError::Store("shutting down".into()))?
            .map_err(IngestError::Store)
    }
}

type Queue = Arc<tokio::sync::Mutex<mpsc::Receiver<(Vec<Ingest>, Reply)>>>;

/// Takes what is waiting (up to [`BATCH_MAX`] events) and commits it, until the queue closes.
async fn committer(rx: Queue, store: Store, clock: Clock) {
    loop {
        let mut batch = Vec::new();
        {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else {
                return;
            };
            let mut n = first.0.len();
            batch.push(first);
            while n < BATCH_MAX {
                match rx.try_recv() {
                    Ok(next) => {
                        n += next.0.len();
                        batch.push(next);
                    }
                    Err(_) => break,
                }
            }
        }
        commit(&store, &clock, batch).await;
    }
}

async fn commit(store: &Store, clock: &Clock, batch: Vec<(Vec<Ingest>, Reply)>) {
    let all: Vec<Ingest> = batch.iter().flat_map(|(e, _)| e.iter().cloned()).collect();
    match store.ingest(&all, clock.now_ms()).await {
        Ok(mut outcomes) => {
            for (events, reply) in batch {
                let rest = outcomes.split_off(events.len().min(outcomes.len()));
                let _ = reply.send(Ok(std::mem::replace(&mut outcomes, rest)));
            }
        }
        Err(e) if batch.len() == 1 => {
            tracing::error!(error = %e, "storing accepted events failed");
            for (_, reply) in batch {
                let _ = reply.send(Err(e.to_string()));
            }
        }
        Err(_) => {
            // Find the request at fault: each one alone.
            for (events, reply) in batch {
                let r = store
                    .ingest(&events, clock.now_ms())
                    .await
                    .map_err(|e| e.to_string());
                if let Err(e) = &r {
                    tracing::error!(error = %e, "storing accepted events failed");
                }
                let _ = reply.send(r);
            }
        }
    }
}

/// Events per key per minute, counted in fixed one-minute windows on this instance. Only keys
/// that exist are counted, so the map is as small as the number of keys.
#[derive(Debug, Default)]
pub struct KeyLimiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl KeyLimiter {
    /// Counts one request for `key_id` at `now_ms`; `false` when it is over `per_minute`
    /// (and it was not counted).
    pub fn allow(&self, key_id: &str, per_minute: u32, now_ms: i64) -> bool {
        let window = now_ms.div_euclid(60_000);
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (w, _)| *w == window);
        }
        let entry = map.entry(key_id.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= per_minute {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Seconds until the current window ends (for `Retry-After`).
    pub fn retry_after(now_ms: i64) -> i64 {
        (60_000 - now_ms.rem_euclid(60_000)).div_euclid(1000).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_counts_per_key_per_minute() {
        let l = KeyLimiter::default();
        let t = 120_000;
        for _ in 0..3 {
            assert!(l.allow("a", 3, t));
        }
        assert!(!l.allow("a", 3, t + 59_999));
        assert!(l.allow("b", 3, t), "keys are counted apart");
        assert!(l.allow("a", 3, t + 60_000), "a new minute starts afresh");
        assert_eq!(KeyLimiter::retry_after(t + 59_500), 1);
        assert_eq!(KeyLimiter::retry_after(t), 60);
    }
}

//! The HTTP accept loop: a cap on open connections (in all and per client address), a deadline
//! for each request's headers, an idle timeout between keep-alive requests, graceful shutdown,
//! and the per-client cap on open live streams. (A deadline for answering a request, body
//! included, is the router's `TimeoutLayer`.)
//!
//! Each connection is in one of three phases. *Head*: from the connection's start, or from the
//! first byte of a later request, until its headers are complete — bounded by the header
//! timeout, so a client that trickles headers (or sends nothing) is closed. *Idle*: between a
//! response's end and the next request's first byte — bounded by the idle timeout. *Busy*: a
//! request is being answered; no timeout, so live streams (server-sent events) stay open as long
//! as the client listens.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tower::ServiceExt;

/// Connection limits and timeouts (see the README's configuration table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Time a client has to send a request's headers, from the connection's start or from the
    /// first byte of a later request on it.
    pub header_timeout: Duration,
    /// Time a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Open connections at most; further ones get a 503 and are closed.
    pub max_connections: usize,
    /// Open live streams (`/events/status`) per client address (IPv6: per /64).
    pub max_streams_per_ip: usize,
    /// Open connections per client address (IPv6: per /64); trusted proxies are exempt.
    pub max_connections_per_ip: usize,
    /// Time to answer a request, its body included (a 408 after it); live streams return
    /// their response at once and are not cut.
    pub request_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_streams_per_ip: 20,
            max_connections_per_ip: 256,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Answer written to a connection over the cap before it is closed.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 32\r\n\r\nToo many connections; try again.";

/// Serves `app` on `listener` until `shutdown` turns true; then stops accepting, lets requests
/// in flight finish (live streams end on the same signal) and returns once every connection
/// has closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    trusted_proxies: Vec<ipnet::IpNet>,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(
        limits.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    // Connections per client address, so one host cannot take every slot. A trusted proxy
    // carries many clients and is exempt.
    let per_client = StreamLimiter::default();
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our own watchdog times the headers (hyper's timer would also cut idle connections at the
    // header timeout).
    builder.header_read_timeout(None);
    let mut refused_logged: Option<Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
            () = async { let _ = shutdown.wait_for(|down| *down).await; } => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            if refused_logged.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "connection limit reached; refusing connections"
                );
                refused_logged = Some(Instant::now());
            }
            // Best effort: a client that reads gets a clear answer; nothing waits on it.
            let _ = stream.try_write(OVER_CAPACITY);
            drop(stream);
            continue;
        };
        let client_slot = if trusted_proxies
            .iter()
            .any(|n| n.contains(&crate::http::client_ip::canonical(peer.ip())))
        {
            None
        } else {
            match per_client.try_open(
                crate::http::status_public::rate_key(peer.ip()),
                limits.max_connections_per_ip,
            ) {
                Some(slot) => Some(slot),
                None => {
                    let _ = stream.try_write(OVER_CAPACITY);
                    drop(stream);
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            inner: stream,
            activity: activity.clone(),
        });
        let service = hyper::service::service_fn({
            let app = app.clone();
            let activity = activity.clone();
            move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let busy = activity.busy();
                let app = app.clone();
                async move {
                    let resp = app.oneshot(req.map(Body::new)).await?;
                    Ok::<_, Infallible>(resp.map(|body| Body::new(Guarded { body, _busy: busy })))
                }
            }
        });
        let conn = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            let _permit = permit;
            let _client_slot = client_slot;
            tokio::select! {
                r = conn => if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                },
                phase = activity.expired(limits) => {
                    tracing::debug!(%peer, ?phase, "closing a connection that timed out");
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Where a connection is (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Idle,
    Busy,
}

/// A connection's phase and since when, shared by its socket, its requests and its watchdog.
struct Activity {
    now: Mutex<(Phase, Instant)>,
    changed: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            now: Mutex::new((Phase::Head, Instant::now())),
            changed: Notify::new(),
        }
    }

    fn get(&self) -> (Phase, Instant) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, phase: Phase) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = (phase, Instant::now());
        self.changed.notify_one();
    }

    /// Bytes arrived: if the connection was idle, a request's headers have begun.
    fn read_some(&self) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if now.0 == Phase::Idle {
            *now = (Phase::Head, Instant::now());
            drop(now);
            self.changed.notify_one();
        }
    }

    /// A request's headers are complete; the connection is busy until the returned guard (kept
    /// by the response body) is dropped.
    fn busy(self: &Arc<Self>) -> BusyGuard {
        self.set(Phase::Busy);
        BusyGuard(self.clone())
    }

    /// Resolves when the connection has spent too long in its phase (never while busy).
    async fn expired(&self, limits: ConnLimits) -> Phase {
        loop {
            let seen = self.get();
            let limit = match seen.0 {
                Phase::Head => Some(limits.header_timeout),
                Phase::Idle => Some(limits.idle_timeout),
                Phase::Busy => None,
            };
            match limit {
                Some(limit) => {
                    // Configured limits are bounded, but never let an addition overflow.
                    let deadline = tokio::time::Instant::from_std(
                        seen.1
                            .checked_add(limit)
                            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)),
                    );
                    tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => {
                            if self.get() == seen {
                                return seen.0;
                            }
                        }
                        _ = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }
}

/// Marks the end of a response: the connection is idle again.
struct BusyGuard(Arc<Activity>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.set(Phase::Idle);
    }
}

/// A response body that keeps its connection busy until it is sent (or dropped).
struct Guarded {
    body: Body,
    _busy: BusyGuard,
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling its connection's [`Activity`] when bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_some();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Counts open live streams per client (address, or /64 for IPv6). Entries are removed when
/// their last stream closes, so the map never holds more than the open streams.
#[derive(Debug, Clone, Default)]
pub struct StreamLimiter {
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl StreamLimiter {
    /// A slot for one more stream from `client`, or `None` when it already has `max` open.
    pub fn try_open(&self, client: String, max: usize) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(client.clone()).or_insert(0);
        if *n >= max {
            if *n == 0 {
                open.remove(&client);
            }
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            open: self.open.clone(),
            client,
        })
    }

    /// Streams open for `client` now.
    pub fn open_for(&self, client: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(client).copied().unwrap_or(0)
    }
}

/// One open live stream; frees its slot when dropped.
#[derive(Debug)]
pub struct StreamSlot {
    open: Arc<Mutex<HashMap<String, usize>>>,
    client: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_slots_are_counted_per_client_and_freed() {
        let limiter = StreamLimiter::default();
        let a: Vec<_> = (0..2)
            .map(|_| limiter.try_open("a".into(), 2).expect("slot"))
            .collect();
        assert!(limiter.try_open("a".into(), 2).is_none());
        let b = limiter.try_open("b".into(), 2).expect("another client");
        assert_eq!(limiter.open_for("a"), 2);
        drop(a);
        drop(b);
        assert_eq!(limiter.open_for("a"), 0);
        assert!(limiter.open.lock().unwrap().is_empty(), "no entries left");
        assert!(limiter.try_open("c".into(), 0).is_none());
        assert!(limiter.open.lock().unwrap().is_empty());
    }
}

//! Login protection: password checks run on a small fixed pool of hashing threads, each with its
//! own argon2 memory reused for every check, behind a bounded wait; failed logins are throttled
//! per client network and per account (the rules are in `app::domain::login`).
//!
//! Memory stays flat however many logins arrive: at most [`HASH_THREADS`] × 19 MiB of argon2
//! memory exists, allocated once. The throttle is in memory, per instance.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use app::domain::login::{LoginThrottle, ThrottlePolicy, Verdict};
use app::ssr::auth::{dummy_hash_in, verify_password_in, HashMemory};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use super::status_public::rate_key;
use crate::clock::Clock;

/// Threads that compute argon2 hashes for logins.
pub const HASH_THREADS: usize = 2;

/// Password checks admitted at once: running plus queued for the hashing threads.
pub const HASH_QUEUE: usize = HASH_THREADS * 4;

/// How long a login waits for a place in the hashing queue before it gets a 429.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// The `Retry-After` of a login turned away because the hashing queue is full.
pub const BUSY_RETRY_AFTER_SECS: u64 = 5;

/// The hashing queue stayed full for [`QUEUE_WAIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// One password check for a hashing thread. The permit is held until the hash is done, so
/// an abandoned request still occupies its place while its hash runs.
struct Job {
    password: String,
    hash: Option<String>,
    reply: oneshot::Sender<bool>,
    _permit: OwnedSemaphorePermit,
}

/// Logins' shared protection: the hashing pool and the failed-login throttle.
pub struct LoginGuard {
    permits: Arc<Semaphore>,
    queue_wait: Duration,
    jobs: OnceLock<Option<mpsc::Sender<Job>>>,
    throttle: Mutex<LoginThrottle<u64>>,
    keys: RandomState,
    /// Wall-clock time.
    clock: Clock,
}

impl LoginGuard {
    /// A guard with the given throttle policy, [`HASH_QUEUE`] and [`QUEUE_WAIT`]; the hashing
    /// threads start with the first login.
    pub fn new(policy: ThrottlePolicy, clock: Clock) -> LoginGuard {
        Self::with_queue(policy, HASH_QUEUE, QUEUE_WAIT, clock)
    }

    /// A guard admitting `queue` password checks at once, each waiting at most `wait` for a
    /// place.
    pub fn with_queue(
        policy: ThrottlePolicy,
        queue: usize,
        wait: Duration,
        clock: Clock,
    ) -> LoginGuard {
        LoginGuard {
            permits: Arc::new(Semaphore::new(queue.max(1))),
            queue_wait: wait,
            jobs: OnceLock::new(),
            throttle: Mutex::new(LoginThrottle::new(policy)),
            keys: RandomState::new(),
            clock,
        }
    }

    /// The throttle's time: the application's clock.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The throttle key of a client address: its IPv4 address or IPv6 /64.
    pub fn network_key(&self, ip: IpAddr) -> u64 {
        self.keys.hash_one(("net", rate_key(ip)))
    }

    /// The throttle key of a normalised email (whether or not it has an account).
    pub fn account_key(&self, email: &str) -> u64 {
        self.keys.hash_one(("account", email))
    }

    fn with_throttle<T>(&self, f: impl FnOnce(&mut LoginThrottle<u64>) -> T) -> T {
        // The throttle's state stays consistent whatever panicked while it was held.
        let mut t = self
            .throttle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut t)
    }

    /// Whether a login from `network` at `account` may check its password now; counts it if so.
    pub fn attempt(&self, network: u64, account: u64) -> Verdict {
        let now = self.now();
        self.with_throttle(|t| t.attempt(network, account, now))
    }

    /// The password was right.
    pub fn succeeded(&self, network: u64, account: u64) {
        self.with_throttle(|t| t.succeeded(network, account));
    }

    /// The password was never checked.
    pub fn not_checked(&self, network: u64, account: u64) {
        self.with_throttle(|t| t.not_checked(network, account));
    }

    /// Checks `password` against `hash` (against a dummy hash, with the same cost, when there
    /// is no account) on the hashing threads; waits a bounded time for a place in the queue.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, Busy> {
        let permit =
            match tokio::time::timeout(self.queue_wait, self.permits.clone().acquire_owned()).await
            {
                Ok(Ok(permit)) => permit,
                _ => return Err(Busy),
            };
        let Some(jobs) = self.jobs.get_or_init(start_hash_threads) else {
            return Err(Busy);
        };
        let (reply, answer) = oneshot::channel();
        jobs.send(Job {
            password,
            hash,
            reply,
            _permit: permit,
        })
        .map_err(|_| Busy)?;
        answer.await.map_err(|_| Busy)
    }
}

/// Starts the hashing threads; they end when the guard (the job sender) is dropped.
fn start_hash_threads() -> Option<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let mut started = 0;
    for i in 0..HASH_THREADS {
        let rx = rx.clone();
        match std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || hash_thread(&rx))
        {
            Ok(_) => started += 1,
            Err(e) => tracing::error!(error = %e, "cannot start a password hashing thread"),
        }
    }
    (started > 0).then_some(tx)
}

fn hash_thread(jobs: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = HashMemory::new();
    loop {
        let job = {
            let Ok(rx) = jobs.lock() else {
                return;
            };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let Job {
            password,
            hash,
            reply,
            _permit,
        } = job;
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &hash {
            Some(hash) => verify_password_in(&mut memory, &password, hash),
            None => {
                let dummy = dummy_hash_in(&mut memory);
                std::hint::black_box(verify_password_in(&mut memory, &password, dummy));
                false
            }
        }));
        // A panic (a bug in hashing) answers "wrong password" and keeps the thread.
        let _ = reply.send(checked.unwrap_or(false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_run_on_the_pool() {
        let guard = LoginGuard::new(ThrottlePolicy::default(), Clock::System);
        let hash = app::ssr::auth::hash_password("right").expect("hash");
        assert_eq!(
            guard.verify("right".into(), Some(hash.clone())).await,
            Ok(true)
        );
        assert_eq!(
            guard.verify("wrong".into(), Some(hash.clone())).await,
            Ok(false)
        );
        assert_eq!(guard.verify("right".into(), None).await, Ok(false));
    }

    #[tokio::test]
    async fn a_full_queue_waits_briefly_then_turns_logins_away() {
        // One place, a 1 ms wait: an argon2 hash over 19 MiB takes far longer than that.
        let guard = Arc::new(LoginGuard::with_queue(
            ThrottlePolicy::default(),
            1,
            Duration::from_millis(1),
            Clock::System,
        ));
        let hash = app::ssr::auth::hash_password("right").expect("hash");
        let first = {
            let (g, h) = (guard.clone(), hash.clone());
            tokio::spawn(async move { g.verify("right".into(), Some(h)).await })
        };
        tokio::task::yield_now().await;
        while guard.permits.available_permits() > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(
            guard.verify("right".into(), Some(hash.clone())).await,
            Err(Busy)
        );
        assert_eq!(first.await.expect("task"), Ok(true));
        // Once the place is free again, the next check gets in.
        assert_eq!(guard.verify("right".into(), Some(hash)).await, Ok(true));
    }

    #[test]
    fn network_keys_group_ipv6_by_64() {
        let g = LoginGuard::new(ThrottlePolicy::default(), Clock::System);
        let k = |s: &str| g.network_key(s.parse().expect("ip"));
        assert_eq!(k("2001:db8:1:2::1"), k("2001:db8:1:2:ffff::9"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::ffff:192.0.2.1"), k("192.0.2.1"));
        assert_ne!(k("192.0.2.1"), k("192.0.2.2"));
        assert_ne!(
            g.account_key("a@example.org"),
            g.account_key("b@example.org")
        );
    }
}

//! The one source of wall-clock time. Everything that asks "what time is it" (stored
//! timestamps, maintenance windows, heartbeats, sessions, the login throttle, schedules) asks the
//! [`Clock`] in the application state, never the system directly; waits that are measured in
//! that time (the engine's tick) sleep on it too. Production runs the system clock; tests run a
//! [`FakeClock`] and move it forward, so "90 minutes later" takes no real time.
//!
//! Monotonic `Instant`s remain where they measure how long I/O took (probe latency, connection
//! and request timeouts): those are about the network, not about the calendar.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Wall-clock time, real or fake. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A clock that tests set and advance.
    Fake(Arc<FakeClock>),
}

impl Clock {
    /// A fake clock starting at `start_ms` (Unix milliseconds), and its handle.
    pub fn fake(start_ms: i64) -> (Clock, Arc<FakeClock>) {
        let fake = Arc::new(FakeClock {
            now: watch::Sender::new(start_ms),
        });
        (Clock::Fake(fake.clone()), fake)
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::System => jiff::Timestamp::now().as_millisecond(),
            Clock::Fake(f) => *f.now.borrow(),
        }
    }

    /// Now, as a timestamp.
    pub fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.now_ms()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// Waits until `d` has passed on this clock, counted from this call (like
    /// `tokio::time::sleep`): real time on the system clock; on a fake clock, until a test has
    /// moved it at least `d` on.
    pub fn sleep(&self, d: Duration) -> impl std::future::Future<Output = ()> + Send + 'static {
        let by = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.sleep_until(self.now_ms().saturating_add(by))
    }

    /// Waits until this clock reads `until_ms` (at once if it already does).
    pub fn sleep_until(
        &self,
        until_ms: i64,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let wait = match self {
            Clock::System => Err(Duration::from_millis(
                u64::try_from(until_ms.saturating_sub(self.now_ms())).unwrap_or(0),
            )),
            Clock::Fake(f) => Ok(f.now.subscribe()),
        };
        async move {
            match wait {
                Err(d) => tokio::time::sleep(d).await,
                // The sender lives as long as the clock, so this only ends when time is due.
                Ok(mut rx) => {
                    let _ = rx.wait_for(|now| *now >= until_ms).await;
                }
            }
        }
    }
}

/// A settable clock for tests.
#[derive(Debug)]
pub struct FakeClock {
    now: watch::Sender<i64>,
}

impl FakeClock {
    /// Its time, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        *self.now.borrow()
    }

    /// Moves it forward by `d`, waking every sleeper whose time has come.
    pub fn advance(&self, d: Duration) {
        let by = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.now.send_modify(|now| *now = now.saturating_add(by));
    }

    /// Sets it to `ms`. Time does not run backwards: an earlier `ms` is ignored.
    pub fn set(&self, ms: i64) {
        self.now.send_modify(|now| *now = (*now).max(ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fake_sleep_ends_when_the_clock_is_moved_on_and_not_before() {
        let (clock, fake) = Clock::fake(1_000);
        let sleeper = tokio::spawn(clock.sleep(Duration::from_secs(60)));
        fake.advance(Duration::from_secs(59));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "59 of 60 seconds");
        fake.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(clock.now_ms(), 61_000);
        fake.set(0);
        assert_eq!(clock.now_ms(), 61_000, "never backwards");
    }
}

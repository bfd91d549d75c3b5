//! Login rules: where a login may send the browser next, and the throttling of failed logins
//! per client address, per account, and per address and account together.
//!
//! The throttle is pure: it holds counters and is told the time. Keys are opaque 64-bit digests
//! the caller computes with a keyed hash (of the client's network, of the normalised email), so an
//! entry has a fixed size and nobody can aim collisions.

use std::collections::HashMap;
use std::hash::Hash;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::ValidationError;

/// Where a login goes when `next` is missing or points elsewhere.
pub const DEFAULT_NEXT: &str = "/dashboard";

/// Characters a browser would percent-encode in a path; encoding them keeps the `Location`
/// header valid without changing where it leads. Non-ASCII is always encoded.
const PATH_ENCODE: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');

/// The local path to follow after login. Control characters are refused outright (browsers
/// silently drop tabs and line breaks, so `/\t/evil.example` would become `//evil.example`);
/// anything a browser could resolve to another origin (`//host`, `/\host`, `\\host`, a scheme,
/// a leading space) falls back to [`DEFAULT_NEXT`]. Backslashes are not accepted anywhere:
/// browsers read them as slashes and no Firstline path has one.
pub fn safe_next(next: &str) -> Result<String, ValidationError> {
    if next.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "next",
            "must not contain control characters such as tabs or line breaks",
        ));
    }
    let mut chars = next.chars();
    let local = chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !next.contains('\\');
    if !local {
        return Ok(DEFAULT_NEXT.to_string());
    }
    Ok(utf8_percent_encode(next, PATH_ENCODE).to_string())
}

/// One exponential backoff: `free` attempts go ahead without waiting, then each one makes the
/// next wait `base_ms`, twice that, four times that, ... at most `cap_ms`. The count leaks one
/// attempt every `leak_ms`, so a quiet client is forgiven step by step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts without any wait.
    pub free: u32,
    /// The first wait.
    pub base_ms: i64,
    /// The longest wait.
    pub cap_ms: i64,
    /// One counted attempt is forgotten per this many milliseconds.
    pub leak_ms: i64,
}

impl Backoff {
    /// The wait after the `count`-th counted attempt.
    pub fn delay_ms(&self, count: u32) -> i64 {
        if count < self.free {
            return 0;
        }
        let doublings = (count - self.free).min(40);
        self.base_ms
            .saturating_mul(1_i64 << doublings)
            .min(self.cap_ms)
    }
}

/// How failed logins are throttled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Attempts from one client network (IPv4 address, IPv6 /64), whatever the account.
    pub per_ip: Backoff,
    /// Attempts from one client network at one account.
    pub per_ip_account: Backoff,
    /// Free attempts per network at an account that is under attack (replaces
    /// `per_ip_account.free` then).
    pub free_under_attack: u32,
    /// Attempts at one account from everywhere; only its count and leak are used.
    pub account_leak_ms: i64,
    /// An account with at least this many counted attempts is under attack.
    pub attack_threshold: u32,
    /// Entries kept per table; the oldest are dropped beyond it.
    pub max_entries: usize,
}

impl Default for ThrottlePolicy {
    /// Ten tries per network and five per network and account without waiting, then 1 s, 2 s,
    /// 4 s, ... at most 15 minutes; one try forgotten every 5 minutes. An account that saw 20
    /// tries recently (one forgotten a minute) is under attack: each network gets one try at it
    /// before the waits start.
    fn default() -> Self {
        let backoff = |free| Backoff {
            free,
            base_ms: 1_000,
            cap_ms: 15 * 60_000,
            leak_ms: 5 * 60_000,
        };
        ThrottlePolicy {
            per_ip: backoff(10),
            per_ip_account: backoff(5),
            free_under_attack: 1,
            account_leak_ms: 60_000,
            attack_threshold: 20,
            max_entries: 100_000,
        }
    }
}

/// Which limit holds a login back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Too many attempts from the client's network.
    Network,
    /// Too many attempts from the client's network at this account.
    Account,
}

/// The throttle's answer to a login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password; the attempt is counted until [`LoginThrottle::succeeded`] or
    /// [`LoginThrottle::not_checked`] says otherwise.
    Go,
    /// Refuse without checking; try again after this many milliseconds.
    Wait {
        /// Milliseconds until an attempt is allowed again.
        retry_after_ms: i64,
        /// The limit that was hit.
        limit: Limit,
    },
}

/// Counted attempts at the time of the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    count: u32,
    last: i64,
}

impl Record {
    /// The count after leaking until `now`.
    fn count_at(&self, leak_ms: i64, now: i64) -> u32 {
        let leaked = (now - self.last).max(0) / leak_ms.max(1);
        u32::try_from(leaked).map_or(0, |l| self.count.saturating_sub(l))
    }

    /// When the next attempt is allowed.
    fn open_at(&self, backoff: &Backoff) -> i64 {
        self.last.saturating_add(backoff.delay_ms(self.count))
    }
}

/// A table of records with a size bound: when full, records that have leaked away and no longer
/// hold anyone back go first, then the least recently used eighth.
#[derive(Debug, Default)]
struct Table<K> {
    records: HashMap<K, Record>,
}

impl<K: Hash + Eq + Copy> Table<K> {
    fn get(&self, key: &K) -> Option<Record> {
        self.records.get(key).copied()
    }

    /// Counts one attempt at `now`.
    fn count(&mut self, key: K, leak_ms: i64, delay_cap_ms: i64, max: usize, now: i64) {
        if !self.records.contains_key(&key) && self.records.len() >= max {
            self.make_room(leak_ms, delay_cap_ms, max, now);
        }
        let entry = self.records.entry(key).or_insert(Record {
            count: 0,
            last: now,
        });
        *entry = Record {
            count: entry.count_at(leak_ms, now).saturating_add(1),
            last: now.max(entry.last),
        };
    }

    /// Takes one counted attempt back (it was a success, or never checked).
    fn refund(&mut self, key: &K) {
        if let Some(r) = self.records.get_mut(key) {
            r.count = r.count.saturating_sub(1);
            if r.count == 0 {
                self.records.remove(key);
            }
        }
    }

    fn remove(&mut self, key: &K) {
        self.records.remove(key);
    }

    fn make_room(&mut self, leak_ms: i64, delay_cap_ms: i64, max: usize, now: i64) {
        if self.records.is_empty() {
            return;
        }
        self.records
            .retain(|_, r| r.count_at(leak_ms, now) > 0 || now < r.last + delay_cap_ms);
        if self.records.len() >= max {
            let mut lasts: Vec<i64> = self.records.values().map(|r| r.last).collect();
            let cut = (max / 8).max(1).min(lasts.len() - 1);
            let (_, nth, _) = lasts.select_nth_unstable(cut);
            let threshold = *nth;
            self.records.retain(|_, r| r.last > threshold);
        }
    }
}

/// Failed-login counters of one server instance. A stranger's attempts count against the
/// stranger's own network (and that network's attempts at the account); the account-wide count
/// only lowers how many free attempts each network gets at it, so a correct password from a
/// network that is not itself being throttled always gets checked.
#[derive(Debug, Default)]
pub struct LoginThrottle<K> {
    policy: ThrottlePolicy,
    by_ip: Table<K>,
    by_ip_account: Table<(K, K)>,
    by_account: Table<K>,
}

impl<K: Hash + Eq + Copy> LoginThrottle<K> {
    /// An empty throttle.
    pub fn new(policy: ThrottlePolicy) -> Self {
        LoginThrottle {
            policy,
            by_ip: Table {
                records: HashMap::new(),
            },
            by_ip_account: Table {
                records: HashMap::new(),
            },
            by_account: Table {
                records: HashMap::new(),
            },
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// Decides on an attempt from network `ip` at `account` and, when it may go ahead, counts it
    /// at once (as if it failed), so concurrent attempts cannot slip past the limit together.
    pub fn attempt(&mut self, ip: K, account: K, now: i64) -> Verdict {
        let p = self.policy;
        let under_attack = self
            .by_account
            .get(&account)
            .is_some_and(|r| r.count_at(p.account_leak_ms, now) >= p.attack_threshold);
        let pair_backoff = Backoff {
            free: if under_attack {
                p.free_under_attack.min(p.per_ip_account.free)
            } else {
                p.per_ip_account.free
            },
            ..p.per_ip_account
        };
        let ip_open = self.by_ip.get(&ip).map_or(now, |r| r.open_at(&p.per_ip));
        let pair_open = self
            .by_ip_account
            .get(&(ip, account))
            .map_or(now, |r| r.open_at(&pair_backoff));
        if ip_open > now || pair_open > now {
            let limit = if pair_open >= ip_open {
                Limit::Account
            } else {
                Limit::Network
            };
            return Verdict::Wait {
                retry_after_ms: ip_open.max(pair_open) - now,
                limit,
            };
        }
        let max = p.max_entries;
        self.by_ip
            .count(ip, p.per_ip.leak_ms, p.per_ip.cap_ms, max, now);
        self.by_ip_account.count(
            (ip, account),
            p.per_ip_account.leak_ms,
            p.per_ip_account.cap_ms,
            max,
            now,
        );
        self.by_account
            .count(account, p.account_leak_ms, 0, max, now);
        Verdict::Go
    }

    /// The password was right: the attempt is taken back and the network's earlier failures at
    /// this account are forgotten (not its failures elsewhere: a valid account of one's own
    /// must not reset the network's limit).
    pub fn succeeded(&mut self, ip: K, account: K) {
        self.by_ip.refund(&ip);
        self.by_ip_account.remove(&(ip, account));
        self.by_account.refund(&account);
    }

    /// The attempt went ahead but the password was never checked (the server was busy): it is
    /// taken back.
    pub fn not_checked(&mut self, ip: K, account: K) {
        self.by_ip.refund(&ip);
        self.by_ip_account.refund(&(ip, account));
        self.by_account.refund(&account);
    }

    /// How many entries the tables hold (for tests and metrics).
    pub fn len(&self) -> usize {
        self.by_ip.records.len() + self.by_ip_account.records.len() + self.by_account.records.len()
    }

    /// Whether nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_table() {
        let d = Ok(DEFAULT_NEXT.to_string());
        let same = |s: &str| Ok(s.to_string());
        let control = |v: &Result<String, ValidationError>| matches!(v, Err(e) if e.field == "next" && e.message.contains("control"));
        // (input, expected)
        let cases: Vec<(&str, Result<String, ValidationError>)> = vec![
            ("/admin/components", same("/admin/components")),
            (
                "/schedules/abc?week=2026-W01#now",
                same("/schedules/abc?week=2026-W01#now"),
            ),
            ("/", same("/")),
            ("", d.clone()),
            // Another origin, spelled the ways a browser would still follow.
            ("//evil.example", d.clone()),
            ("///evil.example", d.clone()),
            ("/\\evil.example", d.clone()),
            ("\\\\evil.example", d.clone()),
            ("\\/evil.example", d.clone()),
            ("/x\\..\\\\evil.example", d.clone()),
            ("https://evil.example", d.clone()),
            ("http:evil.example", d.clone()),
            ("javascript:alert(1)", d.clone()),
            (" //evil.example", d.clone()),
            (" /dashboard", d.clone()),
            ("\u{3000}//evil.example", d.clone()),
            ("evil.example", d.clone()),
            ("dashboard", d.clone()),
            // Percent signs stay literal in a path: these are local paths on this origin.
            ("/%09/evil.example", same("/%09/evil.example")),
            ("/%2F%2Fevil.example", same("/%2F%2Fevil.example")),
            ("/%5Cevil.example", same("/%5Cevil.example")),
            ("/..//evil.example", same("/..//evil.example")),
            ("/@evil.example", same("/@evil.example")),
            // What a browser would encode is encoded, so the header stays valid.
            ("/incidents/ü", same("/incidents/%C3%BC")),
            ("/a b\"<>`", same("/a%20b%22%3C%3E%60")),
        ];
        for (input, want) in cases {
            assert_eq!(safe_next(input), want, "next {input:?}");
        }
        for input in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\t//evil.example",
            "//evil.example\n",
            "/dashboard\0",
            "/\u{7f}",
            "/\u{85}/evil.example",
            "/x\r\nSet-Cookie: a=b",
        ] {
            assert!(control(&safe_next(input)), "next {input:?} must be refused");
        }
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let b = Backoff {
            free: 3,
            base_ms: 1_000,
            cap_ms: 10_000,
            leak_ms: 60_000,
        };
        let got: Vec<i64> = (0..10).map(|n| b.delay_ms(n)).collect();
        assert_eq!(
            got,
            [0, 0, 0, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]
        );
        assert_eq!(b.delay_ms(u32::MAX), 10_000);
    }

    const IP: u64 = 1;
    const OTHER_IP: u64 = 2;
    const ALICE: u64 = 10;
    const BOB: u64 = 11;
    const T0: i64 = 1_700_000_000_000;

    fn policy() -> ThrottlePolicy {
        let b = |free| Backoff {
            free,
            base_ms: 1_000,
            cap_ms: 15 * 60_000,
            leak_ms: 5 * 60_000,
        };
        ThrottlePolicy {
            per_ip: b(4),
            per_ip_account: b(2),
            free_under_attack: 1,
            account_leak_ms: 60_000,
            attack_threshold: 10,
            max_entries: 1_000,
        }
    }

    fn wait(t: &mut LoginThrottle<u64>, ip: u64, account: u64, now: i64) -> Option<i64> {
        match t.attempt(ip, account, now) {
            Verdict::Go => None,
            Verdict::Wait { retry_after_ms, .. } => Some(retry_after_ms),
        }
    }

    #[test]
    fn failures_from_one_network_at_one_account_back_off() {
        let mut t = LoginThrottle::new(policy());
        // (ms after T0, expected: None = checked, Some(ms) = refused with that wait)
        let steps: &[(i64, Option<i64>)] = &[
            (0, None),        // 1: free
            (0, None),        // 2: free; the next waits 1 s
            (0, Some(1_000)), // refused, not counted
            (999, Some(1)),   // still refused
            (1_000, None),    // 3: the next waits 2 s
            (2_000, Some(1_000)),
            (3_000, None), // 4: the next waits 4 s (and 1 s on the network)
            (7_000, None), // 5: the next waits 8 s (2 s on the network)
            (7_001, Some(7_999)),
        ];
        for (i, (at, want)) in steps.iter().enumerate() {
            assert_eq!(
                wait(&mut t, IP, ALICE, T0 + at),
                *want,
                "step {i} at +{at} ms"
            );
        }
        // Another account from the same network: the network's own limit (four free, five
        // used) still holds it back for 2 s from the last attempt.
        assert_eq!(
            t.attempt(IP, BOB, T0 + 7_001),
            Verdict::Wait {
                retry_after_ms: 1_999,
                limit: Limit::Network
            }
        );
        assert_eq!(wait(&mut t, OTHER_IP, ALICE, T0 + 7_001), None);
    }

    #[test]
    fn the_network_limit_spans_accounts() {
        let mut t = LoginThrottle::new(policy());
        for account in [20, 21, 22, 23] {
            assert_eq!(wait(&mut t, IP, account, T0), None, "account {account}");
        }
        // Four free attempts used on four accounts: the next waits 1 s, whatever the account.
        assert_eq!(
            t.attempt(IP, 25, T0 + 10),
            Verdict::Wait {
                retry_after_ms: 990,
                limit: Limit::Network
            }
        );
        assert_eq!(wait(&mut t, OTHER_IP, 25, T0 + 10), None);
    }

    #[test]
    fn waits_are_capped_and_forgotten_with_time() {
        let mut t = LoginThrottle::new(policy());
        let mut now = T0;
        let mut checked = 0;
        while checked < 30 {
            match wait(&mut t, IP, ALICE, now) {
                None => checked += 1,
                Some(ms) => {
                    assert!(ms <= 15 * 60_000, "wait {ms} ms is above the cap");
                    now += ms;
                }
            }
        }
        // Hammering meanwhile never extends the wait.
        let blocked = wait(&mut t, IP, ALICE, now).expect("blocked");
        for _ in 0..100 {
            assert!(wait(&mut t, IP, ALICE, now + 1).expect("still blocked") <= blocked);
        }
        // A quarter of an hour after the last attempt it may go again; after a day all is
        // forgotten.
        now += 15 * 60_000;
        assert_eq!(wait(&mut t, IP, ALICE, now), None);
        now += 24 * 60 * 60_000;
        for _ in 0..2 {
            assert_eq!(wait(&mut t, IP, ALICE, now), None);
        }
    }

    #[test]
    fn an_attack_on_an_account_does_not_lock_out_its_owner() {
        let mut t = LoginThrottle::new(policy());
        // Many networks try Alice's account; each gets its free attempts, then waits.
        for ip in 100..140 {
            assert_eq!(wait(&mut t, ip, ALICE, T0), None, "first try from {ip}");
        }
        // Under attack, a network that already failed once waits before its second try ...
        assert!(wait(&mut t, 100, ALICE, T0 + 1).is_some());
        // ... while Alice from her own network is checked at once, and a success forgets
        // her network's earlier failures at her account.
        assert_eq!(wait(&mut t, IP, ALICE, T0 + 1), None);
        t.succeeded(IP, ALICE);
        assert_eq!(wait(&mut t, IP, ALICE, T0 + 2), None);
        t.succeeded(IP, ALICE);
        // Bob's account is not under attack: the usual two free tries.
        assert_eq!(wait(&mut t, 100, BOB, T0 + 3), None);
        assert_eq!(wait(&mut t, 100, BOB, T0 + 3), None);
        // After the attack stops the account is forgotten minute by minute.
        let later = T0 + 60 * 60_000;
        assert_eq!(wait(&mut t, 100, ALICE, later), None);
        assert_eq!(wait(&mut t, 100, ALICE, later), None);
    }

    #[test]
    fn a_success_does_not_reset_the_network_limit() {
        let mut t = LoginThrottle::new(policy());
        for account in 20..23 {
            assert_eq!(wait(&mut t, IP, account, T0), None);
        }
        // A success is not counted as a failure, but it does not wipe the network's failures
        // either: logging into one's own account in between buys no more guesses elsewhere.
        assert_eq!(wait(&mut t, IP, BOB, T0), None);
        t.succeeded(IP, BOB);
        assert_eq!(wait(&mut t, IP, 23, T0), None);
        assert!(wait(&mut t, IP, 24, T0).is_some());
    }

    #[test]
    fn attempts_never_checked_are_taken_back() {
        let mut t = LoginThrottle::new(policy());
        for _ in 0..10 {
            assert_eq!(wait(&mut t, IP, ALICE, T0), None);
            t.not_checked(IP, ALICE);
        }
        assert!(t.is_empty());
    }

    #[test]
    fn tables_stay_bounded() {
        let mut t = LoginThrottle::new(ThrottlePolicy {
            max_entries: 64,
            ..policy()
        });
        for i in 0..10_000_u64 {
            let _ = t.attempt(i, i + 1_000_000, T0 + i as i64);
            assert!(t.len() <= 3 * 64, "{} entries after {i}", t.len());
        }
        // The newest network is still remembered.
        for account in 0..3 {
            assert_eq!(wait(&mut t, 9_999, account, T0 + 10_000), None);
        }
        assert!(wait(&mut t, 9_999, 3, T0 + 10_000).is_some());
    }
}

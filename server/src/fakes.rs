//! Test doubles for the outside services in [`crate::services`]: a mailer and a webhook sender
//! that record everything sent, and a prober that answers from a script. Nothing here talks to
//! the network. Start a server with them through [`crate::start_with`]:
//!
//! ```no_run
//! # async fn demo(config: firstline::config::Config, store: firstline::store::Store) -> anyhow::Result<()> {
//! let fakes = firstline::fakes::Fakes::new();
//! let running = firstline::start_with(config, store, fakes.services()).await?;
//! // ... act through HTTP, then look at what was "sent":
//! let mails = fakes.mail.sent();
//! # drop((running, mails)); Ok(()) }
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::store::Monitor;
use async_trait::async_trait;
use lettre::Message;

use crate::notify::{Notifier, Outgoing, Purpose, SendFailure, Sent};
use crate::services::{Mailer, ProbeOutcome, Prober, Services, Webhooks};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not hide what was recorded from the others.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// All three fakes, shared with the server they are given to.
#[derive(Clone, Default)]
pub struct Fakes {
    /// Records mail.
    pub mail: Arc<RecordingMailer>,
    /// Records webhook deliveries.
    pub webhooks: Arc<RecordingWebhooks>,
    /// Scripted probe results.
    pub probes: Arc<ScriptedProbes>,
    /// Records pages.
    pub pages: Arc<RecordingNotifier>,
    /// The system clock, unless made with [`Fakes::at`].
    pub clock: crate::clock::Clock,
}

impl Fakes {
    /// Fakes that accept every mail and webhook (HTTP 200) and find every probe healthy.
    pub fn new() -> Fakes {
        Fakes::default()
    }

    /// Fakes on a fake clock starting at `start_ms` (Unix ms), and the clock's handle.
    pub fn at(start_ms: i64) -> (Fakes, Arc<crate::clock::FakeClock>) {
        let (clock, handle) = crate::clock::Clock::fake(start_ms);
        (
            Fakes {
                clock,
                ..Fakes::default()
            },
            handle,
        )
    }

    /// The services to start a server with; they share state with `self`.
    pub fn services(&self) -> Services {
        Services {
            mail: self.mail.clone(),
            webhooks: self.webhooks.clone(),
            probes: self.probes.clone(),
            notifier: self.pages.clone(),
            clock: self.clock.clone(),
        }
    }
}

/// One recorded mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    /// Envelope recipients.
    pub to: Vec<String>,
    /// The whole message as a mail client would read it: headers and (transfer-encoded) body,
    /// lines ending in `\n`.
    pub text: String,
}

/// A mailer that records every message. Sends to an address marked with
/// [`RecordingMailer::hang_for`] never complete (a stuck SMTP server).
#[derive(Default)]
pub struct RecordingMailer {
    sent: Mutex<Vec<SentMail>>,
    hang: Mutex<HashSet<String>>,
    hang_all: AtomicBool,
    started: AtomicUsize,
}

impl RecordingMailer {
    /// Everything sent so far, oldest first.
    pub fn sent(&self) -> Vec<SentMail> {
        lock(&self.sent).clone()
    }

    /// The texts of everything sent so far.
    pub fn texts(&self) -> Vec<String> {
        lock(&self.sent).iter().map(|m| m.text.clone()).collect()
    }

    /// Sends begun so far, hanging ones included.
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    /// From now on, a send to `address` (lower case) hangs until cancelled.
    pub fn hang_for(&self, address: &str) {
        lock(&self.hang).insert(address.to_ascii_lowercase());
    }

    /// From now on, every send hangs until cancelled (or not, with `false`).
    pub fn hang_all(&self, hang: bool) {
        self.hang_all.store(hang, Ordering::SeqCst);
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, message: Message) -> anyhow::Result<()> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let to: Vec<String> = message
            .envelope()
            .to()
            .iter()
            .map(|a| a.to_string().to_ascii_lowercase())
            .collect();
        let hangs = self.hang_all.load(Ordering::SeqCst) || {
            let hang = lock(&self.hang);
            to.iter().any(|a| hang.contains(a))
        };
        if hangs {
            std::future::pending::<()>().await;
        }
        let text = String::from_utf8_lossy(&message.formatted()).replace("\r\n", "\n");
        lock(&self.sent).push(SentMail { to, text });
        Ok(())
    }
}

/// One recorded webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentWebhook {
    /// Where it went.
    pub url: String,
    /// The JSON body.
    pub body: String,
}

/// A webhook sender that records every delivery and answers with a settable status code
/// (200 unless [`RecordingWebhooks::set_status`] says otherwise).
#[derive(Default)]
pub struct RecordingWebhooks {
    sent: Mutex<Vec<SentWebhook>>,
    status: AtomicU16,
}

impl RecordingWebhooks {
    /// Everything delivered so far, oldest first (failed answers included).
    pub fn sent(&self) -> Vec<SentWebhook> {
        lock(&self.sent).clone()
    }

    /// The bodies delivered so far.
    pub fn bodies(&self) -> Vec<String> {
        lock(&self.sent).iter().map(|w| w.body.clone()).collect()
    }

    /// The status code later deliveries get.
    pub fn set_status(&self, code: u16) {
        self.status.store(code, Ordering::SeqCst);
    }
}

#[async_trait]
impl Webhooks for RecordingWebhooks {
    async fn post_json(&self, url: &str, body: Vec<u8>) -> anyhow::Result<u16> {
        lock(&self.sent).push(SentWebhook {
            url: url.to_string(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        Ok(match self.status.load(Ordering::SeqCst) {
            0 => 200,
            code => code,
        })
    }
}

/// A prober that answers from a script per monitor URL: queued results first, then the URL's
/// standing result, then healthy. Records every URL probed.
#[derive(Default)]
pub struct ScriptedProbes {
    queued: Mutex<HashMap<String, VecDeque<Result<(), String>>>>,
    standing: Mutex<HashMap<String, Result<(), String>>>,
    calls: Mutex<Vec<String>>,
}

impl ScriptedProbes {
    /// The next probes of `url` find these results, in order.
    pub fn push(&self, url: &str, results: impl IntoIterator<Item = Result<(), String>>) {
        lock(&self.queued)
            .entry(url.to_string())
            .or_default()
            .extend(results);
    }

    /// Every probe of `url` finds `result` (after any queued ones).
    pub fn set(&self, url: &str, result: Result<(), String>) {
        lock(&self.standing).insert(url.to_string(), result);
    }

    /// The URLs probed so far, oldest first.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }
}

#[async_trait]
impl Prober for ScriptedProbes {
    async fn probe(&self, monitor: &Monitor) -> ProbeOutcome {
        let url = monitor.url.clone().unwrap_or_default();
        lock(&self.calls).push(url.clone());
        let queued = lock(&self.queued)
            .get_mut(&url)
            .and_then(VecDeque::pop_front);
        let result = queued
            .or_else(|| lock(&self.standing).get(&url).cloned())
            .unwrap_or(Ok(()));
        (result, 1)
    }
}

/// One recorded message, with when it reached the notifier (wall clock, Unix ms with fraction).
#[derive(Debug, Clone, PartialEq)]
pub struct SentPage {
    /// What was sent.
    pub page: Outgoing,
    /// When the notifier was called (system time, for latency measurements).
    pub at_ms: f64,
}

/// A notifier that records every message (and can be told to fail for someone, or to report
/// a method gone).
#[derive(Default)]
pub struct RecordingNotifier {
    sent: Mutex<Vec<SentPage>>,
    failing: Mutex<HashSet<String>>,
    gone: Mutex<HashSet<String>>,
}

/// Why a [`RecordingNotifier`] refuses: a person or a method marked failing.
const REFUSED: &str = "the test provider refused the message";

impl RecordingNotifier {
    /// Every message so far, oldest first (failed ones excluded).
    pub fn sent(&self) -> Vec<SentPage> {
        lock(&self.sent).clone()
    }

    /// Pages only (no codes, tests or notices), oldest first.
    pub fn pages(&self) -> Vec<SentPage> {
        lock(&self.sent)
            .iter()
            .filter(|p| p.page.purpose == Purpose::Page)
            .cloned()
            .collect()
    }

    /// `(user id, incident id)` for every incident of every page so far (a bundle counts each
    /// incident it names), oldest first.
    pub fn who(&self) -> Vec<(String, String)> {
        lock(&self.sent)
            .iter()
            .flat_map(|p| {
                p.page
                    .items
                    .iter()
                    .map(|i| (p.page.user_id.clone(), i.incident_id.clone()))
            })
            .collect()
    }

    /// Messages to `user_id` fail from now on (`false`: succeed again).
    pub fn fail_for(&self, user_id: &str, fail: bool) {
        let mut f = lock(&self.failing);
        if fail {
            f.insert(user_id.to_string());
        } else {
            f.remove(user_id);
        }
    }

    /// Messages to contact method `contact_id` fail from now on (`false`: succeed again).
    pub fn fail_contact(&self, contact_id: &str, fail: bool) {
        self.fail_for(&format!("contact:{contact_id}"), fail);
    }

    /// Messages to contact method `contact_id` answer "gone" from now on.
    pub fn gone(&self, contact_id: &str) {
        lock(&self.gone).insert(contact_id.to_string());
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn send(&self, out: &Outgoing) -> Result<Sent, SendFailure> {
        {
            let failing = lock(&self.failing);
            if failing.contains(&out.user_id)
                || failing.contains(&format!("contact:{}", out.contact.id))
            {
                return Err(SendFailure::Retry(REFUSED.into()));
            }
        }
        if lock(&self.gone).contains(&out.contact.id) {
            return Err(SendFailure::Gone(
                "the test provider says it is gone".into(),
            ));
        }
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0);
        lock(&self.sent).push(SentPage {
            page: out.clone(),
            at_ms,
        });
        Ok(Sent {
            via: format!("test {}", out.contact.kind.as_str()),
            provider_ref: None,
        })
    }
}

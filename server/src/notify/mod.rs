//! Reaching people: one message to one contact method ([`Outgoing`]) through the [`Notifier`]
//! seam. [`Channels`] is the production notifier: it hands each message to the channel of its
//! method's kind (email here; push, SMS, chat and webhooks in their own modules). Tests use the
//! recording fake in [`crate::fakes`] or these channels against local fakes of each provider.
//!
//! What to send and when (rules, bundling, the rate limit) is decided before a message gets
//! here: see `app::domain::notify` and the engine's `Notify` job.

pub mod chat;
pub mod email;
pub mod links;
pub mod notices;
pub mod push;
pub mod sms;
pub mod verify;
pub mod webhook;

use std::sync::Arc;

use app::domain::escalation::Urgency;
use app::domain::notify::{About, MethodKind};
use async_trait::async_trait;

/// HMAC-SHA256 keyed with `key` (action links, webhook signatures). HMAC takes a key of any
/// length (RFC 2104 hashes longer ones and pads shorter ones), so the all-zero fallback is never
/// taken; it stands so that no request path can panic.
pub fn hmac_sha256(key: &[u8]) -> hmac::Hmac<sha2::Sha256> {
    use hmac::digest::KeyInit;
    <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key)
        .unwrap_or_else(|_| <hmac::Hmac<sha2::Sha256> as KeyInit>::new(&Default::default()))
}

/// HMAC-SHA1 keyed with `key` (Twilio's request signatures), as [`hmac_sha256`].
pub fn hmac_sha1(key: &[u8]) -> hmac::Hmac<sha1::Sha1> {
    use hmac::digest::KeyInit;
    <hmac::Hmac<sha1::Sha1> as hmac::Mac>::new_from_slice(key)
        .unwrap_or_else(|_| <hmac::Hmac<sha1::Sha1> as KeyInit>::new(&Default::default()))
}

/// A contact method as a channel needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Its id.
    pub id: String,
    /// Its kind.
    pub kind: MethodKind,
    /// The address, phone number, endpoint or URL.
    pub target: String,
    /// The person's name for it ("Pixel 8").
    pub label: Option<String>,
    /// Per kind: push `{"p256dh","auth"}`, chat `{"flavor"}`, webhook `{"secret"}`.
    pub config: serde_json::Value,
}

/// Why a message is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Incidents need the person.
    Page,
    /// The code that proves the method works (the person types it in, or the service worker
    /// sends it back).
    Verify {
        /// The code.
        code: String,
    },
    /// "Send me a test notification".
    Test,
    /// A shift notice (swap or cover request, shift reminder, hand-off summary).
    Notice,
}

/// One incident a page is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The on-call incident.
    pub incident_id: String,
    /// Number, title, service.
    pub about: About,
    /// When it opened (Unix ms).
    pub since_ms: i64,
    /// Its page.
    pub url: String,
    /// One-tap acknowledge link for this person (signed, one use).
    pub ack_url: Option<String>,
    /// One-tap resolve link for this person (signed, one use).
    pub resolve_url: Option<String>,
}

/// One message to one contact method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The idempotency key, sent with the message (Message-ID, push topic, header) so a
    /// receiver can drop a repeat.
    pub key: String,
    /// To whom (user id).
    pub user_id: String,
    /// Their name.
    pub user_name: String,
    /// Through which method.
    pub contact: Contact,
    /// Why.
    pub purpose: Purpose,
    /// The urgency (pages; notices are low).
    pub urgency: Urgency,
    /// One line (a mail subject, a notification title).
    pub subject: String,
    /// The text, a line each.
    pub lines: Vec<String>,
    /// The incidents a page is about, oldest first (more than one: a bundle). Empty otherwise.
    pub items: Vec<Item>,
    /// Incidents open for the person in all (pages).
    pub open: usize,
    /// Where a tap leads: the incident, or the on-call list for a bundle.
    pub url: String,
}

/// How a message went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// For the timeline: "email to a@b", "push to Pixel 8".
    pub via: String,
    /// The provider's id for it (an SMS sid), for delivery reports.
    pub provider_ref: Option<String>,
}

/// Why a message did not go out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendFailure {
    /// It may work later (a timeout, the provider's 5xx or 429): retried with backoff, and the
    /// person's next method is tried at once.
    #[error("{0}")]
    Retry(String),
    /// The method is gone for good (a push subscription answered 404 or 410): it is disabled,
    /// its person is told, and their next method is tried at once.
    #[error("{0}")]
    Gone(String),
}

/// Sends one message through its contact method.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends `out`; says how it went out, or why not.
    async fn send(&self, out: &Outgoing) -> Result<Sent, SendFailure>;
}

/// The production notifier: each kind through its own channel. A kind this server is not set
/// up for (no SMS provider configured) fails saying so, and the person's next method is tried.
#[derive(Clone, Default)]
pub struct Channels {
    /// Email.
    pub email: Option<Arc<dyn Notifier>>,
    /// Web Push.
    pub push: Option<Arc<dyn Notifier>>,
    /// SMS.
    pub sms: Option<Arc<dyn Notifier>>,
    /// Chat incoming webhooks.
    pub chat: Option<Arc<dyn Notifier>>,
    /// Signed outgoing webhooks.
    pub webhook: Option<Arc<dyn Notifier>>,
}

impl Channels {
    /// The channel for `kind`, if this server has one.
    pub fn channel(&self, kind: MethodKind) -> Option<&Arc<dyn Notifier>> {
        match kind {
            MethodKind::Email => self.email.as_ref(),
            MethodKind::Push => self.push.as_ref(),
            MethodKind::Sms => self.sms.as_ref(),
            MethodKind::Chat => self.chat.as_ref(),
            MethodKind::Webhook => self.webhook.as_ref(),
        }
    }
}

#[async_trait]
impl Notifier for Channels {
    async fn send(&self, out: &Outgoing) -> Result<Sent, SendFailure> {
        match self.channel(out.contact.kind) {
            Some(c) => c.send(out).await,
            None => Err(SendFailure::Retry(format!(
                "{} is not set up on this server",
                out.contact.kind.label()
            ))),
        }
    }
}

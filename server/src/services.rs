//! Outside services behind small traits: mail ([`Mailer`]), HTTP delivery ([`Webhooks`]) and
//! probes ([`Prober`]). [`Services::production`] builds the real ones (SMTP through lettre,
//! HTTP through the outbound policy); tests start a server with the recording fakes in
//! [`crate::fakes`] instead. The engine reaches the outside world only through these.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::store::Monitor;
use app::domain::monitor::judge_response;
use async_trait::async_trait;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;
use crate::outbound::{Outbound, SendError};

/// Largest probe body read (for the keyword check).
const PROBE_BODY_MAX: usize = 1 << 20;
/// How long a webhook delivery may take, redirects and body included.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one finished message (headers and body built by the caller).
    async fn send(&self, message: Message) -> anyhow::Result<()>;

    /// Whether mail can be sent at all; without it, email subscriptions are not offered.
    fn is_configured(&self) -> bool {
        true
    }
}

/// Delivers JSON over HTTP (webhook subscribers).
#[async_trait]
pub trait Webhooks: Send + Sync {
    /// POSTs `body` (JSON) to `url`; returns the response's status code.
    async fn post_json(&self, url: &str, body: Vec<u8>) -> anyhow::Result<u16>;
}

/// What one probe found: `Ok` or why the check failed, and how long it took (ms).
pub type ProbeOutcome = (Result<(), String>, i64);

/// Checks an HTTP monitor.
#[async_trait]
pub trait Prober: Send + Sync {
    /// One probe request, judged against the monitor's expectations.
    async fn probe(&self, monitor: &Monitor) -> ProbeOutcome;
}

/// The outside services a server uses; cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// Subscriber mail.
    pub mail: Arc<dyn Mailer>,
    /// Webhook deliveries.
    pub webhooks: Arc<dyn Webhooks>,
    /// HTTP probes.
    pub probes: Arc<dyn Prober>,
    /// Sends messages to people's contact methods (pages, codes, notices).
    pub notifier: Arc<dyn crate::notify::Notifier>,
    /// Wall-clock time.
    pub clock: crate::clock::Clock,
}

impl Services {
    /// The real services: SMTP from `smtp_url` (none, or one lettre cannot use: email
    /// subscriptions are off and a queued mail fails saying why), and webhooks and probes
    /// through `outbound` (the address policy).
    /// Web Push signs with `vapid` (see [`crate::notify::push::Vapid::load_or_create`]).
    pub fn production(
        config: &Config,
        outbound: Outbound,
        vapid: crate::notify::push::Vapid,
    ) -> Services {
        let mail: Arc<dyn Mailer> = match SmtpMailer::from_config(config) {
            Ok(m) => Arc::new(m),
            Err(why) => {
                if config.smtp_url.is_some() {
                    tracing::error!(error = %why, "email subscriptions are off");
                }
                Arc::new(NoMailer(why))
            }
        };
        Services {
            notifier: Arc::new(crate::notify::Channels {
                email: Some(Arc::new(crate::notify::email::EmailChannel::new(
                    mail.clone(),
                    &config.mail_from,
                ))),
                push: Some(Arc::new(crate::notify::push::PushChannel::new(
                    vapid,
                    crate::notify::push::vapid_subject(&config.mail_from, &config.base_url),
                    outbound.clone(),
                ))),
                sms: config.sms.clone().map(|cfg| {
                    Arc::new(crate::notify::sms::SmsChannel::new(
                        outbound.clone(),
                        cfg,
                        &config.base_url,
                    )) as Arc<dyn crate::notify::Notifier>
                }),
                chat: Some(Arc::new(crate::notify::chat::ChatChannel::new(
                    outbound.clone(),
                ))),
                webhook: Some(Arc::new(crate::notify::webhook::WebhookChannel::new(
                    outbound.clone(),
                ))),
            }),
            mail,
            webhooks: Arc::new(HttpWebhooks(outbound.clone())),
            probes: Arc::new(HttpProber(outbound)),
            clock: crate::clock::Clock::System,
        }
    }
}

/// SMTP through lettre's pooled transport, built once from `smtp_url`: a fan-out to many
/// subscribers does not open one connection per mail.
pub struct SmtpMailer(AsyncSmtpTransport<Tokio1Executor>);

impl SmtpMailer {
    /// The transport for `smtp_url`, or why there is none.
    pub fn from_config(config: &Config) -> Result<SmtpMailer, String> {
        let url = config
            .smtp_url
            .as_deref()
            .ok_or("no SMTP server configured (smtp_url)")?;
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map(|b| SmtpMailer(b.timeout(Some(Duration::from_secs(30))).build()))
            .map_err(|e| format!("smtp_url: {e}"))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: Message) -> anyhow::Result<()> {
        self.0
            .send(message)
            .await
            .map_err(|e| anyhow::anyhow!("sending mail: {e}"))?;
        Ok(())
    }
}

/// Mail is not configured: every send fails, saying why.
struct NoMailer(String);

#[async_trait]
impl Mailer for NoMailer {
    async fn send(&self, _message: Message) -> anyhow::Result<()> {
        anyhow::bail!("{}", self.0)
    }

    fn is_configured(&self) -> bool {
        false
    }
}

/// Webhooks through the outbound policy.
struct HttpWebhooks(Outbound);

#[async_trait]
impl Webhooks for HttpWebhooks {
    async fn post_json(&self, url: &str, body: Vec<u8>) -> anyhow::Result<u16> {
        let resp = self
            .0
            .send(reqwest::Method::POST, url, Some(body), WEBHOOK_TIMEOUT)
            .await
            .map_err(|e| anyhow::anyhow!("webhook {e}"))?;
        Ok(resp.status().as_u16())
    }
}

/// Probes through the outbound policy: a refused address (or redirect) is a failed check.
struct HttpProber(Outbound);

#[async_trait]
impl Prober for HttpProber {
    async fn probe(&self, m: &Monitor) -> ProbeOutcome {
        let started = Instant::now();
        let url = m.url.clone().unwrap_or_default();
        let timeout = Duration::from_millis(u64::try_from(m.timeout_ms).unwrap_or(10_000));
        let result = async {
            let resp = self
                .0
                .send(reqwest::Method::GET, &url, None, timeout)
                .await
                .map_err(|e| match e {
                    SendError::Timeout => format!("timed out after {} ms", m.timeout_ms),
                    e => e.to_string(),
                })?;
            let status = resp.status().as_u16();
            let body = if m.keyword.is_some() {
                let mut body = Vec::new();
                let mut resp = resp;
                while let Some(chunk) = resp
                    .chunk()
                    .await
                    .map_err(|e| format!("reading body: {e}"))?
                {
                    body.extend_from_slice(&chunk);
                    if body.len() > PROBE_BODY_MAX {
                        break;
                    }
                }
                String::from_utf8_lossy(&body).into_owned()
            } else {
                String::new()
            };
            judge_response(status, &body, m.expect_status, m.keyword.as_deref())
        }
        .await;
        (result, started.elapsed().as_millis() as i64)
    }
}

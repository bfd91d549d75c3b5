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

/// A page on its way to one person: everything its message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The idempotency key (one per step firing and person); sent with the message, so a
    /// receiver can drop a repeat.
    pub key: String,
    /// The on-call incident.
    pub incident_id: String,
    /// Its short number.
    pub number: i64,
    /// What is wrong.
    pub title: String,
    /// The service.
    pub service: Option<String>,
    /// `high` or `low`.
    pub urgency: String,
    /// When the incident opened (Unix ms).
    pub since_ms: i64,
    /// Who is paged (user id).
    pub user_id: String,
    /// Their name.
    pub user_name: String,
    /// Their email addresses to use (verified contact methods, else the login address).
    pub emails: Vec<String>,
    /// The incident's page.
    pub url: String,
}

/// Reaches a person about an incident. Until the notification channels land, the production
/// notifier is email; tests record.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends one page; returns how it went out (`email to a@b`), or why it failed.
    async fn page(&self, page: &Outgoing) -> anyhow::Result<String>;
}

/// Pages by email through the configured mailer.
pub struct MailNotifier {
    mail: Arc<dyn Mailer>,
    from: String,
}

impl MailNotifier {
    /// Pages through `mail`, from `from`.
    pub fn new(mail: Arc<dyn Mailer>, from: &str) -> MailNotifier {
        MailNotifier {
            mail,
            from: from.to_string(),
        }
    }
}

#[async_trait]
impl Notifier for MailNotifier {
    async fn page(&self, p: &Outgoing) -> anyhow::Result<String> {
        if p.emails.is_empty() {
            anyhow::bail!("{} has no email address to page", p.user_name);
        }
        let service = p.service.as_deref().unwrap_or("no service");
        let since = jiff::Timestamp::from_millisecond(p.since_ms)
            .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        // The title comes from the alert: no control character may shape the header.
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        };
        let subject = format!(
            "[{}] #{} {}: {}",
            p.urgency.to_uppercase(),
            p.number,
            clean(service),
            clean(&p.title)
        );
        let text = format!(
            "{}\n\nService: {service}\nUrgency: {}\nOpen since: {since}\n\nAcknowledge or resolve it here:\n{}\n",
            p.title, p.urgency, p.url
        );
        // The key as Message-ID: a mail sent twice (a retry after a crash) is one message
        // to the mail client.
        let domain = self
            .from
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>'))
            .unwrap_or("firstline.invalid");
        let id: String = p
            .key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
            .collect();
        let mut msg = Message::builder().from(
            self.from
                .parse()
                .map_err(|e| anyhow::anyhow!("mail_from: {e}"))?,
        );
        // Every address the person gave: one message, so the key stays one Message-ID.
        for a in &p.emails {
            msg = msg.to(a
                .parse()
                .map_err(|e| anyhow::anyhow!("address {a:?}: {e}"))?);
        }
        let msg = msg
            .subject(subject)
            .message_id(Some(format!("<{id}@{domain}>")))
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(|e| anyhow::anyhow!("building the mail: {e}"))?;
        self.mail.send(msg).await?;
        Ok(format!("email to {}", p.emails.join(", ")))
    }
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
    /// Pages people.
    pub notifier: Arc<dyn Notifier>,
    /// Wall-clock time.
    pub clock: crate::clock::Clock,
}

impl Services {
    /// The real services: SMTP from `smtp_url` (none, or one lettre cannot use: email
    /// subscriptions are off and a queued mail fails saying why), and webhooks and probes
    /// through `outbound` (the address policy).
    pub fn production(config: &Config, outbound: Outbound) -> Services {
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
            notifier: Arc::new(MailNotifier::new(mail.clone(), &config.mail_from)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(title: &str) -> Outgoing {
        Outgoing {
            key: "page:inc1:1:0:2:u1".into(),
            incident_id: "inc1".into(),
            number: 12,
            title: title.into(),
            service: Some("Sparse index".into()),
            urgency: "high".into(),
            since_ms: 1_764_468_600_000,
            user_id: "u1".into(),
            user_name: "Jonas".into(),
            emails: vec!["jonas@example.org".into(), "jonas@phone.example".into()],
            url: "https://firstline.example/oncall/inc1".into(),
        }
    }

    #[tokio::test]
    async fn a_page_mail_names_the_incident_and_keeps_alert_text_out_of_the_headers() {
        let mail = Arc::new(crate::fakes::RecordingMailer::default());
        let n = MailNotifier::new(mail.clone(), "Firstline <pager@firstline.example>");
        let via = n
            .page(&outgoing("5xx above 5%\r\nBcc: thief@evil.example"))
            .await
            .unwrap();
        assert_eq!(via, "email to jonas@example.org, jonas@phone.example");
        let sent = mail.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].to,
            vec![
                "jonas@example.org".to_string(),
                "jonas@phone.example".to_string()
            ]
        );
        let text = &sent[0].text;
        let headers = text.split("\n\n").next().unwrap_or_default();
        assert!(
            !headers
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "{text}"
        );
        assert!(
            text.contains("Subject: [HIGH] #12 Sparse index: 5xx above 5%"),
            "{text}"
        );
        assert!(
            text.contains("Message-ID: <page.inc1.1.0.2.u1@firstline.example>"),
            "{text}"
        );
        assert!(
            text.contains("https://firstline.example/oncall/inc1"),
            "{text}"
        );
        let nobody = Outgoing {
            emails: vec![],
            ..outgoing("x")
        };
        let err = n.page(&nobody).await.unwrap_err().to_string();
        assert!(err.contains("Jonas has no email address"), "{err}");
    }
}

//! The email channel: a page, a bundle, a code or a notice as one plain-text mail through the
//! configured mailer. The message key is the Message-ID, so a mail sent twice (a retry after a
//! crash) is one message to the mail client; alert text never reaches a header unescaped.

use std::sync::Arc;

use async_trait::async_trait;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::Message;

use super::{Notifier, Outgoing, Purpose, SendFailure, Sent};
use crate::services::Mailer;
use app::domain::notify::{clean, BUNDLE_LISTED};

/// Sends mail through `mail`, from `from`.
pub struct EmailChannel {
    mail: Arc<dyn Mailer>,
    from: String,
}

impl EmailChannel {
    /// Mails through `mail`, from `from`.
    pub fn new(mail: Arc<dyn Mailer>, from: &str) -> EmailChannel {
        EmailChannel {
            mail,
            from: from.to_string(),
        }
    }

    fn domain(&self) -> &str {
        self.from
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>'))
            .unwrap_or("firstline.invalid")
    }
}

/// The plain-text body of `out`.
pub fn body(out: &Outgoing) -> String {
    let mut text = String::new();
    match &out.purpose {
        Purpose::Verify { code } => {
            text.push_str(&format!(
                "Your Firstline verification code is {code}\n\n\
                 Enter it on your profile to start receiving pages here. If you did not ask \
                 for it, ignore this mail.\n"
            ));
            return text;
        }
        Purpose::Test | Purpose::Notice => {
            for l in &out.lines {
                text.push_str(&clean(l));
                text.push('\n');
            }
            text.push_str(&format!("\n{}\n", out.url));
            return text;
        }
        Purpose::Page => {}
    }
    if let [one] = out.items.as_slice() {
        text.push_str(&format!("{}\n\n", clean(&one.about.title)));
        if let Some(s) = &one.about.service {
            text.push_str(&format!("Service: {}\n", clean(s)));
        }
        text.push_str(&format!(
            "Urgency: {}\nOpen since: {}\n\n",
            out.urgency.as_str(),
            since(one.since_ms)
        ));
        links(&mut text, one);
        text.push_str(&format!("The incident: {}\n", one.url));
    } else {
        text.push_str(&format!(
            "{} new incidents need you; {} are open.\n\n",
            out.items.len(),
            out.open.max(out.items.len())
        ));
        // The listed incidents, each with its links; then "and N more" once (the words'
        // last line when the bundle is longer than the list).
        let listed = out.items.len().min(BUNDLE_LISTED);
        for (line, item) in out.lines.iter().zip(out.items.iter()).take(listed) {
            text.push_str(&format!(
                "{}\n  since {}\n",
                clean(line),
                since(item.since_ms)
            ));
            links(&mut text, item);
            text.push('\n');
        }
        if out.items.len() > listed {
            if let Some(more) = out.lines.get(listed) {
                text.push_str(&format!("{}\n", clean(more)));
            }
        }
        text.push_str(&format!("Everything open: {}\n", out.url));
    }
    text
}

fn links(text: &mut String, item: &super::Item) {
    if let Some(a) = &item.ack_url {
        text.push_str(&format!("  Acknowledge: {a}\n"));
    }
    if let Some(r) = &item.resolve_url {
        text.push_str(&format!("  Resolve: {r}\n"));
    }
}

fn since(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

#[async_trait]
impl Notifier for EmailChannel {
    async fn send(&self, out: &Outgoing) -> Result<Sent, SendFailure> {
        let fail = |e: String| SendFailure::Retry(e);
        let id: String = out
            .key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
            .collect();
        let subject = match &out.purpose {
            Purpose::Verify { code } => format!("Your Firstline code: {code}"),
            _ => clean(&out.subject),
        };
        let incidents: Vec<&str> = out.items.iter().map(|i| i.incident_id.as_str()).collect();
        let mut msg = Message::builder()
            .from(
                self.from
                    .parse()
                    .map_err(|e| fail(format!("mail_from: {e}")))?,
            )
            .to(out
                .contact
                .target
                .parse()
                .map_err(|e| fail(format!("address {:?}: {e}", out.contact.target)))?)
            .subject(subject)
            .message_id(Some(format!("<{id}@{}>", self.domain())))
            .header(lettre::message::header::ContentType::TEXT_PLAIN);
        if !incidents.is_empty() {
            // Which incidents this mail is about (ids are Firstline's own: letters and digits).
            msg = msg.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Firstline-Incidents"),
                incidents.join(" "),
            ));
        }
        let msg = msg
            .body(body(out))
            .map_err(|e| fail(format!("building the mail: {e}")))?;
        self.mail
            .send(msg)
            .await
            .map_err(|e| fail(format!("{e:#}")))?;
        Ok(Sent {
            via: format!("email to {}", out.contact.target),
            provider_ref: None,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::notify::{Contact, Item};
    use app::domain::escalation::Urgency;
    use app::domain::notify::{words, About, MethodKind};

    pub(crate) fn page(title: &str, n: usize) -> Outgoing {
        let items: Vec<Item> = (0..n)
            .map(|i| Item {
                incident_id: format!("inc{i}"),
                about: About {
                    number: 12 + i as i64,
                    title: title.into(),
                    service: Some("Sparse index".into()),
                },
                since_ms: 1_764_468_600_000,
                url: format!("https://firstline.example/oncall/inc{i}"),
                ack_url: Some(format!("https://firstline.example/a/ack{i}")),
                resolve_url: Some(format!("https://firstline.example/a/res{i}")),
            })
            .collect();
        let about: Vec<About> = items.iter().map(|i| i.about.clone()).collect();
        let w = words(&about, n + 3, Urgency::High);
        Outgoing {
            key: "page:inc1:1:0:2:u1:email".into(),
            user_id: "u1".into(),
            user_name: "Jonas".into(),
            contact: Contact {
                id: "c1".into(),
                kind: MethodKind::Email,
                target: "jonas@example.org".into(),
                label: None,
                config: serde_json::json!({}),
            },
            purpose: Purpose::Page,
            urgency: Urgency::High,
            subject: w.subject,
            lines: w.lines,
            items,
            open: n + 3,
            url: "https://firstline.example/oncall".into(),
        }
    }

    #[tokio::test]
    async fn a_page_mail_names_the_incident_and_keeps_alert_text_out_of_the_headers() {
        let mail = Arc::new(crate::fakes::RecordingMailer::default());
        let n = EmailChannel::new(mail.clone(), "Firstline <pager@firstline.example>");
        let sent = n
            .send(&page("5xx above 5%\r\nBcc: thief@evil.example", 1))
            .await
            .unwrap();
        assert_eq!(sent.via, "email to jonas@example.org");
        let sent = mail.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to, vec!["jonas@example.org".to_string()]);
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
            text.contains("Message-ID: <page.inc1.1.0.2.u1.email@firstline.example>"),
            "{text}"
        );
        assert!(text.contains("X-Firstline-Incidents: inc0"), "{text}");
        assert!(
            text.contains("Acknowledge: https://firstline.example/a/ack0"),
            "{text}"
        );
        assert!(
            text.contains("https://firstline.example/oncall/inc0"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_bundle_says_how_many_and_lists_them() {
        let mail = Arc::new(crate::fakes::RecordingMailer::default());
        let n = EmailChannel::new(mail.clone(), "pager@firstline.example");
        n.send(&page("disk full", 12)).await.unwrap();
        let text = &mail.sent()[0].text;
        assert!(
            text.contains("Subject: [HIGH] 12 new incidents, 15 open"),
            "{text}"
        );
        assert!(
            text.contains("12 new incidents need you; 15 are open."),
            "{text}"
        );
        assert!(text.contains("#21 Sparse index: disk full"), "{text}");
        assert_eq!(text.matches("and 2 more").count(), 1, "{text}");
        // Ten listed, each with its own links; the eleventh and twelfth only counted.
        assert!(
            text.contains("Acknowledge: https://firstline.example/a/ack9"),
            "{text}"
        );
        assert!(!text.contains("/a/ack10"), "{text}");
        assert!(
            text.contains("X-Firstline-Incidents: inc0 inc1 inc2"),
            "{text}"
        );
    }
}

//! Status-page subscriptions: who may subscribe with what, and the retry schedule of deliveries.

use serde::{Deserialize, Serialize};

use super::validate::{required_text, ValidationError};

/// Email (double opt-in) or webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriberKind {
    /// Mail to an address, after it confirms.
    Email,
    /// JSON POSTed to a URL.
    Webhook,
}

impl SubscriberKind {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Webhook => "webhook",
        }
    }
}

/// A subscription request from the public page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubscribeInput {
    /// `email` or `webhook`.
    pub kind: String,
    /// The address or URL.
    pub target: String,
    /// Component ids to hear about; empty means all.
    pub components: Vec<String>,
}

/// A validated subscription request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeDraft {
    /// Kind.
    pub kind: SubscriberKind,
    /// Lower-cased address, or the URL as given.
    pub target: String,
    /// Component ids (empty: all).
    pub components: Vec<String>,
}

/// Checks an email address (RFC 5322 addr-spec with a dotted domain), lower-cased.
pub fn check_email(field: &str, value: &str) -> Result<String, ValidationError> {
    let v = required_text(field, value, 254)?.to_lowercase();
    let parsed = email_address::EmailAddress::parse_with_options(
        &v,
        email_address::Options::default()
            .with_required_tld()
            .without_display_text(),
    );
    match parsed {
        Ok(_) if !v.contains(['<', '>', ' ', ',']) => Ok(v),
        _ => Err(ValidationError::new(
            field,
            "must be an email address like name@example.org",
        )),
    }
}

impl SubscribeInput {
    /// Checks the request; the error names the wrong field.
    pub fn normalize(&self) -> Result<SubscribeDraft, ValidationError> {
        let (kind, target) = match self.kind.trim() {
            "" | "email" => (SubscriberKind::Email, check_email("email", &self.target)?),
            "webhook" => {
                let url = required_text("url", &self.target, 2000)?;
                if !(url.starts_with("https://") || url.starts_with("http://"))
                    || url.contains(char::is_whitespace)
                {
                    return Err(ValidationError::new(
                        "url",
                        "must be an http:// or https:// URL",
                    ));
                }
                (SubscriberKind::Webhook, url)
            }
            _ => return Err(ValidationError::new("kind", "must be email or webhook")),
        };
        let mut components: Vec<String> = self
            .components
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        components.sort();
        components.dedup();
        if components.len() > 100 || components.iter().any(|c| c.len() > 40) {
            return Err(ValidationError::new(
                "components",
                "too many or unknown components",
            ));
        }
        Ok(SubscribeDraft {
            kind,
            target,
            components,
        })
    }
}

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 8;

/// Delay before retry number `attempts` (1-based count of failures so far), or `None` to give up.
/// Exponential from 10 s, capped at one hour: 10 s, 20 s, 40 s ... about 21 min in all.
pub fn retry_delay_ms(attempts: i64) -> Option<i64> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let exp = (attempts - 1).clamp(0, 20) as u32;
    Some((10_000i64 << exp).min(3_600_000))
}

/// Whether a subscriber that chose `components` hears about an update affecting `affected`.
/// An empty choice means everything; an update that names no component reaches everyone.
pub fn wants(components: &[String], affected: &[String]) -> bool {
    components.is_empty() || affected.is_empty() || affected.iter().any(|a| components.contains(a))
}

// ---- subscribers as stored and shown ----

/// A subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    /// Stable id.
    pub id: String,
    /// Email or webhook.
    pub kind: SubscriberKind,
    /// Address or URL.
    pub target: String,
    /// Component ids; empty means all.
    pub components: Vec<String>,
    /// Secret for confirm and unsubscribe links.
    #[serde(skip_serializing)]
    pub token: String,
    /// When the address confirmed (webhooks: when added).
    pub confirmed_at: Option<i64>,
    /// Created.
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_table() {
        let cases: &[(&str, Result<&str, ()>)] = &[
            ("Maya@Example.org", Ok("maya@example.org")),
            (
                " leah+status@crates-volunteers.example ",
                Ok("leah+status@crates-volunteers.example"),
            ),
            ("no-at-sign", Err(())),
            ("two@@example.org", Err(())),
            ("nodot@localhost", Err(())),
            ("Name <a@example.org>", Err(())),
            ("a@example.org, b@example.org", Err(())),
            ("", Err(())),
        ];
        for (input, want) in cases {
            match (check_email("email", input), want) {
                (Ok(g), Ok(w)) => assert_eq!(g, *w),
                (Err(e), Err(())) => assert_eq!(e.field, "email"),
                (g, w) => panic!("{input:?}: got {g:?}, want {w:?}"),
            }
        }
    }

    #[test]
    fn subscribe_input_table() {
        let i = |kind: &str, target: &str| SubscribeInput {
            kind: kind.into(),
            target: target.into(),
            components: vec!["b".into(), "a".into(), "b".into(), " ".into()],
        };
        let d = i("email", "x@example.org").normalize().unwrap();
        assert_eq!(d.components, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(
            i("webhook", "https://chat.example/hook")
                .normalize()
                .unwrap()
                .kind,
            SubscriberKind::Webhook
        );
        assert_eq!(
            i("webhook", "ftp://x").normalize().unwrap_err().field,
            "url"
        );
        assert_eq!(i("sms", "123").normalize().unwrap_err().field, "kind");
        assert_eq!(i("email", "nope").normalize().unwrap_err().field, "email");
    }

    #[test]
    fn retry_schedule() {
        let delays: Vec<_> = (1..=MAX_ATTEMPTS).map(retry_delay_ms).collect();
        assert_eq!(delays[0], Some(10_000));
        assert_eq!(delays[1], Some(20_000));
        assert_eq!(delays[6], Some(640_000));
        assert_eq!(delays[7], None);
        assert!(delays.iter().flatten().all(|d| *d <= 3_600_000));
    }

    #[test]
    fn wants_table() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(wants(&s(&[]), &s(&["api"])));
        assert!(wants(&s(&["api"]), &s(&[])));
        assert!(wants(&s(&["api", "web"]), &s(&["web"])));
        assert!(!wants(&s(&["api"]), &s(&["web"])));
    }
}

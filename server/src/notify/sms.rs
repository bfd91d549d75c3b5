//! The SMS channel, speaking Twilio's Messages API (any provider with the same shape works:
//! the base URL is a setting). A page is one short text ("[HIGH] #12 Sparse index: 5xx above
//! 5% - reply 1 to acknowledge, 2 to resolve"), a bundle says how many and how to pick one.
//! The provider's message sid is kept for its delivery reports; replies and reports come back
//! signed (`X-Twilio-Signature`), checked by [`verify_signature`].

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::{Notifier, Outgoing, Purpose, SendFailure, Sent};
use crate::config::SmsConfig;
use crate::outbound::{Outbound, SendError};
use app::domain::notify::{clean, short};

/// How long one API call may take.
const API_TIMEOUT: Duration = Duration::from_secs(15);

/// One GSM segment: the length a page aims for.
pub const SEGMENT: usize = 160;

/// Two concatenated segments: a single page's one-tap link is added if the text still fits.
pub const WITH_LINK: usize = 306;

/// Twilio error codes that mean the number will never take a text (invalid, not a mobile,
/// unreachable, or the person replied STOP): the method is disabled rather than retried.
pub const GONE_CODES: [i64; 5] = [21211, 21214, 21217, 21610, 21614];

/// Sends texts through the provider.
pub struct SmsChannel {
    outbound: Outbound,
    cfg: SmsConfig,
    status_callback: String,
}

impl SmsChannel {
    /// Texts through `cfg`'s account; delivery reports go to `{base_url}/webhooks/sms/status`.
    pub fn new(outbound: Outbound, cfg: SmsConfig, base_url: &str) -> SmsChannel {
        SmsChannel {
            outbound,
            cfg,
            status_callback: format!("{base_url}/webhooks/sms/status"),
        }
    }

    /// The Messages resource of the account.
    pub fn messages_url(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.cfg.api_url, self.cfg.account_sid
        )
    }
}

/// The text of `out`: one segment where possible.
pub fn body(out: &Outgoing) -> String {
    match &out.purpose {
        Purpose::Verify { code } => {
            format!(
                "Your Firstline code is {code}. Enter it on your profile; it works for 15 minutes."
            )
        }
        Purpose::Test | Purpose::Notice => {
            let text: Vec<String> = out.lines.iter().map(|l| clean(l)).collect();
            short(&text.join(" "), WITH_LINK)
        }
        Purpose::Page => page(out),
    }
}

fn page(out: &Outgoing) -> String {
    const ASK: &str = " - reply 1 to acknowledge, 2 to resolve";
    if let [one] = out.items.as_slice() {
        let text = format!("{}{ASK}", short(&clean(&out.subject), SEGMENT - ASK.len()));
        return match &one.ack_url {
            Some(link) if text.len() + 1 + link.len() <= WITH_LINK => format!("{text} {link}"),
            _ => text,
        };
    }
    // "[HIGH] 5 new incidents, 37 open: #12 .., #13 .. - reply 1 12 to ack #12"
    let Some(first) = out.items.first() else {
        return short(&clean(&out.subject), SEGMENT);
    };
    let tail = format!(" - reply 1 {n} to ack #{n}", n = first.about.number);
    let head = clean(&out.subject);
    let mut listed = Vec::new();
    let mut used = head.len() + 2 + tail.len();
    for item in &out.items {
        let entry = format!(
            "#{} {}",
            item.about.number,
            short(&clean(&item.about.title), 24)
        );
        if used + entry.len() + 2 > SEGMENT && !listed.is_empty() {
            listed.push("...".to_string());
            break;
        }
        used += entry.len() + 2;
        listed.push(entry);
    }
    format!("{head}: {}{tail}", listed.join(", "))
}

/// Twilio's request signature: base64 of HMAC-SHA1 keyed with the auth token over the full
/// URL followed by every POST parameter's name and value, sorted by name (then value; a
/// repeated pair counts once).
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(mac(auth_token, url, params).finalize().into_bytes())
}

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    // As Twilio's own validators do: a repeated name with the same value counts once.
    sorted.dedup();
    let mut m = super::hmac_sha1(auth_token.as_bytes());
    m.update(url.as_bytes());
    for (k, v) in sorted {
        m.update(k.as_bytes());
        m.update(v.as_bytes());
    }
    m
}

/// Whether `header` (the `X-Twilio-Signature` value) signs `url` and `params`; compared in
/// constant time.
pub fn verify_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: &str,
) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(header.trim()) else {
        return false;
    };
    mac(auth_token, url, params).verify_slice(&given).is_ok()
}

/// A TwiML answer that texts `message` back (XML-escaped).
pub fn twiml(message: Option<&str>) -> String {
    match message {
        Some(m) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
            xml_escape(m)
        ),
        None => "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>".to_string(),
    }
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The provider's error, as Twilio words it: `{"code": 21211, "message": "..."}`.
fn failure(status: u16, body: &str) -> SendFailure {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let code = v.get("code").and_then(serde_json::Value::as_i64);
    let message = v
        .get("message")
        .and_then(|m| m.as_str())
        .map(|m| short(&clean(m), 200))
        .unwrap_or_else(|| short(&clean(body), 200));
    let text = match code {
        Some(c) => format!("SMS provider answered {status}: {message} (error {c})"),
        None => format!("SMS provider answered {status}: {message}"),
    };
    if code.is_some_and(|c| GONE_CODES.contains(&c)) {
        SendFailure::Gone(text)
    } else {
        SendFailure::Retry(text)
    }
}

#[async_trait]
impl Notifier for SmsChannel {
    async fn send(&self, out: &Outgoing) -> Result<Sent, SendFailure> {
        let from_field = if self.cfg.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let form = serde_urlencoded::to_string([
            ("To", out.contact.target.as_str()),
            (from_field, self.cfg.from.as_str()),
            ("Body", body(out).as_str()),
            ("StatusCallback", self.status_callback.as_str()),
        ])
        .map_err(|e| SendFailure::Retry(format!("encoding the SMS: {e}")))?;
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.cfg.account_sid, self.cfg.auth_token));
        let resp = self
            .outbound
            .post_once(
                &self.messages_url(),
                "application/x-www-form-urlencoded",
                form.into_bytes(),
                &[
                    ("Authorization", format!("Basic {auth}")),
                    ("Accept", "application/json".to_string()),
                ],
                API_TIMEOUT,
            )
            .await
            .map_err(|e| match e {
                SendError::Timeout => SendFailure::Retry(format!(
                    "the SMS provider did not answer within {} s",
                    API_TIMEOUT.as_secs()
                )),
                e => SendFailure::Retry(format!("SMS provider: {e}")),
            })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(failure(status, &text));
        }
        let sid = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("sid").and_then(|s| s.as_str()).map(str::to_string));
        Ok(Sent {
            via: format!("SMS to {}", out.contact.target),
            provider_ref: sid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::email::tests::page as email_page;
    use app::domain::notify::MethodKind;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Twilio's published example (its helper libraries' tests): token 12345.
    #[test]
    fn the_signature_matches_twilios_documented_example() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = pairs(&[
            ("Digits", "1234"),
            ("To", "+18005551212"),
            ("From", "+14158675309"),
            ("Caller", "+14158675309"),
            ("CallSid", "CA1234567890ABCDE"),
        ]);
        assert_eq!(
            signature("12345", url, &params),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert!(verify_signature(
            "12345",
            url,
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        // Each input counts.
        assert!(!verify_signature(
            "12346",
            url,
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert!(!verify_signature(
            "12345",
            &format!("{url}&x=1"),
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        let mut changed = params.clone();
        changed[0].1 = "9999".into();
        assert!(!verify_signature(
            "12345",
            url,
            &changed,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert!(!verify_signature("12345", url, &params, "not base64!"));
        assert!(!verify_signature("12345", url, &params, ""));
    }

    /// Repeated parameters are sorted by value and counted once (the vector of Twilio's validator
    /// tests with repeated Digits).
    #[test]
    fn repeated_parameters_sort_by_value() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = pairs(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            signature("12345", url, &params),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    fn sms(n: usize) -> Outgoing {
        let mut out = email_page("5xx above 5%", n);
        out.contact.kind = MethodKind::Sms;
        out.contact.target = "+4915123456789".into();
        out
    }

    #[test]
    fn a_page_is_one_segment_asking_for_a_reply() {
        let mut out = sms(1);
        // A link too long for the text is left out.
        out.items[0].ack_url = Some(format!("https://firstline.example/a/{}", "x".repeat(300)));
        let text = body(&out);
        assert_eq!(
            text,
            "[HIGH] #12 Sparse index: 5xx above 5% - reply 1 to acknowledge, 2 to resolve"
        );
        assert!(text.len() <= SEGMENT);
        // A short one goes along.
        let text = body(&sms(1));
        assert!(
            text.ends_with(" https://firstline.example/a/ack0"),
            "{text}"
        );
    }

    #[test]
    fn a_bundle_lists_what_fits_and_says_how_to_pick() {
        let text = body(&sms(5));
        assert!(
            text.starts_with("[HIGH] 5 new incidents, 8 open: #12 5xx above 5%, #13 5xx above 5%"),
            "{text}"
        );
        assert!(text.ends_with(" - reply 1 12 to ack #12"), "{text}");
        assert!(text.len() <= SEGMENT, "{} chars: {text}", text.len());
        let text = body(&sms(40));
        assert!(text.contains(", ..."), "{text}");
        assert!(text.len() <= SEGMENT, "{} chars: {text}", text.len());
    }

    #[test]
    fn twiml_escapes_the_answer() {
        assert_eq!(
            twiml(Some("Acknowledged #12 <b>&\"x\"")),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Acknowledged #12 &lt;b&gt;&amp;&quot;x&quot;</Message></Response>"
        );
    }

    #[test]
    fn provider_errors_are_kept_and_dead_numbers_are_gone() {
        let body = r#"{"code": 21211, "message": "The 'To' number +4900 is not a valid phone number.", "status": 400}"#;
        assert_eq!(
            failure(400, body),
            SendFailure::Gone(
                "SMS provider answered 400: The 'To' number +4900 is not a valid phone number. (error 21211)".into()
            )
        );
        assert!(matches!(
            failure(429, r#"{"code": 20429, "message": "Too Many Requests"}"#),
            SendFailure::Retry(m) if m.contains("Too Many Requests")
        ));
        assert!(matches!(failure(503, "busy"), SendFailure::Retry(m) if m.ends_with("busy")));
    }
}

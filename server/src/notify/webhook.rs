//! The generic outgoing webhook: a signed JSON POST to a person's own URL (a home automation,
//! a pager gateway, a script). `Firstline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<body>">` with the method's secret, and `Idempotency-Key` so a repeat can be dropped.
//! docs/WEBHOOKS.md shows receivers how to check both.

use std::time::Duration;

use async_trait::async_trait;
use hmac::Mac;
use rand::RngCore;
use serde_json::{json, Value};

use super::{Notifier, Outgoing, Purpose, SendFailure, Sent};
use crate::outbound::{Outbound, SendError};
use app::domain::notify::{clean, short};

/// How long one post may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// A new secret: 32 random bytes, hex. Shown once, stored in the method's config.
pub fn new_secret() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex(&b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The `Firstline-Signature` value for `body` sent at `t` (Unix seconds).
pub fn signature_header(secret: &str, t: i64, body: &[u8]) -> String {
    let mut m = super::hmac_sha256(secret.as_bytes());
    m.update(format!("{t}.").as_bytes());
    m.update(body);
    format!("t={t},v1={}", hex(&m.finalize().into_bytes()))
}

/// The JSON body of `out`.
pub fn payload(out: &Outgoing) -> Value {
    let event = match out.purpose {
        Purpose::Page => "page",
        Purpose::Test => "test",
        Purpose::Verify { .. } => "verify",
        Purpose::Notice => "notice",
    };
    let incidents: Vec<Value> = out
        .items
        .iter()
        .map(|i| {
            json!({
                "id": i.incident_id,
                "number": i.about.number,
                "title": clean(&i.about.title),
                "service": i.about.service.as_deref().map(clean),
                "since": jiff::Timestamp::from_millisecond(i.since_ms).map(|t| t.to_string()).ok(),
                "url": i.url,
                "ack_url": i.ack_url,
                "resolve_url": i.resolve_url,
            })
        })
        .collect();
    let mut v = json!({
        "event": event,
        "key": out.key,
        "user": { "id": out.user_id, "name": out.user_name },
        "urgency": out.urgency.as_str(),
        "subject": clean(&out.subject),
        "text": out.lines.iter().map(|l| clean(l)).collect::<Vec<_>>(),
        "incidents": incidents,
        "open": out.open,
        "url": out.url,
    });
    if let Purpose::Verify { code } = &out.purpose {
        v["code"] = json!(code);
    }
    v
}

/// Posts signed JSON to people's webhooks.
pub struct WebhookChannel {
    outbound: Outbound,
}

impl WebhookChannel {
    /// Posts through `outbound`.
    pub fn new(outbound: Outbound) -> WebhookChannel {
        WebhookChannel { outbound }
    }
}

#[async_trait]
impl Notifier for WebhookChannel {
    async fn send(&self, out: &Outgoing) -> Result<Sent, SendFailure> {
        let secret = out
            .contact
            .config
            .get("secret")
            .and_then(Value::as_str)
            .ok_or_else(|| SendFailure::Gone("this webhook has no secret: add it again".into()))?;
        let body = payload(out).to_string().into_bytes();
        let t = jiff::Timestamp::now().as_second();
        let resp = self
            .outbound
            .post_once(
                &out.contact.target,
                "application/json",
                body.clone(),
                &[
                    ("Firstline-Signature", signature_header(secret, t, &body)),
                    ("Idempotency-Key", out.key.clone()),
                ],
                POST_TIMEOUT,
            )
            .await
            .map_err(|e| match e {
                SendError::Timeout => SendFailure::Retry(format!(
                    "the webhook did not answer within {} s",
                    POST_TIMEOUT.as_secs()
                )),
                e => SendFailure::Retry(format!("webhook: {e}")),
            })?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(Sent {
                via: format!("webhook to {}", host_of(&out.contact.target)),
                provider_ref: None,
            });
        }
        let answer = resp.text().await.unwrap_or_default();
        let msg = format!("webhook answered {status}: {}", short(&clean(&answer), 200));
        if status == 410 {
            Err(SendFailure::Gone(msg))
        } else {
            Err(SendFailure::Retry(msg))
        }
    }
}

/// The host of a URL (the timeline names it, not the path, which may hold a token).
pub fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "its URL".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::email::tests::page;

    /// Worked by hand with `printf '%s' '1764468600.{"a":1}' | openssl dgst -sha256 -hmac
    /// 'whsec-example'` (the same example docs/WEBHOOKS.md shows).
    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        assert_eq!(
            signature_header("whsec-example", 1_764_468_600, br#"{"a":1}"#),
            "t=1764468600,v1=3292ed9b1bc4fcda6ab12366d52fbd4a0e3152cd24fd6375389e0bf54da2bc50"
        );
    }

    #[test]
    fn the_body_carries_the_incidents_and_their_links() {
        let v = payload(&page("5xx above 5%", 2));
        assert_eq!(v["event"], "page");
        assert_eq!(v["key"], "page:inc1:1:0:2:u1:email");
        assert_eq!(v["user"], json!({"id": "u1", "name": "Jonas"}));
        assert_eq!(v["urgency"], "high");
        assert_eq!(v["open"], 5);
        assert_eq!(v["incidents"][1]["number"], 13);
        assert_eq!(
            v["incidents"][0]["ack_url"],
            "https://firstline.example/a/ack0"
        );
        assert_eq!(v["incidents"][0]["since"], "2025-11-30T02:10:00Z");
        assert_eq!(v["incidents"][0]["service"], "Sparse index");
    }

    #[test]
    fn secrets_are_32_random_bytes() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}

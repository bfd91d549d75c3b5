//! The Web Push channel: a page, a bundle, a verification code, a test or a notice as one
//! encrypted push message to one browser subscription (one device), through the push service
//! the browser chose (FCM, Mozilla autopush, Apple...). No vendor account: the message is
//! encrypted for the subscription (RFC 8291, aes128gcm) and signed with Firstline's own VAPID
//! key (RFC 8292), both by the pure-Rust `web-push-native` crate (RustCrypto, no OpenSSL).
//!
//! The VAPID key pair is generated once and kept in the settings table ([`Vapid::load_or_create`]);
//! browsers bind each subscription to its public key, so it must not change. Requests go
//! through the outbound policy ([`crate::outbound::Outbound`]): a subscription endpoint can
//! never make Firstline call itself, a metadata service or an internal address.
//!
//! The service worker (`public/sw.js`) shows what [`payload`] builds: a notification with
//! Acknowledge and Resolve actions for a single incident, the code sent back by itself for a
//! verification.

use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_ENCODING};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use web_push_native::jwt_simple::algorithms::{
    ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair,
};
use web_push_native::jwt_simple::claims::Claims;
use web_push_native::p256;

use super::{Notifier, Outgoing, Purpose, SendFailure, Sent};
use crate::outbound::{Outbound, SendError};
use crate::store::Store;
use app::domain::escalation::Urgency;
use app::domain::notify::clean;

/// The settings key of the VAPID private key (base64url of the 32-byte P-256 scalar).
pub const VAPID_SETTING: &str = "vapid_private_key";

/// How long one push request may take.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the VAPID signature is good for (RFC 8292 allows at most 24 h; 12 h is usual).
const VAPID_VALID: Duration = Duration::from_secs(12 * 3600);

/// Largest payload JSON sent. A push service takes 4096 bytes of ciphertext; aes128gcm adds
/// 86 bytes of header, a 16-byte tag and a padding delimiter. Kept well under that.
pub const PAYLOAD_MAX: usize = 3000;

/// Bundled incidents a push lists by name (the notification shows a few lines at most).
const PUSH_LISTED: usize = 5;

/// Firstline's VAPID key pair (application server key).
pub struct Vapid {
    key: ES256KeyPair,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vapid")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

impl Vapid {
    /// A new random key pair.
    pub fn generate() -> Vapid {
        Vapid {
            key: ES256KeyPair::generate(),
        }
    }

    /// The key pair from its stored form (base64url of the private scalar).
    pub fn from_base64(s: &str) -> anyhow::Result<Vapid> {
        let raw = URL_SAFE_NO_PAD.decode(s.trim())?;
        let key = ES256KeyPair::from_bytes(&raw)
            .map_err(|e| anyhow::anyhow!("not a P-256 private key: {e}"))?;
        Ok(Vapid { key })
    }

    /// The stored form.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.to_bytes())
    }

    /// The public key as browsers take it (`applicationServerKey`, and `k=` in the
    /// Authorization header): base64url of the 65-byte uncompressed point.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.public_key().public_key().to_bytes_uncompressed())
    }

    /// The stored key pair, made and stored first if there is none. Safe when several
    /// instances start at once: the first insert wins and everyone reads that one.
    pub async fn load_or_create(store: &Store) -> anyhow::Result<Vapid> {
        if let Some(k) = store.setting(VAPID_SETTING).await? {
            return Vapid::from_base64(&k);
        }
        let stored = store
            .setting_or_insert(VAPID_SETTING, &Vapid::generate().to_base64())
            .await?;
        Vapid::from_base64(&stored)
    }

    /// The `Authorization` header value for a request to `endpoint`: a JWT (ES256) whose
    /// audience is the endpoint's origin, with the contact `sub`, good for 12 hours.
    pub fn authorization(&self, endpoint: &url::Url, sub: &str) -> anyhow::Result<String> {
        let aud = endpoint.origin().ascii_serialization();
        let claims = Claims::create(VAPID_VALID.into())
            .with_audience(aud)
            .with_subject(sub);
        let token = self
            .key
            .sign(claims)
            .map_err(|e| anyhow::anyhow!("signing the VAPID token: {e}"))?;
        Ok(format!("vapid t={token}, k={}", self.public_key()))
    }
}

/// The VAPID `sub` for a server: `mailto:` its sender address, or its base URL.
pub fn vapid_subject(mail_from: &str, base_url: &str) -> String {
    let addr = mail_from
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>'))
        .unwrap_or(mail_from)
        .trim();
    match addr.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') => {
            format!("mailto:{addr}")
        }
        _ => base_url.trim_end_matches('/').to_string(),
    }
}

/// A push subscription's keys, as stored in the contact method's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// The browser's P-256 public key (65 bytes, uncompressed).
    pub p256dh: Vec<u8>,
    /// The shared authentication secret (16 bytes).
    pub auth: Vec<u8>,
}

/// Reads and checks subscription keys (base64url, padded or not); the error names the field.
pub fn parse_keys(p256dh: &str, auth: &str) -> Result<Keys, (&'static str, String)> {
    let decode = |s: &str| {
        let s = s.trim().trim_end_matches('=');
        URL_SAFE_NO_PAD.decode(s).ok()
    };
    let p = decode(p256dh).ok_or(("keys.p256dh", "is not base64url".to_string()))?;
    if p.len() != 65 || p[0] != 4 {
        return Err((
            "keys.p256dh",
            format!(
                "must be a 65-byte uncompressed P-256 point; got {} bytes",
                p.len()
            ),
        ));
    }
    if p256::PublicKey::from_sec1_bytes(&p).is_err() {
        return Err(("keys.p256dh", "is not a point on P-256".to_string()));
    }
    let a = decode(auth).ok_or(("keys.auth", "is not base64url".to_string()))?;
    if a.len() != 16 {
        return Err((
            "keys.auth",
            format!("must be 16 bytes; got {} bytes", a.len()),
        ));
    }
    Ok(Keys { p256dh: p, auth: a })
}

/// The keys in a push contact method's config (`{"p256dh": "...", "auth": "..."}`).
pub fn keys_of(config: &Value) -> Result<Keys, String> {
    let get = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or_default();
    parse_keys(get("p256dh"), get("auth")).map_err(|(field, why)| format!("{field} {why}"))
}

/// The `Topic` header for a message key: a repeat of a message (same key) replaces the
/// earlier one still waiting at the push service. 32 base64url characters (RFC 8030).
pub fn topic(key: &str) -> String {
    let mut t = URL_SAFE_NO_PAD.encode(Sha256::digest(key.as_bytes()));
    t.truncate(32);
    t
}

fn cut(s: &str, max: usize) -> String {
    let s = clean(s);
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn since(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The JSON the service worker gets (before encryption). Kept under [`PAYLOAD_MAX`] bytes.
///
/// `type` (`page`, `verify`, `test`, `notice`), `title`, `body`, `url` (where a tap goes: the
/// one-tap acknowledge page for a single incident, the list for a bundle), `tag` (a newer
/// notification with the same tag replaces the older), `incidents` (ids), `contact` (the
/// contact method's id), `urgency`; a single incident's page has `actions` (`ack` and
/// `resolve`, each with its one-tap link); a verification has its `code`.
pub fn payload(out: &Outgoing) -> Value {
    let incidents: Vec<&str> = out.items.iter().map(|i| i.incident_id.as_str()).collect();
    let mut p = match &out.purpose {
        Purpose::Verify { code } => json!({
            "type": "verify",
            "title": "Firstline",
            "body": "Turning on push for this device…",
            "url": out.url,
            "tag": format!("verify-{}", out.contact.id),
            "code": code,
        }),
        Purpose::Test | Purpose::Notice => json!({
            "type": if out.purpose == Purpose::Test { "test" } else { "notice" },
            "title": cut(&out.subject, 120),
            "body": cut(&out.lines.join("\n"), 600),
            "url": out.url,
            "tag": format!("{}-{}", if out.purpose == Purpose::Test { "test" } else { "notice" }, topic(&out.key)),
        }),
        Purpose::Page => match out.items.as_slice() {
            [one] => {
                let mut body = Vec::new();
                if let Some(s) = &one.about.service {
                    body.push(cut(s, 80));
                }
                body.push(format!("open since {}", since(one.since_ms)));
                if out.open > 1 {
                    body.push(format!("{} open for you", out.open));
                }
                let mut actions = Vec::new();
                if let Some(a) = &one.ack_url {
                    actions.push(json!({"action": "ack", "title": "Acknowledge", "url": a}));
                }
                if let Some(r) = &one.resolve_url {
                    actions.push(json!({"action": "resolve", "title": "Resolve", "url": r}));
                }
                json!({
                    "type": "page",
                    "title": cut(&format!("#{} {}", one.about.number, one.about.title), 120),
                    "body": body.join(" · "),
                    // A tap without an action: the one-tap acknowledge page (one button).
                    "url": one.ack_url.clone().unwrap_or_else(|| one.url.clone()),
                    "incident_url": one.url,
                    "tag": format!("incident-{}", one.incident_id),
                    "number": one.about.number,
                    "actions": actions,
                })
            }
            items => {
                let mut lines: Vec<String> = out
                    .lines
                    .iter()
                    .take(PUSH_LISTED)
                    .map(|l| cut(l, 80))
                    .collect();
                if items.len() > PUSH_LISTED {
                    lines.push(format!("and {} more", items.len() - PUSH_LISTED));
                }
                json!({
                    "type": "page",
                    "title": format!("{} new incidents, {} open", items.len(), out.open.max(items.len())),
                    "body": lines.join("\n"),
                    "url": out.url,
                    "tag": "incidents",
                })
            }
        },
    };
    p["incidents"] = json!(incidents);
    p["contact"] = json!(out.contact.id);
    p["urgency"] = json!(out.urgency.as_str());
    // Never over the limit: drop the list of ids, then shorten the text.
    if serde_json::to_vec(&p).map(|v| v.len()).unwrap_or(0) > PAYLOAD_MAX {
        p["incidents"] = json!(incidents.iter().take(20).collect::<Vec<_>>());
    }
    while serde_json::to_vec(&p).map(|v| v.len()).unwrap_or(0) > PAYLOAD_MAX {
        let body = p["body"].as_str().unwrap_or_default().to_string();
        if body.is_empty() {
            p["incidents"] = json!([]);
            break;
        }
        p["body"] = json!(cut(&body, body.chars().count() / 2));
    }
    p
}

/// `TTL` seconds: how long the push service keeps a message for a device that is offline.
fn ttl(purpose: &Purpose) -> u64 {
    match purpose {
        // A page is useful as long as its one-tap links work.
        Purpose::Page => 12 * 3600,
        Purpose::Verify { .. } | Purpose::Test => 15 * 60,
        Purpose::Notice => 24 * 3600,
    }
}

/// The `Urgency` header (RFC 8030): a high-urgency page wakes the device at once.
fn urgency(out: &Outgoing) -> &'static str {
    match (&out.purpose, out.urgency) {
        (Purpose::Page, Urgency::High) => "high",
        (Purpose::Notice, _) => "low",
        _ => "normal",
    }
}

/// The endpoint's host, for messages ("fcm.googleapis.com").
fn host_of(endpoint: &str) -> String {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "the push service".into())
}

/// The device a subscription is on, for messages ("push to Chrome on Android").
pub fn device_name(out: &Outgoing) -> String {
    out.contact
        .label
        .clone()
        .unwrap_or_else(|| host_of(&out.contact.target))
}

/// What a push service's gone answer says (stored as the method's disabled reason).
pub const GONE: &str = "the push service says this subscription no longer exists";

/// Sends push messages through the outbound policy.
pub struct PushChannel {
    vapid: Vapid,
    sub: String,
    outbound: Outbound,
}

impl PushChannel {
    /// Signs with `vapid`, naming `sub` (a `mailto:` or URL) as the contact, and sends
    /// through `outbound`.
    pub fn new(vapid: Vapid, sub: String, outbound: Outbound) -> PushChannel {
        PushChannel {
            vapid,
            sub,
            outbound,
        }
    }

    /// The encrypted request's body and headers for `out`.
    fn request(&self, out: &Outgoing) -> Result<(HeaderMap, Vec<u8>), String> {
        let endpoint = url::Url::parse(&out.contact.target)
            .map_err(|e| format!("endpoint {:?}: {e}", out.contact.target))?;
        let keys = keys_of(&out.contact.config)?;
        let ua_public = p256::PublicKey::from_sec1_bytes(&keys.p256dh)
            .map_err(|_| "keys.p256dh is not a point on P-256".to_string())?;
        let auth = web_push_native::Auth::clone_from_slice(&keys.auth);
        let body = serde_json::to_vec(&payload(out)).map_err(|e| e.to_string())?;
        let encrypted = web_push_native::encrypt(body, &ua_public, &auth)
            .map_err(|e| format!("encrypting: {e}"))?;
        let mut h = HeaderMap::new();
        let value = |s: String| HeaderValue::from_str(&s).map_err(|e| e.to_string());
        h.insert(
            AUTHORIZATION,
            value(
                self.vapid
                    .authorization(&endpoint, &self.sub)
                    .map_err(|e| e.to_string())?,
            )?,
        );
        h.insert(CONTENT_ENCODING, HeaderValue::from_static("aes128gcm"));
        h.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        h.insert(
            HeaderName::from_static("ttl"),
            value(ttl(&out.purpose).to_string())?,
        );
        h.insert(
            HeaderName::from_static("urgency"),
            HeaderValue::from_static(urgency(out)),
        );
        h.insert(HeaderName::from_static("topic"), value(topic(&out.key))?);
        Ok((h, encrypted))
    }
}

#[async_trait]
impl Notifier for PushChannel {
    async fn send(&self, out: &Outgoing) -> Result<Sent, SendFailure> {
        let (headers, body) = self.request(out).map_err(SendFailure::Retry)?;
        let host = host_of(&out.contact.target);
        let resp = self
            .outbound
            .send_with(
                reqwest::Method::POST,
                &out.contact.target,
                headers,
                Some(body),
                PUSH_TIMEOUT,
            )
            .await
            .map_err(|e| match e {
                SendError::Timeout => SendFailure::Retry(format!(
                    "the push service {host} did not answer within {} s",
                    PUSH_TIMEOUT.as_secs()
                )),
                e => SendFailure::Retry(format!("push service {host}: {e}")),
            })?;
        let status = resp.status().as_u16();
        match status {
            200..=202 => Ok(Sent {
                via: format!("push to {}", device_name(out)),
                provider_ref: resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(|s| s.chars().take(500).collect()),
            }),
            404 | 410 => Err(SendFailure::Gone(format!(
                "{GONE} (HTTP {status} from {host}); enable push on {} again to get pages there",
                device_name(out)
            ))),
            _ => {
                let text = tokio::time::timeout(Duration::from_secs(2), resp.text())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default();
                let excerpt = cut(text.trim(), 200);
                Err(SendFailure::Retry(if excerpt.is_empty() {
                    format!("the push service {host} answered HTTP {status}")
                } else {
                    format!("the push service {host} answered HTTP {status}: {excerpt}")
                }))
            }
        }
    }
}

/// How long telling a person about a gone method may take, per method.
const TELL_TIMEOUT: Duration = Duration::from_secs(15);

/// Tells `user_id` through their other working methods that `gone` stopped working (a push
/// subscription the push service no longer has) and how to turn it back on. Best effort: a
/// failure is logged, and the profile shows the method's disabled reason anyway.
pub async fn tell_gone(state: &crate::state::AppState, user_id: &str, gone: &super::Contact) {
    let user = match state.store.user(user_id).await {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "telling about a gone contact method: no user");
            return;
        }
    };
    let methods = match state.store.contact_methods(user_id).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "telling about a gone contact method");
            return;
        }
    };
    let device = gone.label.clone().unwrap_or_else(|| host_of(&gone.target));
    let (subject, lines) = match gone.kind {
        app::domain::notify::MethodKind::Push => (
            format!("Push stopped on {device}"),
            vec![
                format!(
                    "Firstline can no longer reach {device} by push: the push service says \
                     the subscription no longer exists (the browser's data was cleared, the \
                     app was removed, or notifications were turned off)."
                ),
                "Pages go to your other contact methods meanwhile.".to_string(),
                format!(
                    "To get pages on {device} again, open Firstline there, go to your profile \
                     and press \"Enable push on this device\"."
                ),
            ],
        ),
        kind => (
            format!("Your {} contact {device} stopped working", kind.label()),
            vec![format!(
                "Firstline can no longer reach {device}. Pages go to your other contact \
                 methods meanwhile. Add it again on your profile."
            )],
        ),
    };
    let url = format!("{}/profile", state.config.base_url);
    for m in methods.iter().filter(|m| m.id != gone.id) {
        if !m.method().is_some_and(|m| m.usable()) {
            continue;
        }
        let Some(to) = m.contact() else { continue };
        let out = Outgoing {
            key: format!("gone:{}:{}", gone.id, m.id),
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            contact: to,
            purpose: Purpose::Notice,
            urgency: Urgency::Low,
            subject: subject.clone(),
            lines: lines.clone(),
            items: Vec::new(),
            open: 0,
            url: url.clone(),
        };
        match tokio::time::timeout(TELL_TIMEOUT, state.services.notifier.send(&out)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(contact = %m.id, error = %e, "telling about a gone contact method failed")
            }
            Err(_) => {
                tracing::warn!(contact = %m.id, "telling about a gone contact method timed out")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::{Contact, Item};
    use app::domain::notify::{words, About, MethodKind};

    fn page(n: usize, title: &str) -> Outgoing {
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
                ack_url: Some(format!(
                    "https://firstline.example/a/ack{i}{}",
                    "x".repeat(300)
                )),
                resolve_url: Some(format!(
                    "https://firstline.example/a/res{i}{}",
                    "x".repeat(300)
                )),
            })
            .collect();
        let about: Vec<About> = items.iter().map(|i| i.about.clone()).collect();
        let w = words(&about, n + 3, Urgency::High);
        Outgoing {
            key: "page:inc1:1:0:2:u1:push".into(),
            user_id: "u1".into(),
            user_name: "Jonas".into(),
            contact: Contact {
                id: "c1".into(),
                kind: MethodKind::Push,
                target: "https://push.example/send/abc".into(),
                label: Some("Chrome on Android".into()),
                config: json!({}),
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

    #[test]
    fn a_single_page_carries_both_actions_and_taps_to_the_ack_page() {
        let p = payload(&page(1, "5xx above 5%"));
        assert_eq!(p["type"], "page");
        assert_eq!(p["title"], "#12 5xx above 5%");
        assert!(p["body"].as_str().unwrap().contains("Sparse index"), "{p}");
        assert!(
            p["body"].as_str().unwrap().contains("4 open for you"),
            "{p}"
        );
        assert_eq!(p["actions"][0]["action"], "ack");
        assert!(p["actions"][0]["url"].as_str().unwrap().contains("/a/ack0"));
        assert_eq!(p["actions"][1]["action"], "resolve");
        assert_eq!(p["url"], p["actions"][0]["url"]);
        assert_eq!(p["incidents"], json!(["inc0"]));
        assert_eq!(p["contact"], "c1");
        assert_eq!(p["tag"], "incident-inc0");
    }

    #[test]
    fn a_storm_bundle_stays_small_and_names_only_a_few() {
        let title = "disk full on a very long host name ".repeat(20);
        let out = page(500, &title);
        let p = payload(&out);
        let len = serde_json::to_vec(&p).unwrap().len();
        assert!(len <= PAYLOAD_MAX, "{len}");
        assert_eq!(p["title"], "500 new incidents, 503 open");
        assert!(p.get("actions").is_none());
        assert_eq!(p["url"], "https://firstline.example/oncall");
        let body = p["body"].as_str().unwrap();
        assert!(body.lines().count() <= PUSH_LISTED + 1, "{body}");
        // A single page with a huge title is cut too.
        let one = payload(&page(1, &title));
        assert!(serde_json::to_vec(&one).unwrap().len() <= PAYLOAD_MAX);
        assert!(one["title"].as_str().unwrap().chars().count() <= 120);
    }

    #[test]
    fn a_verification_carries_its_code() {
        let mut out = page(0, "");
        out.purpose = Purpose::Verify {
            code: "123456".into(),
        };
        let p = payload(&out);
        assert_eq!(p["type"], "verify");
        assert_eq!(p["code"], "123456");
        assert_eq!(p["contact"], "c1");
    }

    #[test]
    fn topics_are_short_url_safe_and_stable() {
        let t = topic("page:inc1:1:0:2:u1:push");
        assert_eq!(t.len(), 32);
        assert!(t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(t, topic("page:inc1:1:0:2:u1:push"));
        assert_ne!(t, topic("page:inc1:1:0:3:u1:push"));
    }

    #[test]
    fn keys_are_checked_by_length_and_curve() {
        let good = URL_SAFE_NO_PAD.encode(
            p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng)
                .public_key()
                .to_sec1_bytes(),
        );
        let auth = URL_SAFE_NO_PAD.encode([7u8; 16]);
        assert!(parse_keys(&good, &auth).is_ok());
        assert!(parse_keys(&format!("{good}="), &format!("{auth}==")).is_ok());
        assert_eq!(parse_keys("!!", &auth).unwrap_err().0, "keys.p256dh");
        assert_eq!(
            parse_keys(&URL_SAFE_NO_PAD.encode([4u8; 33]), &auth)
                .unwrap_err()
                .0,
            "keys.p256dh"
        );
        // 65 bytes, but not on the curve.
        let mut bad = vec![4u8];
        bad.extend([1u8; 64]);
        assert_eq!(
            parse_keys(&URL_SAFE_NO_PAD.encode(bad), &auth)
                .unwrap_err()
                .0,
            "keys.p256dh"
        );
        assert_eq!(
            parse_keys(&good, &URL_SAFE_NO_PAD.encode([1u8; 12]))
                .unwrap_err()
                .0,
            "keys.auth"
        );
    }

    #[test]
    fn the_subject_is_a_mailto_or_the_base_url() {
        assert_eq!(
            vapid_subject("Firstline <pager@firstline.example>", "https://x.example"),
            "mailto:pager@firstline.example"
        );
        assert_eq!(
            vapid_subject("status@localhost", "https://x.example/"),
            "https://x.example"
        );
    }

    #[test]
    fn the_vapid_audience_is_the_whole_origin_and_the_token_lasts_at_most_12_hours() {
        // web-push-native's own builder drops the port from `aud`; push services compare the
        // whole origin.
        let v = Vapid::generate();
        let endpoint = url::Url::parse("https://push.example:8443/send/abc?x=1").unwrap();
        let header = v
            .authorization(&endpoint, "mailto:pager@example.org")
            .unwrap();
        let token = header
            .strip_prefix("vapid t=")
            .and_then(|r| r.split(", k=").next())
            .unwrap();
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["aud"], "https://push.example:8443");
        assert_eq!(claims["sub"], "mailto:pager@example.org");
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert!(exp > iat && exp - iat <= 12 * 3600, "{claims}");
        assert!(header.ends_with(&format!(", k={}", v.public_key())));
        let default_port = url::Url::parse("https://fcm.googleapis.com/fcm/send/x").unwrap();
        let header = v
            .authorization(&default_port, "mailto:a@b.example")
            .unwrap();
        assert!(header.starts_with("vapid t="));
    }

    #[test]
    fn a_stored_key_reads_back_the_same() {
        let v = Vapid::generate();
        let again = Vapid::from_base64(&v.to_base64()).unwrap();
        assert_eq!(v.public_key(), again.public_key());
        assert_eq!(URL_SAFE_NO_PAD.decode(v.public_key()).unwrap().len(), 65);
        assert!(Vapid::from_base64("not a key").is_err());
    }
}

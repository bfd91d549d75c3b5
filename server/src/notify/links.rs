//! One-tap action links: "acknowledge #12" or "resolve #12" for one person, carried by a page
//! through one channel. A link is signed with the server's secret (HMAC-SHA256), names one
//! incident, one action and one person, expires, and works once (its nonce is remembered when
//! used). Opening it shows a confirmation page; only that page's POST acts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::state::AppState;
use app::domain::notify::MethodKind;

/// How long a link works.
pub const LINK_TTL_MS: i64 = 24 * 3_600_000;

/// What a link says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaims {
    /// The on-call incident.
    #[serde(rename = "i")]
    pub incident_id: String,
    /// `ack` or `resolve`.
    #[serde(rename = "a")]
    pub action: String,
    /// The person it was sent to (who acts).
    #[serde(rename = "u")]
    pub user_id: String,
    /// The channel that carried it (`push`, `email`, `sms`...), named on the timeline.
    #[serde(rename = "c")]
    pub channel: String,
    /// Until when it works (Unix ms).
    #[serde(rename = "e")]
    pub expires_at: i64,
    /// Makes it one of a kind; remembered once used.
    #[serde(rename = "n")]
    pub nonce: String,
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // Keyed apart from every other use of the secret.
    let mut m = super::hmac_sha256(secret);
    m.update(b"firstline action link v1\0");
    m
}

/// Signs `claims` into a token (URL-safe).
pub fn sign(secret: &[u8], claims: &LinkClaims) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let mut m = mac(secret);
    m.update(payload.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{payload}.{sig}")
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Not a link this server signed (or altered).
    Tampered,
    /// Past its time.
    Expired,
}

/// Checks a token's signature and time; the caller checks (and records) its one use.
pub fn verify(secret: &[u8], token: &str, now: i64) -> Result<LinkClaims, LinkError> {
    let (payload, sig) = token.split_once('.').ok_or(LinkError::Tampered)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| LinkError::Tampered)?;
    let mut m = mac(secret);
    m.update(payload.as_bytes());
    m.verify_slice(&sig).map_err(|_| LinkError::Tampered)?;
    let claims: LinkClaims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(LinkError::Tampered)?;
    if claims.expires_at <= now {
        return Err(LinkError::Expired);
    }
    Ok(claims)
}

/// The link to `action` (`ack`, `resolve`) `incident_id` as `user_id`, carried by `channel`.
pub fn action_url(
    state: &AppState,
    incident_id: &str,
    user_id: &str,
    action: &str,
    channel: MethodKind,
    now: i64,
) -> Option<String> {
    let claims = LinkClaims {
        incident_id: incident_id.to_string(),
        action: action.to_string(),
        user_id: user_id.to_string(),
        channel: channel.as_str().to_string(),
        expires_at: now + LINK_TTL_MS,
        nonce: format!("{}{}", crate::store::new_id(), crate::store::new_id()),
    };
    Some(format!(
        "{}/a/{}",
        state.config.base_url,
        sign(&state.secret, &claims)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> LinkClaims {
        LinkClaims {
            incident_id: "inc1".into(),
            action: "ack".into(),
            user_id: "u1".into(),
            channel: "push".into(),
            expires_at: 2_000,
            nonce: "n1".into(),
        }
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let t = sign(b"secret", &claims());
        assert_eq!(verify(b"secret", &t, 1_999), Ok(claims()));
        assert_eq!(verify(b"secret", &t, 2_000), Err(LinkError::Expired));
        assert_eq!(verify(b"other", &t, 1_000), Err(LinkError::Tampered));
    }

    #[test]
    fn an_altered_link_is_refused() {
        let t = sign(b"secret", &claims());
        let (payload, sig) = t.split_once('.').unwrap();
        let other = LinkClaims {
            action: "resolve".into(),
            ..claims()
        };
        let forged = format!(
            "{}.{sig}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap())
        );
        assert_eq!(verify(b"secret", &forged, 1_000), Err(LinkError::Tampered));
        assert_eq!(verify(b"secret", payload, 1_000), Err(LinkError::Tampered));
        assert_eq!(verify(b"secret", "", 1_000), Err(LinkError::Tampered));
        assert_eq!(verify(b"secret", "a.b.c", 1_000), Err(LinkError::Tampered));
    }
}

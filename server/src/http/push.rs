//! Firstline as an installable web app with Web Push: the manifest and icons, the service
//! worker (`/sw.js`, at the root so it controls every page), the profile's "Enable push on this
//! device" script, the VAPID public key, the endpoint that stores a browser's subscription as a
//! `push` contact method (and sends its verification code by push), and the one the service
//! worker posts that code back to.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::ErrorBody;
use super::session::{check_csrf, MaybeSession};
use crate::assets::Asset;
use crate::notify::push::{parse_keys, Vapid};
use crate::notify::verify::{code_hash, send_code, SendOutcome};
use crate::outbound::{check_url, Policy};
use crate::state::AppState;
use crate::store::StoreError;
use app::domain::notify::MethodKind;

/// Push devices one person may have.
pub const MAX_DEVICES: usize = 10;

/// Longest subscription endpoint accepted.
const ENDPOINT_MAX: usize = 2048;

/// The theme colour (the favicon's green).
pub const THEME_COLOR: &str = "#0f6b4f";

/// The routes; merged into the application router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/manifest.webmanifest", get(file))
        .route("/sw.js", get(file))
        .route("/push.js", get(file))
        .route("/apple-touch-icon.png", get(file))
        .route("/icons/{file}", get(file))
        .route("/push/vapid-key", get(vapid_key))
        .route("/profile/push", post(subscribe))
        .route("/push/verify", post(verify))
}

const MANIFEST: &str = r##"{
  "id": "/oncall",
  "name": "Firstline",
  "short_name": "Firstline",
  "description": "On-call pages, acknowledged with one tap.",
  "start_url": "/oncall",
  "scope": "/",
  "display": "standalone",
  "background_color": "#ffffff",
  "theme_color": "#0f6b4f",
  "icons": [
    { "src": "/icons/any-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any" },
    { "src": "/icons/any-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any" },
    { "src": "/icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable" }
  ]
}
"##;

/// The files, by path, with their caching: the service worker and the profile script are
/// looked at again on every load (a new version takes over at once), icons for a day.
fn files() -> &'static HashMap<&'static str, (Asset, &'static str)> {
    static FILES: OnceLock<HashMap<&'static str, (Asset, &'static str)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let day = "public, max-age=86400";
        let js = "application/javascript; charset=utf-8";
        HashMap::from([
            (
                "/manifest.webmanifest",
                (
                    Asset::new(
                        "application/manifest+json",
                        Bytes::from_static(MANIFEST.as_bytes()),
                    ),
                    day,
                ),
            ),
            (
                "/sw.js",
                (
                    Asset::new(
                        js,
                        Bytes::from_static(include_bytes!("../../../public/sw.js")),
                    ),
                    "no-cache",
                ),
            ),
            (
                "/push.js",
                (
                    Asset::new(
                        js,
                        Bytes::from_static(include_bytes!("../../../public/push.js")),
                    ),
                    "no-cache",
                ),
            ),
            (
                "/apple-touch-icon.png",
                (
                    Asset::new(
                        "image/png",
                        Bytes::from_static(include_bytes!(
                            "../../../public/icons/apple-touch-icon.png"
                        )),
                    ),
                    day,
                ),
            ),
            (
                "/icons/any-192.png",
                (
                    Asset::new(
                        "image/png",
                        Bytes::from_static(include_bytes!("../../../public/icons/any-192.png")),
                    ),
                    day,
                ),
            ),
            (
                "/icons/any-512.png",
                (
                    Asset::new(
                        "image/png",
                        Bytes::from_static(include_bytes!("../../../public/icons/any-512.png")),
                    ),
                    day,
                ),
            ),
            (
                "/icons/maskable-512.png",
                (
                    Asset::new(
                        "image/png",
                        Bytes::from_static(include_bytes!(
                            "../../../public/icons/maskable-512.png"
                        )),
                    ),
                    day,
                ),
            ),
        ])
    })
}

async fn file(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    match files().get(uri.path()) {
        Some((asset, cache)) => asset.respond(&headers, cache),
        None => super::error::AppError::NotFound.into_response(),
    }
}

fn error(status: StatusCode, field: Option<&str>, message: impl Into<String>) -> Response {
    ErrorBody {
        status: status.as_u16(),
        error: message.into(),
        field: field.map(str::to_string),
    }
    .into_json()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "push endpoint");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        "The error was logged. Please try again in a moment.",
    )
}

/// `GET /push/vapid-key`: `{"key": "<base64url public key>"}`, the `applicationServerKey`.
async fn vapid_key(State(state): State<AppState>) -> Response {
    match Vapid::load_or_create(&state.store).await {
        Ok(v) => (
            [(header::CACHE_CONTROL, "no-cache")],
            Json(json!({ "key": v.public_key() })),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

/// A device's name from its browser's User-Agent: "Chrome on Android", "Safari on iPhone".
pub fn device_label(user_agent: &str) -> String {
    let ua = user_agent;
    let has = |s: &str| ua.contains(s);
    let os = if has("iPhone") {
        "iPhone"
    } else if has("iPad") {
        "iPad"
    } else if has("Android") {
        "Android"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Mac OS X") || has("Macintosh") {
        "Mac"
    } else if has("Windows") {
        "Windows"
    } else if has("Linux") {
        "Linux"
    } else {
        ""
    };
    let browser = if has("SamsungBrowser") {
        "Samsung Internet"
    } else if has("Edg/") || has("EdgA/") || has("EdgiOS/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("Firefox/") || has("FxiOS/") {
        "Firefox"
    } else if has("CriOS/") || has("Chromium/") || has("Chrome/") {
        "Chrome"
    } else if has("Safari/") || has("AppleWebKit") {
        "Safari"
    } else {
        "Browser"
    };
    if os.is_empty() {
        browser.to_string()
    } else {
        format!("{browser} on {os}")
    }
}

/// Whether `endpoint` may be a push endpoint: https, or (for local test set-ups) http to a
/// literal address the operator opened with `outbound_allow`; and the outbound policy must
/// accept it (never Firstline itself, metadata services or unlisted internal addresses).
pub fn check_endpoint(endpoint: &str, policy: &Policy) -> Result<url::Url, String> {
    if endpoint.len() > ENDPOINT_MAX {
        return Err(format!("is longer than {ENDPOINT_MAX} characters"));
    }
    let url = url::Url::parse(endpoint).map_err(|_| "must be a URL".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let opened = match url.host() {
                Some(url::Host::Ipv4(ip)) => policy
                    .allow
                    .iter()
                    .any(|n| n.contains(&std::net::IpAddr::V4(ip))),
                Some(url::Host::Ipv6(ip)) => policy
                    .allow
                    .iter()
                    .any(|n| n.contains(&std::net::IpAddr::V6(ip))),
                _ => false,
            };
            if !opened {
                return Err(
                    "must be an https:// URL (a browser's push service); http:// only \
                     reaches an address the outbound_allow setting lists (local test set-ups)"
                        .into(),
                );
            }
        }
        _ => return Err("must be an https:// URL (a browser's push service)".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    check_url(endpoint, policy).map_err(|r| r.to_string())?;
    Ok(url)
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        None,
        "You need to log in first (on this device).",
    )
}

/// `POST /profile/push`: stores this browser's push subscription (`PushSubscription.toJSON()`,
/// optionally with a `label`) as one of the viewer's contact methods and sends its code by
/// push. Needs the session and its CSRF token (`X-CSRF-Token`). Answers 201 with
/// `{"id", "label", "sent", "message"}`; a bad field is a 400 naming it.
/// Push subscriptions one person may send per [`SUBSCRIBE_WINDOW_MS`].
const SUBSCRIBES_PER_WINDOW: i64 = 20;
/// The subscription rate limit's window.
const SUBSCRIBE_WINDOW_MS: i64 = 10 * 60_000;

async fn subscribe(
    State(state): State<AppState>,
    session: MaybeSession,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(me) = session.0 else {
        return unauthorized();
    };
    let csrf = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Err(e) = check_csrf(&me, csrf) {
        return error(StatusCode::FORBIDDEN, Some("csrf"), e.to_string());
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            None,
            "Expected a push subscription as JSON: {\"endpoint\": ..., \"keys\": {\"p256dh\": ..., \"auth\": ...}}.",
        );
    };
    let endpoint = v
        .get("endpoint")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if endpoint.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            Some("endpoint"),
            "endpoint: is missing",
        );
    }
    if let Err(why) = check_endpoint(endpoint.trim(), state.outbound.policy()) {
        return error(
            StatusCode::BAD_REQUEST,
            Some("endpoint"),
            format!("endpoint: {why}"),
        );
    }
    let key = |k: &str| {
        v.get("keys")
            .and_then(|keys| keys.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let keys = match parse_keys(key("p256dh"), key("auth")) {
        Ok(k) => k,
        Err((field, why)) => {
            return error(
                StatusCode::BAD_REQUEST,
                Some(field),
                format!("{field}: {why}"),
            )
        }
    };
    let label: String = match v.get("label").and_then(Value::as_str).map(str::trim) {
        Some(l) if !l.is_empty() => app::domain::notify::clean(l).chars().take(60).collect(),
        _ => device_label(
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
        ),
    };
    let config = json!({
        "p256dh": base64_url(&keys.p256dh),
        "auth": base64_url(&keys.auth),
    });
    let endpoint = endpoint.trim();
    let existing = match state.store.contact_methods(&me.user.id).await {
        Ok(m) => m,
        Err(e) => return internal(e),
    };
    let pushes = existing.iter().filter(|c| c.kind == "push").count();
    let same = existing
        .iter()
        .find(|c| c.kind == "push" && c.target == endpoint);
    if same.is_none() && pushes >= MAX_DEVICES {
        return error(
            StatusCode::CONFLICT,
            Some("endpoint"),
            format!(
                "endpoint: you already have {MAX_DEVICES} push devices; remove one on your profile first"
            ),
        );
    }
    // Each subscription that passes the checks is a write and a push to a URL the caller
    // chose: a few per person.
    match state
        .store
        .rate_limit_hit(
            &format!("push-subscribe:{}", me.user.id),
            SUBSCRIBE_WINDOW_MS,
            state.clock.now_ms(),
        )
        .await
    {
        Ok(n) if n > SUBSCRIBES_PER_WINDOW => {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                "Too many push subscriptions in the last 10 minutes; wait a few minutes, then try again.",
            )
        }
        Ok(_) => {}
        Err(e) => return internal(e),
    }
    let now = state.clock.now_ms();
    let id = if let Some(old) = same {
        // The same subscription again (Enable pressed twice, or new keys): renewed in place,
        // so the rules that use it stay.
        if let Err(e) = state
            .store
            .renew_push(&me.user.id, &old.id, &label, &config)
            .await
        {
            return internal(e);
        }
        old.id.clone()
    } else {
        match state
            .store
            .add_contact(
                &me.user.id,
                MethodKind::Push,
                endpoint,
                Some(&label),
                &config,
                now,
            )
            .await
        {
            Ok(id) => id,
            Err(StoreError::Conflict { field }) => {
                return error(
                    StatusCode::CONFLICT,
                    Some("endpoint"),
                    format!("endpoint: this subscription is already saved ({field})"),
                )
            }
            Err(e) => return internal(e),
        }
    };
    let contact = match state.store.contact(&id).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let outcome = match send_code(&state, &me.user, &contact).await {
        Ok(o) => o,
        Err(e) => return internal(e),
    };
    let (sent, message) = match outcome {
        SendOutcome::Sent(via) => (true, via),
        SendOutcome::Failed(why) => (false, why),
    };
    (
        StatusCode::CREATED,
        Json(json!({ "id": id, "label": label, "sent": sent, "message": message })),
    )
        .into_response()
}

fn base64_url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// `POST /push/verify` (from the service worker): `{"contact": id, "code": "123456"}`. The
/// session cookie says who; the code, which only reached the device by push, proves the
/// subscription works. No CSRF token: the worker has none, and the code is the secret.
async fn verify(State(state): State<AppState>, session: MaybeSession, body: Bytes) -> Response {
    let Some(me) = session.0 else {
        return unauthorized();
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            None,
            "Expected JSON: {\"contact\": ..., \"code\": ...}.",
        );
    };
    let contact = v.get("contact").and_then(Value::as_str).unwrap_or_default();
    let code = v.get("code").and_then(Value::as_str).unwrap_or_default();
    if contact.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            Some("contact"),
            "contact: is missing",
        );
    }
    if code.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, Some("code"), "code: is missing");
    }
    match state
        .store
        .verify_contact(&me.user.id, contact, &code_hash(code), state.clock.now_ms())
        .await
    {
        Ok(()) => Json(json!({ "verified": true })).into_response(),
        Err(StoreError::NotFound) => error(
            StatusCode::NOT_FOUND,
            Some("contact"),
            "contact: you have no such contact method",
        ),
        Err(StoreError::Invalid(e)) => error(
            StatusCode::BAD_REQUEST,
            Some(&e.field.clone()),
            e.to_string(),
        ),
        Err(e) => internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_from_the_user_agent() {
        for (ua, want) in [
            ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "Chrome on Android"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Windows"),
            ("Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Edge on Windows"),
            ("curl/8.5", "Browser"),
        ] {
            assert_eq!(device_label(ua), want, "{ua}");
        }
    }

    #[test]
    fn endpoints_must_be_https_and_pass_the_policy() {
        let policy = |allow: &[&str]| Policy {
            allow: allow.iter().map(|a| a.parse().unwrap()).collect(),
            listen: "127.0.0.1:3000".parse().unwrap(),
            public: Some(("firstline.example".into(), 443)),
            is_local: |ip| ip.is_loopback(),
        };
        let none = policy(&[]);
        assert!(check_endpoint("https://fcm.googleapis.com/fcm/send/abc", &none).is_ok());
        assert!(
            check_endpoint("http://fcm.googleapis.com/fcm/send/abc", &none)
                .unwrap_err()
                .contains("https")
        );
        assert!(check_endpoint("https://127.0.0.1:8443/push", &none)
            .unwrap_err()
            .contains("outbound_allow"));
        assert!(check_endpoint("https://169.254.169.254/latest", &none).is_err());
        assert!(check_endpoint("https://firstline.example/a/x", &none)
            .unwrap_err()
            .contains("Firstline"));
        assert!(check_endpoint("https://u:p@push.example/x", &none).is_err());
        assert!(
            check_endpoint(&format!("https://push.example/{}", "a".repeat(3000)), &none).is_err()
        );
        // A local fake push service, opened by the operator.
        let local = policy(&["127.0.0.0/8"]);
        assert!(check_endpoint("http://127.0.0.1:9000/push/1", &local).is_ok());
        assert!(check_endpoint("http://127.0.0.1:3000/profile", &local)
            .unwrap_err()
            .contains("Firstline"));
        assert!(check_endpoint("http://localhost:9000/push/1", &local).is_err());
    }
}

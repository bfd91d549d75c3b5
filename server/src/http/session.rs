//! Session extraction from the cookie, the admin guard, CSRF and same-origin checks, and the
//! form extractor that turns malformed posts into clear 400s.

use crate::store::SessionInfo;
use app::domain::permission::Actor;
use app::pages::Viewer;
use app::ssr::auth::{constant_time_eq, token_hash};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::error::AppError;
use crate::state::AppState;

/// Reads one cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The logged-in session, if any.
pub struct MaybeSession(pub Option<SessionInfo>);

impl MaybeSession {
    /// What the app shell shows for this viewer.
    pub fn viewer(&self) -> Viewer {
        match &self.0 {
            Some(s) => Viewer {
                name: Some(s.user.name.clone()),
                is_admin: s.user.role.is_admin(),
                is_responder: s.user.role != app::domain::account::Role::Viewer,
                csrf: Some(s.csrf_token.clone()),
            },
            None => Viewer::default(),
        }
    }
}

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(token) = cookie(&parts.headers, state.session_cookie_name()) else {
            return Ok(MaybeSession(None));
        };
        if token.len() > 100 {
            return Ok(MaybeSession(None));
        }
        let hash = token_hash(&state.secret, &token);
        Ok(MaybeSession(
            state.store.session(&hash, state.clock.now_ms()).await?,
        ))
    }
}

fn next_of(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string())
}

/// The session's user as the actor of a [`app::domain::permission::check`].
pub fn actor(s: &SessionInfo) -> Actor<'_> {
    Actor {
        id: &s.user.id,
        role: s.user.role,
    }
}

/// A logged-in user of any role; 401 otherwise.
pub struct Member(pub SessionInfo);

impl FromRequestParts<AppState> for Member {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match MaybeSession::from_request_parts(parts, state).await?.0 {
            Some(s) => Ok(Member(s)),
            None => Err(AppError::Unauthorized {
                next: next_of(parts),
            }),
        }
    }
}

/// A logged-in admin; 401 when not logged in, 403 for other roles.
pub struct Admin(pub SessionInfo);

impl Admin {
    /// The app shell's viewer.
    pub fn viewer(&self) -> Viewer {
        MaybeSession(Some(self.0.clone())).viewer()
    }

    /// Checks the form's CSRF token against the session's.
    pub fn check_csrf(&self, form_token: &str) -> Result<(), AppError> {
        check_csrf(&self.0, form_token)
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Member(s) = Member::from_request_parts(parts, state).await?;
        if s.user.role.is_admin() {
            Ok(Admin(s))
        } else {
            Err(AppError::Forbidden(
                "Only admins can change this. Ask an admin of your Firstline to do it or to give you the admin role."
                    .into(),
            ))
        }
    }
}

/// A logged-in responder or admin (may publish incidents); 401 / 403 otherwise.
pub struct Responder(pub SessionInfo);

impl Responder {
    /// The app shell's viewer.
    pub fn viewer(&self) -> Viewer {
        MaybeSession(Some(self.0.clone())).viewer()
    }

    /// Checks the form's CSRF token against the session's.
    pub fn check_csrf(&self, form_token: &str) -> Result<(), AppError> {
        check_csrf(&self.0, form_token)
    }
}

impl FromRequestParts<AppState> for Responder {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Member(s) = Member::from_request_parts(parts, state).await?;
        if s.user.role == app::domain::account::Role::Viewer {
            Err(AppError::Forbidden(
                "Only responders and admins can publish incidents.".into(),
            ))
        } else {
            Ok(Responder(s))
        }
    }
}

/// Rejects a form whose CSRF token does not match the session's.
pub fn check_csrf(session: &SessionInfo, form_token: &str) -> Result<(), AppError> {
    if constant_time_eq(&session.csrf_token, form_token) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "This form has expired (csrf token missing or wrong). Reload the page and submit it again."
                .into(),
        ))
    }
}

/// An `application/x-www-form-urlencoded` body decoded into `T`; anything else is a clear 400.
pub struct ValidForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ValidForm<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(AppError::BadRequest(
                "Expected a form post (Content-Type: application/x-www-form-urlencoded).".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::BadRequest(format!("Could not read the form: {e}")))?;
        parse_form(&bytes).map(ValidForm)
    }
}

/// Decodes an `application/x-www-form-urlencoded` body into `T`; a malformed one is a 400.
/// [`ValidForm`] uses it, and so does the form-body fuzz target.
pub fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_urlencoded::from_bytes(bytes)
        .map_err(|e| AppError::BadRequest(format!("Malformed form: {e}")))
}

/// Refuses state-changing requests from other sites: `Origin` (or, without it,
/// `Sec-Fetch-Site`) must match this server. Complements SameSite=Lax cookies and CSRF tokens.
pub async fn same_origin(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !is_same_origin(req.headers(), &state.config.base_url) {
        return AppError::Forbidden(
            "Cross-site form posts are refused. Open Firstline itself and submit the form there."
                .into(),
        )
        .into_response();
    }
    next.run(req).await
}

fn is_same_origin(headers: &HeaderMap, base_url: &str) -> bool {
    let get = |h| {
        headers
            .get(h)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    if let Some(origin) = get(header::ORIGIN) {
        if origin == "null" {
            return false;
        }
        let host = get(header::HOST).unwrap_or("");
        let base_origin = origin_of(base_url);
        return origin == base_origin
            || origin.strip_prefix("http://") == Some(host)
            || origin.strip_prefix("https://") == Some(host);
    }
    !matches!(
        get(header::HeaderName::from_static("sec-fetch-site")),
        Some("cross-site")
    )
}

fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_table() {
        let base = "https://oncall.example.org";
        let cases = [
            (vec![], true),
            (vec![("origin", "https://oncall.example.org")], true),
            (
                vec![
                    ("origin", "http://127.0.0.1:3000"),
                    ("host", "127.0.0.1:3000"),
                ],
                true,
            ),
            (vec![("origin", "https://evil.example")], false),
            (vec![("origin", "null")], false),
            (vec![("sec-fetch-site", "cross-site")], false),
            (vec![("sec-fetch-site", "same-origin")], true),
        ];
        for (h, want) in cases {
            assert_eq!(is_same_origin(&headers(&h), base), want, "{h:?}");
        }
    }

    #[test]
    fn cookie_parsing() {
        let h = headers(&[("cookie", "a=1; firstline_session=tok; b=2")]);
        assert_eq!(cookie(&h, "firstline_session").as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
        assert_eq!(origin_of("https://x.org/status"), "https://x.org");
        assert_eq!(origin_of("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
    }
}

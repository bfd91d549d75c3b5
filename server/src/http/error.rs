//! One error type for every handler, [`AppError`]: people get a clear HTML page, API routes (see
//! [`is_api_path`]) get one JSON shape, [`ErrorBody`]. A handler returns `AppError` whatever it
//! is; [`json_for_api`], a middleware on the whole router, decides by the request path which
//! form the client gets, so extractor rejections, the fallback and the outer layers' errors
//! (body limit, timeout) follow the same policy.

use crate::store::StoreError;
use app::domain::permission::Refusal;
use app::domain::ValidationError;
use app::pages::{render_document, ErrorPage, Viewer};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use leptos::prelude::*;
use serde::Serialize;

/// What went wrong, with the status it maps to.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A field is invalid (400).
    #[error("{0}")]
    Validation(#[from] ValidationError),
    /// The request itself is malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// Not logged in (401); `next` is where to return after login.
    #[error("You need to log in to see this page.")]
    Unauthorized {
        /// The path to come back to.
        next: String,
    },
    /// Logged in but not allowed, or a failed CSRF/origin check (403).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing (404).
    #[error("There is nothing at this address.")]
    NotFound,
    /// The part of the address named by `field` matches nothing (404); the sentence says what
    /// would.
    #[error("{0}")]
    Unknown(ValidationError),
    /// Unique field taken (409).
    #[error("{0}")]
    Conflict(ValidationError),
    /// Rate limit reached (429).
    #[error("{0}")]
    TooMany(String),
    /// A bug or an outage (500); details go to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Invalid(v) => AppError::Validation(v),
            StoreError::Conflict { field } => AppError::Conflict(ValidationError::new(
                field,
                "is already taken; choose another",
            )),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::LogIn => AppError::Unauthorized { next: "/".into() },
            Refusal::Forbidden(why) => AppError::Forbidden(why.into()),
            Refusal::Invalid(v) => AppError::Validation(v),
        }
    }
}

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation(_) | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound | AppError::Unknown(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::Validation(_) | AppError::BadRequest(_) => "That request could not be used",
            AppError::Unauthorized { .. } => "Please log in",
            AppError::Forbidden(_) => "Not allowed",
            AppError::NotFound | AppError::Unknown(_) => "Page not found",
            AppError::Conflict(_) => "Already taken",
            AppError::TooMany(_) => "Too many requests",
            AppError::Internal(_) => "Something went wrong on our side",
        }
    }

    /// The input field at fault, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Validation(v) | AppError::Conflict(v) | AppError::Unknown(v) => {
                Some(&v.field)
            }
            _ => None,
        }
    }

    /// The sentence shown to the client; an internal error's details go to the log only.
    fn public_message(&self) -> String {
        match self {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "The error was logged. Please try again in a moment.".to_string()
            }
            other => other.to_string(),
        }
    }
}

/// The one JSON shape of an error on an API route:
/// `{"status": 400, "error": "from: must be an RFC 3339 time ...", "field": "from"}`.
/// `status` repeats the HTTP status, `error` is a plain sentence, `field` names the input at
/// fault or is `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, in plain words.
    pub error: String,
    /// The input field at fault, if one is.
    pub field: Option<String>,
}

impl ErrorBody {
    /// The JSON response carrying this body.
    pub fn into_json(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self)).into_response()
    }
}

impl IntoResponse for AppError {
    /// The HTML error page, with the [`ErrorBody`] in the response's extensions so that
    /// [`json_for_api`] can answer an API client in JSON instead.
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.public_message();
        let body = ErrorBody {
            status: status.as_u16(),
            error: message.clone(),
            field: self.field().map(str::to_string),
        };
        let title = self.title().to_string();
        let login_next = match &self {
            AppError::Unauthorized { next } => Some(next.clone()),
            _ => None,
        };
        let code = status.as_u16();
        let html = render_document(&title.clone(), None, None, move || {
            view! {
                <ErrorPage viewer=Viewer::default() code=code title=title message=message
                    login_next=login_next/>
            }
        });
        let mut resp = (status, Html(html)).into_response();
        resp.extensions_mut().insert(body);
        resp
    }
}

/// Paths whose clients are programs: the JSON API and the heartbeat endpoint cron jobs call.
const API_PREFIXES: &[&str] = &["/api/", "/heartbeat/", "/hooks/", "/v2/"];

/// Whether errors on `path` are answered in JSON ([`ErrorBody`]) rather than as a page.
pub fn is_api_path(path: &str) -> bool {
    API_PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Longest error body of another layer (a rejection's sentence) read into the JSON message.
const REJECTION_TEXT_MAX: usize = 4096;

/// Middleware: on an API path, any error answer (4xx or 5xx) that is not JSON yet becomes an
/// [`ErrorBody`]: an [`AppError`]'s own, or, for a rejection written by axum or a layer (body
/// limit, timeout), its status with its text. Headers such as CORS are kept.
pub async fn json_for_api(req: Request, next: Next) -> Response {
    if !is_api_path(req.uri().path()) {
        return next.run(req).await;
    }
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let reason = || status.canonical_reason().unwrap_or("Error").to_string();
    let error = match parts.extensions.remove::<ErrorBody>() {
        Some(e) => e,
        None => {
            let text = if parts.headers.contains_key(header::CONTENT_ENCODING) {
                None
            } else {
                axum::body::to_bytes(body, REJECTION_TEXT_MAX)
                    .await
                    .ok()
                    .and_then(|b| String::from_utf8(b.to_vec()).ok())
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
            };
            ErrorBody {
                status: status.as_u16(),
                error: text.unwrap_or_else(reason),
                field: None,
            }
        }
    };
    let json = error.into_json();
    for h in [
        header::CONTENT_ENCODING,
        header::CONTENT_LENGTH,
        header::CONTENT_TYPE,
    ] {
        parts.headers.remove(h);
    }
    let (json_parts, json_body) = json.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        json_parts
            .headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static("application/json")),
    );
    Response::from_parts(parts, json_body)
}

/// The status of a re-shown form: 400 when it carries an error, else 200.
pub fn form_status<E>(error: &Option<E>) -> StatusCode {
    if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::{Path, Query};
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    fn error_of(kind: &str) -> AppError {
        match kind {
            "validation" => AppError::Validation(ValidationError::new("from", "must be a time")),
            "bad" => AppError::BadRequest("malformed".into()),
            "login" => AppError::Unauthorized { next: "/x".into() },
            "forbidden" => AppError::Forbidden("admins only".into()),
            "missing" => AppError::NotFound,
            "unknown" => AppError::Unknown(ValidationError::new("token", "matches nothing")),
            "taken" => AppError::Conflict(ValidationError::new("name", "is already taken")),
            "busy" => AppError::TooMany("slow down".into()),
            _ => AppError::Internal("secret detail".into()),
        }
    }

    #[derive(serde::Deserialize)]
    struct Limit {
        #[expect(dead_code, reason = "only its parsing is tested")]
        limit: u32,
    }

    fn router() -> Router {
        let err = |Path(kind): Path<String>| async move { error_of(&kind) };
        Router::new()
            .route("/api/v1/e/{kind}", get(err))
            .route("/heartbeat/{kind}", get(err))
            .route("/e/{kind}", get(err))
            .route(
                "/api/v1/limit",
                get(|Query(_): Query<Limit>| async { "ok" }),
            )
            .layer(axum::middleware::from_fn(json_for_api))
    }

    async fn get_path(path: &str) -> (StatusCode, String, String) {
        let resp = router()
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let status = resp.status();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, ct, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn every_error_is_a_page_for_people_and_one_json_shape_for_programs() {
        let table = [
            ("validation", 400, Some("from")),
            ("bad", 400, None),
            ("login", 401, None),
            ("forbidden", 403, None),
            ("missing", 404, None),
            ("unknown", 404, Some("token")),
            ("taken", 409, Some("name")),
            ("busy", 429, None),
            ("internal", 500, None),
        ];
        for (kind, code, field) in table {
            let (status, ct, html) = get_path(&format!("/e/{kind}")).await;
            assert_eq!(status.as_u16(), code, "{kind}");
            assert!(ct.starts_with("text/html"), "{kind}: {ct}");
            assert!(
                html.contains("<!DOCTYPE html>") || html.contains("<html"),
                "{kind}"
            );
            for api in [format!("/api/v1/e/{kind}"), format!("/heartbeat/{kind}")] {
                let (status, ct, body) = get_path(&api).await;
                assert_eq!(status.as_u16(), code, "{api}");
                assert!(ct.starts_with("application/json"), "{api}: {ct}");
                let v: serde_json::Value = serde_json::from_str(&body).expect("json");
                let keys: Vec<&str> = v
                    .as_object()
                    .expect("object")
                    .keys()
                    .map(String::as_str)
                    .collect();
                assert_eq!(keys, ["error", "field", "status"], "{api}: {v}");
                assert_eq!(v["status"], code, "{api}");
                assert_eq!(v["field"].as_str(), field, "{api}");
                assert!(!v["error"].as_str().unwrap_or_default().is_empty(), "{api}");
            }
        }
        // Details of an internal error stay in the log.
        let (_, _, body) = get_path("/api/v1/e/internal").await;
        assert!(!body.contains("secret detail"), "{body}");
    }

    #[tokio::test]
    async fn rejections_on_api_paths_are_json_too() {
        let (status, ct, body) = get_path("/api/v1/limit?limit=lots").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(ct.starts_with("application/json"), "{ct}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["status"], 400);
        assert!(
            v["error"].as_str().unwrap_or_default().contains("limit"),
            "{v}"
        );
        assert!(v["field"].is_null());
        // An API path nothing serves: a JSON 404.
        let (status, ct, _) = get_path("/api/v1/nothing").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(ct.starts_with("application/json"), "{ct}");
    }
}

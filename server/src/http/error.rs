//! One error type for every handler; renders as a clear page (or JSON under `/api/`).

use app::domain::permission::Refusal;
use app::domain::ValidationError;
use app::pages::{render_document, ErrorPage, Viewer};
use app::ssr::store::StoreError;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use leptos::prelude::*;

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
            AppError::NotFound => StatusCode::NOT_FOUND,
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
            AppError::NotFound => "Page not found",
            AppError::Conflict(_) => "Already taken",
            AppError::TooMany(_) => "Too many requests",
            AppError::Internal(_) => "Something went wrong on our side",
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "The error was logged. Please try again in a moment.".to_string()
            }
            other => other.to_string(),
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
        (status, Html(html)).into_response()
    }
}

/// The status of a re-shown form: 400 when it carries an error, else 200.
pub fn form_status<E>(error: &Option<E>) -> StatusCode {
    if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

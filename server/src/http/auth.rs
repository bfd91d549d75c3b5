//! Login and logout.

use app::domain::account::normalize_email;
use app::pages::auth::LoginPage;
use app::pages::render_document;
use app::ssr::auth::{dummy_hash, random_token, token_hash, verify_password, SESSION_LIFETIME_MS};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;
use serde::Deserialize;

use super::error::AppError;
use super::session::{check_csrf, MaybeSession, ValidForm};
use crate::format::now_ms;
use crate::state::AppState;

/// Query of `GET /login`.
#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

/// Only local paths are followed after login (no open redirect).
fn safe_next(next: &str) -> String {
    if next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.contains("://")
    {
        next.to_string()
    } else {
        "/dashboard".to_string()
    }
}

fn login_page(email: String, next: String, error: Option<String>) -> Html<String> {
    Html(render_document(
        "Log in · Firstline",
        None,
        None,
        move || {
            view! { <LoginPage email=email next=next error=error/> }
        },
    ))
}

/// `GET /login`.
pub async fn login_form(session: MaybeSession, Query(q): Query<LoginQuery>) -> Response {
    let next = safe_next(&q.next);
    if session.0.is_some() {
        return Redirect::to(&next).into_response();
    }
    login_page(String::new(), next, None).into_response()
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

const WRONG: &str = "Email or password is incorrect.";

/// `POST /login`: checks the password (argon2id), starts a session, sets the cookie.
pub async fn login(
    State(state): State<AppState>,
    ValidForm(form): ValidForm<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(&form.next);
    let fail = |email: String, next: String| {
        (
            StatusCode::UNAUTHORIZED,
            login_page(email, next, Some(WRONG.into())),
        )
            .into_response()
    };
    let Ok(email) = normalize_email(&form.email) else {
        return Ok(fail(form.email.chars().take(254).collect(), next));
    };
    if form.password.is_empty() || form.password.len() > 1024 {
        return Ok(fail(email, next));
    }
    let found = state.store.user_with_hash_by_email(&email).await?;
    let password = form.password.clone();
    let (hash, user) = match found {
        Some((user, hash)) => (hash, Some(user)),
        None => (dummy_hash().to_string(), None),
    };
    // Argon2 is deliberately slow: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => {
            tracing::info!(%email, "failed login");
            return Ok(fail(email, next));
        }
    };
    let token = random_token();
    let now = now_ms();
    state
        .store
        .create_session(
            &token_hash(&state.secret, &token),
            &user.id,
            &random_token(),
            now,
            now + SESSION_LIFETIME_MS,
        )
        .await?;
    tracing::info!(user = %user.email, "login");
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        state.session_cookie_name(),
        token,
        SESSION_LIFETIME_MS / 1000,
        if state.config.secure_cookies() {
            "; Secure"
        } else {
            ""
        }
    );
    let mut resp = Redirect::to(&next).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.to_string()))?,
    );
    Ok(resp)
}

/// The logout form's fields.
#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: ends the session and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    session: MaybeSession,
    ValidForm(form): ValidForm<LogoutForm>,
) -> Result<Response, AppError> {
    if let Some(s) = &session.0 {
        check_csrf(s, &form.csrf)?;
        if let Some(token) = super::session::cookie(&headers, state.session_cookie_name()) {
            state
                .store
                .delete_session(&token_hash(&state.secret, &token))
                .await?;
        }
    }
    let cookie = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        state.session_cookie_name(),
        if state.config.secure_cookies() {
            "; Secure"
        } else {
            ""
        }
    );
    let mut resp = Redirect::to("/status").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.to_string()))?,
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_local_only() {
        assert_eq!(safe_next("/admin/components"), "/admin/components");
        assert_eq!(safe_next("//evil.example"), "/dashboard");
        assert_eq!(safe_next("https://evil.example"), "/dashboard");
        assert_eq!(safe_next("/\\evil.example"), "/dashboard");
        assert_eq!(safe_next(""), "/dashboard");
    }
}

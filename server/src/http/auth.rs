//! Login and logout.

use std::net::SocketAddr;

use app::domain::account::normalize_email;
use app::domain::login::{safe_next, Limit, Verdict};
use app::pages::auth::LoginPage;
use app::pages::render_document;
use app::ssr::auth::{random_token, token_hash, SESSION_LIFETIME_MS};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;
use serde::Deserialize;

use super::client_ip::client_ip;
use super::error::AppError;
use super::login_guard::{Busy, BUSY_RETRY_AFTER_SECS};
use super::session::{check_csrf, MaybeSession, ValidForm};
use crate::state::AppState;

/// Query of `GET /login`.
#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
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

/// A 303 to a local path (already checked by `safe_next`, so the header value is valid).
fn see_other(location: &str) -> Result<Response, AppError> {
    let value = HeaderValue::from_str(location)
        .map_err(|_| AppError::BadRequest("next: is not a valid path".into()))?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response())
}

/// `GET /login`.
pub async fn login_form(
    session: MaybeSession,
    Query(q): Query<LoginQuery>,
) -> Result<Response, AppError> {
    let next = safe_next(&q.next)?;
    if session.0.is_some() {
        return see_other(&next);
    }
    Ok(login_page(String::new(), next, None).into_response())
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
/// Shown, after a correct password, to a person whose account an admin has deactivated.
const DEACTIVATED: &str =
    "This account has been deactivated. Ask an admin of your Firstline to reactivate it if you still need access.";

/// "1 second", "40 seconds", "3 minutes" (rounded up).
fn wait_text(secs: u64) -> String {
    match secs {
        0 | 1 => "1 second".into(),
        2..=90 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

/// The login page again with a 429, a plain message and `Retry-After`.
fn too_many(email: String, next: String, retry_after_secs: u64, message: String) -> Response {
    let mut resp = (
        StatusCode::TOO_MANY_REQUESTS,
        login_page(email, next, Some(message)),
    )
        .into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs.max(1)),
    );
    resp
}

/// `POST /login`: checks the password (argon2id, on the login hashing pool) unless the client's
/// network is being throttled, starts a session, sets the cookie.
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ValidForm(form): ValidForm<LoginForm>,
) -> Result<Response, AppError> {
    // Refused before anything else happens, so a bad `next` never leaves a session behind.
    let next = safe_next(&form.next)?;
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
    let guard = &state.login;
    let ip = client_ip(peer.ip(), &headers, &state.config.trusted_proxies);
    let (network, account) = (guard.network_key(ip), guard.account_key(&email));
    if let Verdict::Wait {
        retry_after_ms,
        limit,
    } = guard.attempt(network, account)
    {
        let secs = u64::try_from(retry_after_ms.max(1_000))
            .unwrap_or(1)
            .div_ceil(1_000);
        tracing::info!(%email, %ip, retry_after = secs, ?limit, "login throttled");
        let why = match limit {
            Limit::Network => "Too many failed logins from your network.",
            Limit::Account => "Too many failed logins for this email from your network.",
        };
        return Ok(too_many(
            email,
            next,
            secs,
            format!("{why} Wait {} before trying again.", wait_text(secs)),
        ));
    }
    let found = match state.store.user_with_hash_by_email(&email).await {
        Ok(found) => found,
        Err(e) => {
            guard.not_checked(network, account);
            return Err(e.into());
        }
    };
    let (hash, user) = match found {
        Some((user, hash)) => (Some(hash), Some(user)),
        None => (None, None),
    };
    // Argon2 is deliberately slow and takes 19 MiB: it runs on the small hashing pool, never
    // on the async workers or the unbounded blocking pool.
    let ok = match guard.verify(form.password, hash).await {
        Ok(ok) => ok,
        Err(Busy) => {
            guard.not_checked(network, account);
            tracing::warn!(%email, %ip, "login turned away: password hashing queue full");
            return Ok(too_many(
                email,
                next,
                BUSY_RETRY_AFTER_SECS,
                format!(
                    "The server is busy checking other logins. Try again in {}.",
                    wait_text(BUSY_RETRY_AFTER_SECS)
                ),
            ));
        }
    };
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => {
            tracing::info!(%email, %ip, "failed login");
            return Ok(fail(email, next));
        }
    };
    guard.succeeded(network, account);
    if !user.is_active() {
        tracing::info!(user = %user.email, %ip, "login refused: account deactivated");
        return Ok((
            StatusCode::FORBIDDEN,
            login_page(email, next, Some(DEACTIVATED.into())),
        )
            .into_response());
    }
    let token = random_token();
    let now = state.clock.now_ms();
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
    with_session_cookie(
        &state,
        see_other(&next)?,
        &token,
        SESSION_LIFETIME_MS / 1000,
    )
}

/// `resp` with the session cookie set to `token` for `max_age_secs` (an empty token and 0
/// clear it): HttpOnly, SameSite=Lax, and Secure when the base URL is https.
pub fn with_session_cookie(
    state: &AppState,
    mut resp: Response,
    token: &str,
    max_age_secs: i64,
) -> Result<Response, AppError> {
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
        state.session_cookie_name(),
        if state.config.secure_cookies() {
            "; Secure"
        } else {
            ""
        }
    );
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
    with_session_cookie(&state, Redirect::to("/status").into_response(), "", 0)
}

#[cfg(test)]
mod tests {
    use super::wait_text;

    #[test]
    fn waits_read_plainly() {
        for (secs, text) in [
            (0, "1 second"),
            (1, "1 second"),
            (2, "2 seconds"),
            (90, "90 seconds"),
            (91, "2 minutes"),
            (900, "15 minutes"),
        ] {
            assert_eq!(wait_text(secs), text);
        }
    }
}

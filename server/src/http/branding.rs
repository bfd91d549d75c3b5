//! Admin handlers for the status page's branding: name, site link, footer links, and the logo
//! (uploaded, checked by its first bytes, kept in the database and served from memory at
//! `/status/logo` with a long cache life; its URL changes with its content).

use app::domain::branding::{logo_too_large, logo_type, BrandingInput, LOGO_MAX};
use app::domain::ValidationError;
use app::pages::admin::BrandingPage;
use app::pages::render_document;
use axum::extract::{FromRequestParts, Multipart, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;

use super::error::AppError;
use super::incidents::{field, Fields};
use super::session::{Admin, ValidForm};
use crate::state::AppState;

/// Query of the page: which change to confirm.
#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn page(
    state: &AppState,
    admin: &Admin,
    form: Option<BrandingInput>,
    error: Option<ValidationError>,
    notice: Option<String>,
) -> Result<Response, AppError> {
    let stored = state.store.branding().await?;
    let form = form.unwrap_or_else(|| {
        let mut input = stored.branding.input();
        if input.page_name.is_empty() {
            input.page_name = state.hub.current().brand.name.clone();
        }
        input
    });
    let logo = stored.logo.map(|(_, h)| format!("/status/logo?v={h}"));
    let viewer = admin.viewer();
    let code = super::error::form_status(&error);
    let html = render_document("Status page settings · Firstline", None, None, move || {
        view! { <BrandingPage viewer=viewer form=form logo=logo error=error notice=notice/> }
    });
    Ok((code, Html(html)).into_response())
}

/// `GET /admin/branding`.
pub async fn show(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let notice = match q.done.as_str() {
        "saved" => Some("Saved. The public status page shows the new name and links."),
        "logo" => Some("Logo uploaded. The public status page shows it."),
        "removed" => Some("Logo removed."),
        _ => None,
    };
    page(&state, &admin, None, None, notice.map(String::from)).await
}

/// `POST /admin/branding`: name, site link and footer links.
pub async fn save(
    State(state): State<AppState>,
    admin: Admin,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    admin.check_csrf(&field(&fields, "csrf"))?;
    let input = BrandingInput {
        page_name: field(&fields, "page_name"),
        site_url: field(&fields, "site_url"),
        footer_links: field(&fields, "footer_links"),
    };
    let branding = match input.normalize() {
        Ok(b) => b,
        Err(e) => return page(&state, &admin, Some(input), Some(e), None).await,
    };
    state.store.save_branding(&branding).await?;
    Ok(Redirect::to("/admin/branding?done=saved").into_response())
}

/// `POST /admin/branding/logo` (multipart): upload a logo.
pub async fn upload_logo(
    State(state): State<AppState>,
    admin: Admin,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let mut csrf = String::new();
    let mut logo: Option<Vec<u8>> = None;
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        AppError::Validation(ValidationError::new(
            "logo",
            format!(
                "could not be read ({}); at most {} KB",
                e.body_text(),
                LOGO_MAX / 1024
            ),
        ))
    };
    while let Some(part) = multipart.next_field().await.map_err(unreadable)? {
        match part.name() {
            Some("csrf") => csrf = part.text().await.map_err(unreadable)?,
            Some("logo") => logo = Some(part.bytes().await.map_err(unreadable)?.to_vec()),
            _ => {}
        }
    }
    admin.check_csrf(&csrf)?;
    let bytes = logo.unwrap_or_default();
    let ty = match logo_type(&bytes) {
        Ok(t) => t,
        Err(e) => return page(&state, &admin, None, Some(e), None).await,
    };
    state.store.set_logo(Some((ty, &bytes))).await?;
    Ok(Redirect::to("/admin/branding?done=logo").into_response())
}

/// Around the request body limit: a logo upload whose stated length is over the limit is
/// refused unread, as the limit would, but an admin gets the settings page with the sentence
/// (413) instead of the limit's bare answer. Nothing is stored, so no CSRF token is needed.
pub async fn oversize_logo(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let over = req.method() == Method::POST
        && req.uri().path() == "/admin/branding/logo"
        && req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .is_some_and(|n| n > super::BODY_LIMIT);
    if !over {
        return next.run(req).await;
    }
    let (mut parts, _unread) = req.into_parts();
    let admin = match Admin::from_request_parts(&mut parts, &state).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    match page(&state, &admin, None, Some(logo_too_large()), None).await {
        Ok(mut resp) => {
            *resp.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            // Outside the pages' caching layer: the page holds the admin's CSRF token.
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            resp
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /admin/branding/logo/delete`.
pub async fn delete_logo(
    State(state): State<AppState>,
    admin: Admin,
    ValidForm(fields): ValidForm<Fields>,
) -> Result<Response, AppError> {
    admin.check_csrf(&field(&fields, "csrf"))?;
    state.store.set_logo(None).await?;
    Ok(Redirect::to("/admin/branding?done=removed").into_response())
}

/// `GET /status/logo`: the uploaded logo. Its link carries its hash, so it may be cached for a
/// year; it is sent with its checked image type and never sniffed.
pub async fn logo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some((_, asset)) = state.hub.current().logo else {
        return AppError::NotFound.into_response();
    };
    let mut resp = asset.respond(&headers, "public, max-age=31536000, immutable");
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline; filename=\"logo\""),
    );
    resp
}
